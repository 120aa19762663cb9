package dev.wmss.train.eval;

import dev.wmss.runtime.TorchModel;
import dev.wmss.train.data.ByteTokenizer;
import dev.wmss.train.data.Collator;
import dev.wmss.train.data.Example;
import dev.wmss.train.loop.Sampler;
import dev.wmss.train.loop.TrainConfig;
import dev.wmss.train.loop.TrainerTest;
import dev.wmss.train.loop.TrainingRun;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Teacher-forced exact match is true exactly when greedy decoding reproduces the whole reference and stops: checked
 * example by example on an untrained model (almost nothing matches) and on one trained until most examples match.
 */
class TeacherForcedTest {
    @Test
    void agreesWithGreedyDecodingExampleByExample(@TempDir Path tmp) {
        ByteTokenizer tok = new ByteTokenizer();
        List<Example> ex = new ArrayList<>();
        for (int i = 0; i < 24; i++) ex.add(new Example("q" + (i % 6) + ":", i % 6 < 3 ? "ab" : "cd"));
        Collator data = new Collator(ex, tok, 64);
        Path m0 = TrainerTest.init(tmp.resolve("m0"), 5);
        TrainConfig cfg = TrainConfig.builder(TrainConfig.Mode.SFT).epochs(40).batchSize(8).lr(1e-2).logEvery(1000)
                .checkpointEvery(0).build();
        Path trained = TrainingRun.builder(cfg).data(data, Sampler.all(ex.size())).strong(m0).out(tmp.resolve("run"))
                .prepare().run().strong();
        int[] matchedBy = new int[2];
        Path[] models = {m0, trained};
        for (int k = 0; k < 2; k++) {
            try (TorchModel m = TorchModel.load(models[k])) {
                boolean[] tf = TokenStats.teacherForcedExactMatch(m, data, 7);
                double loss = TokenStats.tokenLoss(m, data, 5);
                assertEquals(loss, TokenStats.teacherForced(m, data, 7).tokenLoss(), 1e-5 * loss, "the same forward's token loss");
                int[][] prompts = new int[ex.size()][];
                for (int i = 0; i < prompts.length; i++) prompts[i] = data.promptTokens(i);
                String[] greedy = Generator.greedy(m, tok, prompts, 4, 64); // room to show whether EOS comes
                for (int i = 0; i < ex.size(); i++) {
                    assertEquals(greedy[i].equals(ex.get(i).response()), tf[i], "model " + k + ", example " + i + ": '"
                            + greedy[i] + "'");
                    if (tf[i]) matchedBy[k]++;
                }
            }
        }
        assertTrue(matchedBy[1] >= 12 && matchedBy[1] > matchedBy[0], "trained " + matchedBy[1] + ", untrained " + matchedBy[0]);
    }
}

package dev.wmss.train.eval;

import dev.wmss.runtime.TorchModel;
import dev.wmss.train.data.ByteTokenizer;
import dev.wmss.train.data.Collator;
import dev.wmss.train.loop.TrainerTest;
import dev.wmss.train.task.ArithmeticTasks;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Evaluation's decoding (KV cache) gives the continuations of decoding by re-running the sequences. */
class GeneratorTest {
    @Test
    void cachedDecodingEqualsRecomputing() {
        ByteTokenizer tok = new ByteTokenizer();
        Collator data = new Collator(ArithmeticTasks.generate(12, 2, 9), tok, 160);
        int[][] prompts = new int[data.size()][];
        for (int i = 0; i < prompts.length; i++) prompts[i] = data.promptTokens(i);
        try (TorchModel m = TorchModel.init(TrainerTest.TINY, 4)) {
            String[] want = Generator.greedyByRecomputing(m, tok, prompts, 16, 200);
            String[] got = Generator.greedy(m, tok, prompts, 16, 200);
            assertArrayEquals(want, got);
            assertTrue(java.util.Arrays.stream(got).anyMatch(s -> !s.isEmpty()), "something was generated");
        }
    }
}

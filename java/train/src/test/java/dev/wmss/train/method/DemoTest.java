package dev.wmss.train.method;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** The whole pipeline end to end (the demo, at quick size) in CI time. */
class DemoTest {
    @Test
    void demoPipelineRunsEndToEnd(@TempDir Path tmp) throws Exception {
        Demo.Report r = Demo.run(tmp, Demo.Sizes.QUICK, 3,
                new Demo.Options(0.5f, false, dev.wmss.train.select.Selection.Variant.CODE));
        for (String d : new String[]{"init", "base/strong", "control/strong", "m1/strong", "wdjt/strong", "wdjt/weak", "final"}) {
            assertTrue(Files.exists(tmp.resolve(d).resolve("model.safetensors")), d);
        }
        assertEquals(Demo.Sizes.QUICK.train(), Files.readAllLines(tmp.resolve("wdds/entropy-strong.jsonl")).size());
        assertTrue(Files.readString(tmp.resolve("wdjt/metrics.jsonl")).contains("entropy_mixed"));
        // the report and the plots a person looks at
        String report = Files.readString(tmp.resolve("report.md"));
        assertTrue(report.contains("| control: SFT, 2 epochs |") && report.contains("WMSS − control"), report);
        for (String png : new String[]{"loss.png", "entropy.png", "logits.png", "wdds-weights.png"}) {
            byte[] b = Files.readAllBytes(tmp.resolve("plots").resolve(png));
            assertTrue(b.length > 1000 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G', png);
        }
        // learning happened: every stage lowers the held-out token loss of the one before it
        assertTrue(r.base().tokenLoss() < 0.8 * r.initTokenLoss(), "base " + r.base().tokenLoss() + " vs init " + r.initTokenLoss());
        assertTrue(r.sft().tokenLoss() < r.base().tokenLoss(), "SFT " + r.sft().tokenLoss() + " vs base " + r.base().tokenLoss());
        assertTrue(r.wmss().tokenLoss() < r.base().tokenLoss(), "WMSS " + r.wmss().tokenLoss() + " vs base " + r.base().tokenLoss());
        assertEquals(Demo.Sizes.QUICK.train(), r.active(), "code variant: |D| draws with replacement");
    }
}

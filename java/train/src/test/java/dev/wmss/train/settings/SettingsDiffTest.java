package dev.wmss.train.settings;

import com.google.gson.Gson;
import com.google.gson.JsonObject;
import com.google.gson.annotations.SerializedName;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The one comparison of recorded settings: named by the records' annotations, nested records too, mayChange ignored. */
class SettingsDiffTest {
    record Inner(@Setting("--lr") double lr, @Setting(value = "--log-every", mayChange = true) int logEvery) {}

    record Outer(@SerializedName("max_len") @Setting("--max-len") int maxLen, Inner sft, Inner wdjt, String unnamed,
                 List<Float> sweep) {}

    private static final Gson GSON = new Gson();

    @Test
    void eachChangedFieldByItsOptionOnceWithBothValues() {
        Outer was = new Outer(256, new Inner(0.003, 10), new Inner(0.003, 10), "a", List.of(0.3f, 0.5f));
        Outer now = new Outer(128, new Inner(0.001, 5), new Inner(0.001, 1), "b", List.of(0.3f));
        List<String> d = SettingsDiff.of(GSON.toJsonTree(was), now, GSON, "run");
        assertEquals(List.of("--max-len: run 256, now 128", "--lr: run 0.003, now 0.001", "unnamed: run a, now b",
                "sweep: run [0.3, 0.5], now [0.3]"), d, "--lr of both nested configurations once; --log-every may change");
        assertEquals(List.of(), SettingsDiff.of(GSON.toJsonTree(was), new Outer(256, new Inner(0.003, 99),
                new Inner(0.003, 1), "a", List.of(0.3f, 0.5f)), GSON, "run"));
    }

    @Test
    void aFieldMissingOnEitherSideIsNamed() {
        JsonObject old = GSON.toJsonTree(new Outer(256, new Inner(0.003, 10), new Inner(0.003, 10), "a", List.of()))
                .getAsJsonObject();
        old.remove("unnamed");
        old.addProperty("gone", 1);
        List<String> d = SettingsDiff.of(old, new Outer(256, new Inner(0.003, 10), new Inner(0.003, 10), "a", List.of()),
                GSON, "checkpoint");
        assertEquals(List.of("unnamed: checkpoint (not recorded), now a", "gone: checkpoint 1, now (none)"), d);
        assertEquals("--max-len", SettingsDiff.name(Outer.class, "maxLen"));
    }
}

package dev.wmss.train.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** JSONL reading with line-numbered errors, completion-only masking, padding, and seeded epoch orders. */
class DataTest {
    @Test
    void readsPromptResponseAndChatLines(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("d.jsonl");
        Files.writeString(f, """
                {"prompt": "2+2=", "response": "4"}

                {"question": "q?", "answer": "a"}
                {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}
                """);
        List<Example> ex = JsonlReader.read(f);
        assertEquals(List.of(new Example("2+2=", "4"), new Example("q?", "a"), new Example("user: hi\nassistant: ", "hello")), ex);
    }

    @Test
    void badLinesNameFileAndLine(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("bad.jsonl");
        Files.writeString(f, "{\"prompt\": \"a\", \"response\": \"b\"}\n{\"prompt\": \"a\", \"response\": \n");
        JsonlReader.DataException e = assertThrows(JsonlReader.DataException.class, () -> JsonlReader.read(f));
        assertTrue(e.getMessage().contains("bad.jsonl:2") && e.getMessage().contains("malformed JSON"), e.getMessage());
        Files.writeString(f, "{\"prompt\": \"a\"}\n");
        e = assertThrows(JsonlReader.DataException.class, () -> JsonlReader.read(f));
        assertTrue(e.getMessage().contains(":1") && e.getMessage().contains("\"response\""), e.getMessage());
        Files.writeString(f, "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}\n");
        e = assertThrows(JsonlReader.DataException.class, () -> JsonlReader.read(f));
        assertTrue(e.getMessage().contains("assistant"), e.getMessage());
        e = assertThrows(JsonlReader.DataException.class, () -> JsonlReader.read(dir.resolve("missing.jsonl")));
        assertTrue(e.getMessage().contains("not found"), e.getMessage());
    }

    @Test
    void textThatIsNotUtf8IsNamedWithFileAndLine(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("latin1.jsonl");
        byte[] good = "{\"prompt\": \"a\", \"response\": \"b\"}\n".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] bad = "{\"prompt\": \"caf\u00e9\", \"response\": \"b\"}\n".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
        for (int i = 0; i < 3; i++) all.write(good);
        all.write(bad);
        Files.write(f, all.toByteArray());
        JsonlReader.DataException e = assertThrows(JsonlReader.DataException.class, () -> JsonlReader.read(f));
        assertTrue(e.getMessage().contains("latin1.jsonl:4") && e.getMessage().contains("not UTF-8"), e.getMessage());
        Files.write(f, "{\"prompt\": \"caf\u00e9\", \"response\": \"\u00fc\"}".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        assertEquals(List.of(new Example("caf\u00e9", "\u00fc")), JsonlReader.read(f), "UTF-8 without a final newline");
    }

    @Test
    void aByteOrderMarkIsNotPartOfTheFirstLine(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("bom.jsonl");
        Files.write(f, ("\uFEFF{\"prompt\": \"a\", \"response\": \"b\"}\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
        assertEquals(List.of(new Example("a", "b")), JsonlReader.read(f));
    }

    @Test
    void onlyResponseTokensAreTargets() {
        ByteTokenizer tok = new ByteTokenizer();
        Collator b = new Collator(List.of(new Example("ab", "xyz"), new Example("p", "q")), tok, 64);
        Batch batch = b.collate(new int[]{0, 1});
        // example 0: BOS a b x y z EOS -> inputs BOS a b x y z, targets from the position before x on
        assertEquals(2, batch.batch());
        assertEquals(6, batch.seq());
        long B = ByteTokenizer.BOS, E = ByteTokenizer.EOS, P = ByteTokenizer.PAD;
        assertArrayEquals(new long[]{B, 'a', 'b', 'x', 'y', 'z', B, 'p', 'q', P, P, P}, batch.ids());
        assertArrayEquals(new long[]{1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0}, batch.mask());
        assertArrayEquals(new long[]{-100, -100, 'x', 'y', 'z', E, -100, 'q', E, -100, -100, -100}, batch.labels());
        assertEquals(6, batch.supervised());
        assertEquals(9, batch.tokens());
        assertArrayEquals(new int[]{ByteTokenizer.BOS, 'p'}, b.promptTokens(1));
    }

    @Test
    void everyTokenIsATargetOnRequest() {
        Collator b = new Collator(List.of(new Example("ab", "xyz"), new Example("p", "q")), new ByteTokenizer(), 64);
        Batch batch = b.collate(new int[]{0, 1}, true);
        long E = ByteTokenizer.EOS;
        // every next token, the prompt's included; padding stays ignored
        assertArrayEquals(new long[]{'a', 'b', 'x', 'y', 'z', E, 'p', 'q', E, -100, -100, -100}, batch.labels());
        assertEquals(9, batch.supervised());
        assertArrayEquals(b.collate(new int[]{0, 1}).ids(), batch.ids(), "the same inputs");
    }

    @Test
    void longExamplesAreCutAndPromptOnlyOnesCounted() {
        Collator b = new Collator(List.of(new Example("0123456789", "abc"), new Example("p", "abcdefghij")),
                new ByteTokenizer(), 8);
        assertEquals(1, b.dropped(), "the first prompt fills the 8-token window");
        Batch batch = b.collate(new int[]{0, 1});
        assertEquals(8, batch.seq());
        assertEquals(0, java.util.Arrays.stream(batch.labels()).limit(8).filter(l -> l != -100).count());
        assertEquals(7, java.util.Arrays.stream(batch.labels()).skip(8).filter(l -> l != -100).count());
    }

    @Test
    void epochOrdersArePermutationsSeededByEpoch() {
        int[] a = dev.wmss.train.loop.Sampler.epochOrder(100, 5, 0), b = dev.wmss.train.loop.Sampler.epochOrder(100, 5, 0), c = dev.wmss.train.loop.Sampler.epochOrder(100, 5, 1);
        assertArrayEquals(a, b);
        assertFalse(java.util.Arrays.equals(a, c));
        assertArrayEquals(java.util.stream.IntStream.range(0, 100).toArray(), java.util.Arrays.stream(a).sorted().toArray());
    }

    @Test
    void wdJtDoesNotReplayTheSftOrderOfTheSameSeed() {
        var sft = dev.wmss.train.loop.TrainConfig.builder(dev.wmss.train.loop.TrainConfig.Mode.SFT).seed(5).build();
        var jt = sft.toBuilder().mode(dev.wmss.train.loop.TrainConfig.Mode.WDJT).build();
        long s0 = dev.wmss.train.loop.Sampler.stageSeed(sft), s1 = dev.wmss.train.loop.Sampler.stageSeed(jt);
        assertEquals(5, s0, "SFT keeps the run's seed");
        int[] a = dev.wmss.train.loop.Sampler.epochOrder(100, s0, 0), b = dev.wmss.train.loop.Sampler.epochOrder(100, s1, 0);
        assertFalse(java.util.Arrays.equals(a, b), "WD-JT's first epoch has its own order");
        for (int e = 0; e < 3; e++) {
            assertFalse(java.util.Arrays.equals(dev.wmss.train.loop.Sampler.epochOrder(100, s0, e), b), "nor any SFT epoch's");
        }
    }
}

package dev.wmss.train.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * --max-len is the only truncation, the same for every tokenizer, and what it cuts is counted: a Hugging Face
 * tokenizer keeps texts longer than 512 tokens (DJL's default cut) and ignores a truncation in tokenizer.json.
 */
class TruncationTest {
    private static String words(int n) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < n; i++) b.append(i % 2 == 0 ? "two " : "plus ");
        return b.toString().strip();
    }

    @Test
    void aHuggingFaceTokenizerDoesNotCutLongTexts(@TempDir Path tmp) throws Exception {
        HfTokenizerTest.write(tmp, true);
        try (HfTokenizer t = HfTokenizer.load(tmp)) {
            assertEquals(2000, t.encode(words(2000)).length, "no 512-token cut");
        }
        // a truncation (and padding) written in tokenizer.json does not apply either
        String json = Files.readString(tmp.resolve("tokenizer.json")).replace("\"truncation\": null",
                "\"truncation\": {\"direction\": \"Right\", \"max_length\": 8, \"strategy\": \"LongestFirst\", \"stride\": 0}");
        Files.writeString(tmp.resolve("tokenizer.json"), json);
        try (HfTokenizer t = HfTokenizer.load(tmp)) {
            assertEquals(700, t.encode(words(700)).length);
        }
    }

    @Test
    void theCollatorCutsAtMaxLenAndCountsWhatItCuts(@TempDir Path tmp) throws Exception {
        HfTokenizerTest.write(tmp, true);
        // <s> + prompt + response + </s>: 1 + 600 + 700 + 1 = 1302 tokens; 1 + 3 + 2 + 1 = 7 tokens
        List<Example> ex = List.of(new Example(words(600), words(700)), new Example("two plus two", "is four"),
                new Example(words(100), words(20)));
        try (HfTokenizer t = HfTokenizer.load(tmp)) {
            Collator c = new Collator(ex, t, 1000);
            Collator.Truncation cut = c.truncation();
            assertEquals(1, cut.examples());
            assertEquals(1302 - 1001, cut.tokens(), "the window is max-len + 1 tokens (the last one only a target)");
            assertEquals(1000, c.collate(new int[]{0}).seq());
            assertTrue(cut.describe().contains("1 of 3 examples are longer than --max-len 1000")
                    && cut.describe().contains("301 tokens dropped"), cut.describe());
            assertNull(new Collator(ex, t, 2000).truncation().describe(), "nothing cut, nothing said");
        }
        // the byte tokenizer is cut the same way: 1 + 10 + 10 + 1 = 22 tokens in a window of 16 + 1
        Collator bytes = new Collator(List.of(new Example("0123456789", "abcdefghij")), new ByteTokenizer(), 16);
        assertEquals(new Collator.Truncation(1, 5, 1, 16), bytes.truncation());
    }
}

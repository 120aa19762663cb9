package dev.wmss.train.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** A hand-written word-level tokenizer.json through DJL's Rust tokenizers, offline. */
public class HfTokenizerTest {
    public static Path write(Path dir, boolean withBos) throws Exception {
        Files.writeString(dir.resolve("tokenizer.json"), """
                {"version": "1.0", "truncation": null, "padding": null,
                 "added_tokens": [
                   {"id": 0, "content": "<s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
                   {"id": 1, "content": "</s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}],
                 "normalizer": null, "pre_tokenizer": {"type": "Whitespace"}, "post_processor": null,
                 "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
                 "model": {"type": "WordLevel", "vocab": {"<s>": 0, "</s>": 1, "<unk>": 2, "two": 3, "plus": 4, "is": 5,
                           "four": 6, "Q": 7, ":": 8}, "unk_token": "<unk>"}}
                """);
        Files.writeString(dir.resolve("tokenizer_config.json"), withBos
                ? "{\"bos_token\": \"<s>\", \"eos_token\": {\"content\": \"</s>\"}}"
                : "{\"eos_token\": \"</s>\"}");
        return dir;
    }

    @Test
    void encodesDecodesAndFindsSpecialTokens(@TempDir Path tmp) throws Exception {
        try (HfTokenizer t = HfTokenizer.load(write(tmp, true))) {
            assertArrayEquals(new int[]{7, 8, 3, 4, 3, 5, 6}, t.encode("Q: two plus two is four"));
            assertArrayEquals(new int[]{3, 2}, t.encode("two five"), "unknown words map to <unk>");
            assertEquals("two plus two", t.decode(new int[]{3, 4, 3}, 0, 3));
            assertEquals(9, t.vocabSize());
            assertEquals(0, t.bos());
            assertEquals(1, t.eos());
            assertEquals(1, t.pad(), "no pad token: EOS pads (masked anyway)");
            Batch b = new Collator(List.of(new Example("two plus two is", "four")), t, 32).collate(new int[]{0});
            // <s> two plus two is | four </s>: inputs stop before the last token, targets are the response and EOS
            assertArrayEquals(new long[]{0, 3, 4, 3, 5, 6}, b.ids());
            assertArrayEquals(new long[]{-100, -100, -100, -100, 6, 1}, b.labels());
        }
    }

    @Test
    void noBosMeansNoneIsPrepended(@TempDir Path tmp) throws Exception {
        try (HfTokenizer t = HfTokenizer.load(write(tmp, false))) {
            assertEquals(-1, t.bos());
            Batch b = new Collator(List.of(new Example("two is", "four")), t, 32).collate(new int[]{0});
            assertArrayEquals(new long[]{3, 5, 6}, b.ids());
            assertArrayEquals(new long[]{-100, 6, 1}, b.labels());
        }
    }

    @Test
    void chatDataIsRenderedWithTheTokenizersOwnTemplate(@TempDir Path tmp) throws Exception {
        write(tmp, true);
        String json = Files.readString(tmp.resolve("tokenizer.json")).replace("\"Q\": 7, \":\": 8}", "\"Q\": 7, \":\": 8, \"user\": 9,"
                + " \"assistant\": 10}");
        Files.writeString(tmp.resolve("tokenizer.json"), json);
        // a template in the tokenizer's own format: "role : content </s>" per turn, opened by the BOS it writes itself
        Files.writeString(tmp.resolve("tokenizer_config.json"), """
                {"bos_token": "<s>", "eos_token": "</s>",
                 "chat_template": "{{ bos_token }}{% for m in messages %}{{ m.role }} : {{ m.content }} {{ eos_token }} {% endfor %}{% if add_generation_prompt %}assistant : {% endif %}"}
                """);
        Path data = Files.writeString(tmp.resolve("chat.jsonl"),
                "{\"messages\": [{\"role\": \"user\", \"content\": \"two plus two\"}, {\"role\": \"assistant\", \"content\": \"four\"}]}\n");
        try (HfTokenizer t = HfTokenizer.load(tmp)) {
            List<Example> ex = JsonlReader.read(data, t.chatFormat());
            assertEquals(new Example("user : two plus two </s> assistant : ", "four </s>"), ex.getFirst());
            Batch b = new Collator(ex, t, 32).collate(new int[]{0});
            // <s> user : two plus two </s> assistant : | four </s>: one BOS, and the template's own end of turn is EOS
            assertArrayEquals(new long[]{0, 9, 8, 3, 4, 3, 1, 10, 8, 6}, b.ids());
            assertArrayEquals(new long[]{-100, -100, -100, -100, -100, -100, -100, -100, 6, 1}, b.labels());
        }
        // no template: chat data is refused (TokenizerOptionTest: unless --chat-template names one or asks for plain)
        write(tmp, true);
        try (HfTokenizer t = HfTokenizer.load(tmp)) {
            assertSame(ChatFormat.NONE, t.chatFormat());
            JsonlReader.DataException e = assertThrows(JsonlReader.DataException.class, () -> JsonlReader.read(data, t.chatFormat()));
            assertTrue(e.getMessage().contains("chat.jsonl:1: chat data needs a chat template"), e.getMessage());
        }
        Files.writeString(tmp.resolve("tokenizer_config.json"),
                "{\"eos_token\": \"</s>\", \"chat_template\": \"{% macro x() %}{% endmacro %}\"}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HfTokenizer.load(tmp));
        assertTrue(e.getMessage().contains("chat_template") && e.getMessage().contains("macro"), e.getMessage());
    }

    /**
     * A chat template that renders the assistant's turn without its content (an audit: trained on the end-of-turn
     * marker alone) is refused like one that skips the turn; a reasoning block before </think> may be left out.
     */
    @Test
    void aTemplateThatDropsTheAssistantsContentIsRefused(@TempDir Path tmp) throws Exception {
        ChatTemplate dropping = new ChatTemplate("{% for m in messages %}{% if m.role == 'assistant' %}<a>{{ eos_token }}"
                + "{% else %}{{ m.content }}{% endif %}{% endfor %}{% if add_generation_prompt %}<a>{% endif %}", "", "</s>");
        List<ChatFormat.Message> turn = List.of(new ChatFormat.Message("user", "two plus two"),
                new ChatFormat.Message("assistant", "four"));
        dev.wmss.train.data.jinja.TemplateException e = assertThrows(dev.wmss.train.data.jinja.TemplateException.class,
                () -> dropping.render(turn));
        assertTrue(e.getMessage().contains("without its content") && e.getMessage().contains("\"</s>\" alone"), e.getMessage());
        ChatTemplate thinking = new ChatTemplate("{% for m in messages %}{% if m.role == 'assistant' %}<a>{{ m.content.split("
                + "'</think>')[-1] | trim }}{{ eos_token }}{% else %}{{ m.content }}{% endif %}{% endfor %}"
                + "{% if add_generation_prompt %}<a>{% endif %}", "", "</s>");
        Example ok = thinking.render(List.of(turn.getFirst(), new ChatFormat.Message("assistant", "<think>2+2</think> four")));
        assertEquals("four</s>", ok.response());
    }

    @Test
    void badTokenizerFilesAreClearErrors(@TempDir Path tmp) throws Exception {
        assertThrows(IllegalArgumentException.class, () -> HfTokenizer.load(tmp.resolve("nope")));
        write(tmp, true);
        Files.writeString(tmp.resolve("tokenizer_config.json"), "{\"eos_token\": \"<eos>\"}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HfTokenizer.load(tmp));
        assertTrue(e.getMessage().contains("<eos>") && e.getMessage().contains("tokenizer_config.json"), e.getMessage());
        // a broken tokenizer.json says what is wrong where, not what Gson's own API would allow
        for (String broken : new String[]{"{\"model\": {\"vocab\": {\"a\": 1,}}}", "{\"model\": tru}", "{\"model\": {}, \"model\": {}}"}) {
            Files.writeString(tmp.resolve("tokenizer.json"), broken);
            e = assertThrows(IllegalArgumentException.class, () -> HfTokenizer.load(tmp), broken);
            assertTrue(e.getMessage().contains("tokenizer.json") && e.getMessage().contains("line 1")
                    && !e.getMessage().contains("setStrictness") && !e.getMessage().contains("LENIENT")
                    && !e.getMessage().contains("troubleshooting"), e.getMessage());
        }
        assertTrue(e.getMessage().contains("the key \"model\" appears twice"), e.getMessage());
    }

    @Test
    void anEmptyTokenizerJsonSaysWhatItLacks(@TempDir Path tmp) throws Exception {
        write(tmp, true);
        for (String json : new String[]{"{}", "{\"model\": 3}", "[]"}) {
            Files.writeString(tmp.resolve("tokenizer.json"), json);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HfTokenizer.load(tmp), json);
            assertTrue(e.getMessage().contains(tmp.resolve("tokenizer.json").toString())
                    && !e.getMessage().contains("NullPointer") && !e.getMessage().contains("null"), e.getMessage());
            assertTrue(e.getMessage().contains("\"model\"") || e.getMessage().contains("not a JSON object"), e.getMessage());
        }
        Files.writeString(tmp.resolve("tokenizer.json"), "{\"model\": {\"vocab\": {}}}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HfTokenizer.load(tmp));
        assertTrue(e.getMessage().contains("no tokens"), e.getMessage());
    }

    @Test
    void aUnigramVocabularyCountsItsTokens(@TempDir Path tmp) throws Exception {
        Files.writeString(tmp.resolve("tokenizer.json"), """
                {"version": "1.0", "truncation": null, "padding": null, "added_tokens": [], "normalizer": null,
                 "pre_tokenizer": {"type": "WhitespaceSplit"}, "post_processor": null, "decoder": null,
                 "model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0], ["</s>", 0.0], ["two", -1.0],
                           ["four", -2.0]]}}
                """);
        Files.writeString(tmp.resolve("tokenizer_config.json"), "{\"eos_token\": \"</s>\"}");
        try (HfTokenizer t = HfTokenizer.load(tmp)) {
            assertEquals(4, t.vocabSize());
            assertEquals(1, t.eos());
            assertArrayEquals(new int[]{2, 3}, t.encode("two four"));
        }
    }

    @Test
    void aBrokenTokenizerConfigIsNamedNotTheTokenizerJson(@TempDir Path tmp) throws Exception {
        write(tmp, true);
        Path cfg = tmp.resolve("tokenizer_config.json");
        for (String broken : new String[]{"{\"eos_token\": ", "[1, 2]", "{\"eos_token\": {\"content\": 5, \"x\": }"}) {
            Files.writeString(cfg, broken);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HfTokenizer.load(tmp), broken);
            assertTrue(e.getMessage().startsWith(cfg.toString()), e.getMessage());
            assertFalse(e.getMessage().contains("not a usable tokenizer.json"), e.getMessage());
        }
        Files.writeString(cfg, "{\"bos_token\": \"<s>\"}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HfTokenizer.load(tmp));
        assertTrue(e.getMessage().startsWith(cfg.toString()) && e.getMessage().contains("no eos_token"), e.getMessage());
    }
}

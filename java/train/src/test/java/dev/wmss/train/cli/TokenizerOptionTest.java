package dev.wmss.train.cli;

import dev.wmss.runtime.TorchModel;
import dev.wmss.train.data.ByteTokenizer;
import dev.wmss.train.data.Example;
import dev.wmss.train.data.HfTokenizer;
import dev.wmss.train.data.HfTokenizerTest;
import dev.wmss.train.data.JsonlReader;
import dev.wmss.train.data.Tokenizer;
import dev.wmss.train.loop.TrainerTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * --tokenizer defaults to the model's own tokenizer.json; a tokenizer the model was not built for is refused; chat
 * data needs a chat template (the tokenizer's, --chat-template FILE, or --chat-template plain); a run's final model
 * carries its tokenizer's files.
 */
class TokenizerOptionTest {
    private static Path model(Path dir, String config) {
        try (TorchModel m = TorchModel.init(config, 1)) {
            m.save(dir);
        }
        return dir;
    }

    private static SharedOptions.TokenizerOption option(String spec, String chatTemplate) {
        SharedOptions.TokenizerOption o = new SharedOptions.TokenizerOption();
        o.spec = spec;
        o.chatTemplate = chatTemplate;
        return o;
    }

    @Test
    void theModelsOwnTokenizerIsTheDefault(@TempDir Path tmp) throws Exception {
        Path m = HfTokenizerTest.write(model(tmp.resolve("m"), TrainerTest.TINY), true);
        SharedOptions.TokenizerOption o = option(null, null);
        Tokenizer t = o.load(m, "--model");
        assertEquals(9, t.vocabSize(), "the model directory's tokenizer.json, not the byte tokenizer");
        assertEquals(m.resolve("tokenizer.json").toString(), o.resolved);
        // without one, bytes (the demo's models)
        Path bytes = model(tmp.resolve("b"), TrainerTest.TINY);
        SharedOptions.TokenizerOption b = option(null, null);
        assertInstanceOf(ByteTokenizer.class, b.load(bytes, "--model"));
        assertEquals("byte", b.resolved);
    }

    @Test
    void tokenizersTheModelWasNotBuiltForAreRefused(@TempDir Path tmp) throws Exception {
        Path m = HfTokenizerTest.write(model(tmp.resolve("m"), TrainerTest.TINY), true);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> option("byte", null).load(m, "--model"));
        assertTrue(e.getMessage().contains("holds its own tokenizer.json") && e.getMessage().contains("omit --tokenizer"),
                e.getMessage());
        // another tokenizer.json whose ids differ
        Path other = HfTokenizerTest.write(Files.createDirectories(tmp.resolve("other")), true);
        Files.writeString(other.resolve("tokenizer.json"), Files.readString(other.resolve("tokenizer.json"))
                .replace("\"two\": 3, \"plus\": 4", "\"two\": 4, \"plus\": 3"));
        e = assertThrows(IllegalArgumentException.class, () -> option(other.toString(), null).load(m, "--model"));
        assertTrue(e.getMessage().contains("is not the tokenizer") && e.getMessage().contains("\"plus\" to id 3"),
                e.getMessage());
        // the same vocabulary in another file is the same tokenizer
        Path copy = HfTokenizerTest.write(Files.createDirectories(tmp.resolve("copy")), true);
        assertEquals(9, option(copy.toString(), null).load(m, "--model").vocabSize());
        // a large vocabulary without a tokenizer.json: the byte tokenizer is not silently taken
        Path qwen = model(tmp.resolve("q"), TrainerTest.TINY.replace("\"vocab_size\": 259", "\"vocab_size\": 1000"));
        e = assertThrows(IllegalArgumentException.class, () -> option(null, null).load(qwen, "--base"));
        assertTrue(e.getMessage().contains("--base") && e.getMessage().contains("vocabulary of 1000")
                && e.getMessage().contains("no tokenizer.json") && e.getMessage().contains("pass --tokenizer"), e.getMessage());
        assertEquals(ByteTokenizer.VOCAB, option("byte", null).load(qwen, "--base").vocabSize(), "asked for: taken");
    }

    @Test
    void chatDataNeedsATemplateOrThePlainFormatAskedFor(@TempDir Path tmp) throws Exception {
        Path m = model(tmp.resolve("m"), TrainerTest.TINY);
        Path chat = Files.writeString(tmp.resolve("chat.jsonl"),
                "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\", \"content\": \"yo\"}]}\n");
        SharedOptions.Data data = SharedOptions.Data.named("--data", chat.toString());
        JsonlReader.DataException e = assertThrows(JsonlReader.DataException.class,
                () -> data.load(1, option(null, null).load(m, "--model")));
        assertTrue(e.getMessage().contains("chat.jsonl:1") && e.getMessage().contains("--chat-template plain")
                && e.getMessage().contains("has none"), e.getMessage());
        assertEquals(List.of(new Example("user: hi\nassistant: ", "yo")), data.load(1, option(null, "plain").load(m, "--model")));
        Path jinja = Files.writeString(tmp.resolve("t.jinja"),
                "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}");
        assertEquals(List.of(new Example("<user>hi<assistant>", "yo")),
                data.load(1, option(null, jinja.toString()).load(m, "--model")));
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> option(null, tmp.resolve("none.jinja").toString()).load(m, "--model"));
        assertTrue(missing.getMessage().contains("--chat-template") && missing.getMessage().contains("no such file"),
                missing.getMessage());
        // through the CLI: refused before any work
        CliRun r = CliRun.of("sft", "--model", m.toString(), "--data", chat.toString(), "--out", tmp.resolve("o").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("--chat-template"), r.err());
    }

    @Test
    void aRunsFinalModelCarriesItsTokenizer(@TempDir Path tmp) throws Exception {
        Path m0 = HfTokenizerTest.write(model(tmp.resolve("m0"), RunCommandTest.SMALL), true);
        Files.writeString(m0.resolve("special_tokens_map.json"), "{\"eos_token\": \"</s>\"}");
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < 8; i++) lines.append("{\"prompt\": \"Q : two plus two is\", \"response\": \"four\"}\n");
        Path data = Files.writeString(tmp.resolve("d.jsonl"), lines);
        Path out = tmp.resolve("run");
        CliRun r = CliRun.of("run", "--base", m0.toString(), "--train", data.toString(), "--out", out.toString(),
                "--batch", "4", "--selection", "NONE");
        assertEquals(0, r.code(), r.err());
        for (String f : List.of("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")) {
            assertEquals(Files.readString(m0.resolve(f)), Files.readString(out.resolve("final").resolve(f)), f);
        }
        assertTrue(Files.readString(out.resolve("run.json")).contains(m0.resolve("tokenizer.json").toString()));
        // and the exported model loads with its own tokenizer by default
        try (HfTokenizer t = HfTokenizer.load(out.resolve("final"))) {
            assertEquals(9, t.vocabSize());
        }
        Path exported = tmp.resolve("exported");
        CliRun x = CliRun.of("export", "--model", out.resolve("final").toString(), "--out", exported.toString());
        assertEquals(0, x.code(), x.err());
        assertTrue(Files.isRegularFile(exported.resolve("tokenizer_config.json")));
    }
}

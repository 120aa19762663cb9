// Inputs of benchmarks/run-dp.sh: a model initialised from a config.json (seed 1) and N examples of the built-in
// arithmetic task as JSONL. Run with the application jar on the class path (a single-file source program):
//   java --enable-native-access=ALL-UNNAMED -cp target/wmss-native.jar benchmarks/dp/Setup.java CONFIG OUT N
import com.google.gson.JsonObject;
import dev.wmss.runtime.TorchModel;
import dev.wmss.train.data.Example;
import dev.wmss.train.task.ArithmeticTasks;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

public class Setup {
    public static void main(String[] args) throws Exception {
        Path out = Path.of(args[1]);
        try (TorchModel m = TorchModel.init(Files.readString(Path.of(args[0])), 1)) {
            m.save(out.resolve("m0"));
            System.out.println("model: " + m.parameterCount() + " parameters -> " + out.resolve("m0"));
        }
        List<String> lines = new ArrayList<>();
        for (Example e : ArithmeticTasks.generate(Integer.parseInt(args[2]), 2, 1)) {
            JsonObject o = new JsonObject();
            o.addProperty("prompt", e.prompt());
            o.addProperty("response", e.response());
            lines.add(o.toString());
        }
        Files.write(out.resolve("data.jsonl"), lines);
        System.out.println("data: " + lines.size() + " examples -> " + out.resolve("data.jsonl"));
    }
}

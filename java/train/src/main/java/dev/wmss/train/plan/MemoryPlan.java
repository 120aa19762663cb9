package dev.wmss.train.plan;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What a training run will hold per rank, before anything is loaded: the model state (bytes per parameter of each
 * feature: fp32 weights, gradients, AdamW's moments, the bf16 working copies and the per-step stacked q/k/v and
 * gate/up copies), the activations (bytes per token per layer, with or without layer activation checkpointing), the
 * fused head's chunk, the backward's workspace, the allocator's slack and the process's own. Each part says what it
 * counts, so a table shows where the memory goes; the counts follow the code (the tensors autograd saves per layer,
 * listed in {@link #layerActivationBytes}), and the remaining constants (workspace, slack, the process) are fitted to
 * the CPU measurements in benchmarks/RESULTS.md ("The memory planner"). ZeRO stages 1-3 are DeepSpeed's formulas for
 * the model state (mixed precision: 4Ψ + 12Ψ/N, 2Ψ + 14Ψ/N, 16Ψ/N; fp32: 8Ψ + 8Ψ/N, 4Ψ + 12Ψ/N, 16Ψ/N): what sharding
 * would give, for sizing, until it is implemented here.
 */
public final class MemoryPlan {
    /** A run to plan. batch: the global micro-batch (ranks take slices); ranksPerNode: ranks sharing a machine's RAM. */
    public record Input(ModelShape strong, ModelShape weak, boolean weakTrained, long batch, long seq, boolean cuda,
                        boolean bf16, int worldSize, int ranksPerNode, int zero, boolean checkpointing, long headChunkBytes) {
        public Input {
            if (batch < 1 || seq < 1) throw new IllegalArgumentException("--batch and --max-len must be >= 1");
            if (worldSize < 1) throw new IllegalArgumentException("--world-size must be >= 1, got " + worldSize);
            if (ranksPerNode < 1 || ranksPerNode > worldSize) {
                throw new IllegalArgumentException("--ranks-per-node must be between 1 and --world-size (" + worldSize + "), got "
                        + ranksPerNode);
            }
            if (zero < 0 || zero > 3) throw new IllegalArgumentException("--zero must be 0, 1, 2 or 3, got " + zero);
        }

        public Input withCheckpointing(boolean on) {
            return new Input(strong, weak, weakTrained, batch, seq, cuda, bf16, worldSize, ranksPerNode, zero, on, headChunkBytes);
        }

        public Input withZero(int stage) {
            return new Input(strong, weak, weakTrained, batch, seq, cuda, bf16, worldSize, ranksPerNode, stage, checkpointing,
                    headChunkBytes);
        }

        public Input withBatch(long b) {
            return new Input(strong, weak, weakTrained, b, seq, cuda, bf16, worldSize, ranksPerNode, zero, checkpointing,
                    headChunkBytes);
        }

        /** The rows of the micro-batch this rank takes. */
        long rowsPerRank() {
            return (batch + worldSize - 1) / worldSize;
        }
    }

    /** One line of the plan: bytes on the device and on the host of one rank, and what they count. */
    public record Part(String what, double device, double host, String counts) {}

    /** Bytes the process holds besides what it computes with (the JVM and the native libraries), on the host. */
    public static final double PROCESS_BYTES = 320.0 * (1 << 20);
    /** The allocators' share beyond what is live (size classes, fragmentation). */
    public static final double SLACK = 0.06;

    private final Input in;
    private final List<Part> parts = new ArrayList<>();

    private MemoryPlan(Input in) {
        this.in = in;
    }

    public static MemoryPlan of(Input in) {
        MemoryPlan p = new MemoryPlan(in);
        p.build();
        return p;
    }

    public Input input() {
        return in;
    }

    public List<Part> parts() {
        return parts;
    }

    public double deviceBytesPerRank() {
        return parts.stream().mapToDouble(Part::device).sum();
    }

    public double hostBytesPerRank() {
        return parts.stream().mapToDouble(Part::host).sum();
    }

    /** The bytes that must fit where the model runs: the device's (CUDA) or the machine's RAM over its ranks (CPU). */
    public double neededWhereItRuns() {
        return in.cuda() ? deviceBytesPerRank() : hostBytesPerRank() * in.ranksPerNode();
    }

    private void add(String what, double bytes, String counts) {
        parts.add(in.cuda() ? new Part(what, bytes, 0, counts) : new Part(what, 0, bytes, counts));
    }

    /** Elements per rank and all-gather round of ZeRO's parameter gather (zero.cpp's kGatherChunk). */
    static final double ZERO_GATHER_ELEMENTS = 1 << 22;

    private void build() {
        String prec = in.cuda() && in.bf16() ? "bf16" : "fp32";
        for (ModelShape m : in.weak() == null ? List.of(in.strong()) : List.of(in.strong(), in.weak())) {
            boolean trained = m == in.strong() || in.weakTrained();
            String role = m == in.strong() ? "strong" : "weak";
            double psi = m.parameters();
            if (trained) {
                double[] perParam = modelState(in.zero(), in.worldSize(), in.cuda() && in.bf16());
                add(role + ": parameters", perParam[0] * psi, bpp(perParam[0]) + (in.zero() == 0 ? " fp32"
                        : in.cuda() && in.bf16() ? ": bf16 working, fp32 master sharded" : " fp32") + shard(in.zero() >= 3));
                add(role + ": gradients", perParam[1] * psi, bpp(perParam[1]) + shard(in.zero() >= 2));
                add(role + ": AdamW moments", perParam[2] * psi, bpp(perParam[2]) + " (two fp32)" + shard(in.zero() >= 1));
                if (in.cuda() && in.bf16() && in.zero() == 0) {
                    add(role + ": bf16 working copies", 2.0 * m.layers() * m.layerParameters() / (in.zero() >= 3 ? in.worldSize() : 1),
                            "2 bytes per layer parameter, kept for the backward");
                } else if (!in.checkpointing()) {
                    add(role + ": stacked q/k/v and gate/up", 4.0 * m.stackedParameters(),
                            "4 bytes per stacked parameter: one product each, kept for the backward");
                }
            } else {
                add(role + ": parameters (frozen)", 4.0 * psi / (in.zero() >= 3 ? in.worldSize() : 1), "4 bytes/param" + shard(in.zero() >= 3));
            }
            add(role + ": activations", activations(m, trained), activationCounts(m, trained, prec));
        }
        double tokens = (double) in.rowsPerRank() * in.seq();
        ModelShape s = in.strong();
        int models = in.weak() == null ? 1 : 2;
        double chunk = Math.min(in.headChunkBytes(), 4.0 * tokens * s.vocab() * models); // all rows when they fit the budget
        add("fused head", chunk + 4.0 * s.hidden() * tokens * models, String.format(Locale.ROOT,
                "a chunk of logits of every model (%s; the budget is %s) and d loss / d hidden, 4 x hidden per token per model",
                gib(chunk), gib(in.headChunkBytes())));
        add("backward workspace", workspace(), "the gradients crossing a layer: 3 x 4 x hidden per token");
        if (in.zero() >= 1 && in.worldSize() > 1) { // zero.cpp: one round's contribution and every rank's, fp32
            double perRank = Math.min(in.strong().parameters() / in.worldSize() + 1.0, ZERO_GATHER_ELEMENTS);
            add("ZeRO all-gather buffers", 4.0 * perRank * (in.worldSize() + 1), String.format(Locale.ROOT,
                    "the updated parameters gathered in rounds of %s per rank: 4 x (ranks + 1) x that", gib(4.0 * perRank)));
        }
        double subtotal = (in.cuda() ? deviceBytesPerRank() : hostBytesPerRank());
        add("allocator slack", SLACK * subtotal, Math.round(100 * SLACK) + "% over what is live (size classes, fragmentation)");
        parts.add(new Part("process (JVM, libraries)", 0, PROCESS_BYTES, "measured on the CPU"));
        if (in.cuda()) { // on the CPU the one tensor of the load is gone long before the training's peak
            double tensor = 0; // the largest tensor, read into one host buffer while loading (at most fp32)
            for (ModelShape m : in.weak() == null ? List.of(in.strong()) : List.of(in.strong(), in.weak())) {
                tensor = Math.max(tensor, 4.0 * m.vocab() * m.hidden());
            }
            parts.add(new Part("loading (host, transient)", 0, tensor, "one tensor at a time read into place (the largest,"
                    + " the embedding, at most fp32)"));
        }
    }

    /**
     * Bytes per parameter {weights, gradients, moments} of a trained model at a ZeRO stage over n ranks. Stage 0 is
     * this implementation (fp32 weights that are also the master weights, fp32 gradients, fp32 moments; in bf16 the
     * working copies are a part of their own); stages 1-3 are DeepSpeed's: in bf16 a 2-byte working copy and 2-byte
     * gradients beside the 12 bytes of fp32 master weights and moments, sharded in turn.
     */
    static double[] modelState(int zero, int n, boolean bf16) {
        if (zero == 0) return new double[]{4, 4, 8};
        if (!bf16) return new double[]{zero >= 3 ? 4.0 / n : 4, zero >= 2 ? 4.0 / n : 4, 8.0 / n};
        return new double[]{zero >= 3 ? 6.0 / n : 2 + 4.0 / n, zero >= 2 ? 2.0 / n : 2, 8.0 / n};
    }

    private static String bpp(double b) {
        return String.format(Locale.ROOT, "%.3g bytes/param", b);
    }

    private String shard(boolean sharded) {
        return sharded ? " (sharded over " + in.worldSize() + " ranks)" : "";
    }

    /**
     * Bytes one decoder layer keeps for the backward per token, without checkpointing, as the CPU (fp32) and CUDA
     * (bf16 products, fp32 residual stream, flash attention) paths save them: the normed input and its rstd; the
     * q/k/v product, the rotated q and k; the attention's output and, on the CPU, its
     * probabilities (heads x T per token); the residual after attention and its normed copy; the gate/up product and
     * the SwiGLU; the layer's output.
     */
    public static double layerActivationBytes(ModelShape m, long seq, boolean cudaBf16) {
        double h = m.hidden(), q = m.nq(), kv = m.nkv();
        // Qwen3's normed q and k are not kept: the rotation's backward needs no input, and the norm's keeps its own
        // input (a view of the q/k/v product) and rstd
        double products = (q + 2 * kv) + (q + kv) + q + 3.0 * m.intermediate();
        if (!cudaBf16) return 4 * (4 * h + products) + 8 + 4.0 * m.heads() * seq;
        return 4 * (2 * h) + 2 * (2 * h + products) + 8 + 4.0 * m.heads(); // flash: a logsumexp per head
    }

    private double activations(ModelShape m, boolean trained) {
        boolean bf = in.cuda() && in.bf16();
        double tokens = (double) in.rowsPerRank() * in.seq(), layer = layerActivationBytes(m, in.seq(), bf) * tokens;
        double perToken = 4.0 * m.hidden() * 2 + 8.0 * m.headDim() + (in.cuda() ? 0 : 4.0 * in.seq()); // x0, final norm; rotary; mask
        if (!trained) return layer + perToken * tokens; // one layer at a time, and the hidden states the head reads
        double layers = in.checkpointing() ? (m.layers() - 1) * 4.0 * m.hidden() * tokens + layer : m.layers() * layer;
        return layers + perToken * tokens;
    }

    private String activationCounts(ModelShape m, boolean trained, String prec) {
        boolean bf = in.cuda() && in.bf16();
        double perLayer = layerActivationBytes(m, in.seq(), bf);
        if (!trained) return "no gradients: one layer at a time";
        return in.checkpointing()
                ? String.format(Locale.ROOT, "checkpointing: 4 x hidden = %.0f bytes per token per layer, %d layers, and the last"
                + " layer's %.0f", 4.0 * m.hidden(), m.layers() - 1, perLayer)
                : String.format(Locale.ROOT, "%.0f bytes per token per layer (%s), %d layers", perLayer, prec, m.layers());
    }

    /**
     * The gradients crossing a layer in the backward (3 x 4 x hidden per token). With checkpointing, the re-run layer's
     * activations come after the last layer's kept ones were freed (its backward runs first): they take its place,
     * counted once in the activations.
     */
    private double workspace() {
        ModelShape s = in.strong();
        double tokens = (double) in.rowsPerRank() * in.seq();
        return 3 * 4.0 * s.hidden() * tokens;
    }

    public static String gib(double bytes) {
        return String.format(Locale.ROOT, "%.2f GiB", bytes / (1L << 30));
    }

    /** The plan as a table (Markdown), with the totals per rank. */
    public String table() {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%s%s at %d x %d tokens (global micro-batch), %s %s, %d rank%s, ZeRO %d, activation "
                        + "checkpointing %s%n%n", in.strong().name(), in.weak() == null ? "" : " + " + in.weak().name()
                        + (in.weakTrained() ? "" : " (frozen)"), in.batch(), in.seq(), in.cuda() ? "cuda" : "cpu",
                in.cuda() && in.bf16() ? "bf16" : "fp32", in.worldSize(), in.worldSize() == 1 ? "" : "s", in.zero(),
                in.checkpointing() ? "on" : "off"));
        b.append("| per rank | device | host | counts |\n|---|---:|---:|---|\n");
        for (Part p : parts) {
            b.append(String.format(Locale.ROOT, "| %s | %s | %s | %s |%n", p.what(), p.device() > 0 ? gib(p.device()) : "",
                    p.host() > 0 ? gib(p.host()) : "", p.counts()));
        }
        b.append(String.format(Locale.ROOT, "| **total** | **%s** | **%s** | |%n", gib(deviceBytesPerRank()), gib(hostBytesPerRank())));
        return b.toString();
    }

    public JsonObject json() {
        JsonObject o = new JsonObject();
        o.addProperty("strong", in.strong().name());
        o.addProperty("weak", in.weak() == null ? null : in.weak().name());
        o.addProperty("weak_trained", in.weakTrained());
        o.addProperty("batch", in.batch());
        o.addProperty("seq", in.seq());
        o.addProperty("device", in.cuda() ? "cuda" : "cpu");
        o.addProperty("precision", in.cuda() && in.bf16() ? "bf16" : "fp32");
        o.addProperty("world_size", in.worldSize());
        o.addProperty("zero", in.zero());
        o.addProperty("activation_checkpointing", in.checkpointing());
        JsonArray a = new JsonArray();
        for (Part p : parts) {
            JsonObject j = new JsonObject();
            j.addProperty("what", p.what());
            j.addProperty("device_bytes", Math.round(p.device()));
            j.addProperty("host_bytes", Math.round(p.host()));
            j.addProperty("counts", p.counts());
            a.add(j);
        }
        o.add("parts", a);
        o.addProperty("device_bytes_per_rank", Math.round(deviceBytesPerRank()));
        o.addProperty("host_bytes_per_rank", Math.round(hostBytesPerRank()));
        return o;
    }

    /**
     * What would make a run that needs more than capacity bytes (where it runs) fit, cheapest first: checkpointing,
     * then a smaller micro-batch (same global batch through --accum), then ZeRO stages (--zero 1 where implemented:
     * fp32 on the CPU; the other stages and devices are projections, said so).
     */
    public List<String> whatWouldFit(double capacity) {
        List<String> out = new ArrayList<>();
        if (!in.checkpointing()) {
            MemoryPlan c = of(in.withCheckpointing(true));
            if (c.neededWhereItRuns() <= capacity) out.add("--activation-checkpointing on: " + gib(c.neededWhereItRuns()));
        }
        Input best = in.withCheckpointing(true);
        for (long b = in.batch() / 2; b >= 1; b /= 2) {
            MemoryPlan c = of(best.withBatch(b));
            if (c.neededWhereItRuns() <= capacity) {
                out.add("--activation-checkpointing on --batch " + b + " (and --accum x" + (in.batch() / b) + " for the same"
                        + " global batch): " + gib(c.neededWhereItRuns()));
                break;
            }
        }
        for (int z = Math.max(1, in.zero() + 1); z <= 3 && in.worldSize() > 1; z++) {
            MemoryPlan c = of(best.withZero(z));
            if (c.neededWhereItRuns() <= capacity) {
                out.add(implemented(z, in.cuda())
                        ? "--zero " + z + " --activation-checkpointing on (" + in.worldSize() + " ranks): " + gib(c.neededWhereItRuns())
                        : "ZeRO stage " + z + " over " + in.worldSize() + " ranks with checkpointing: " + gib(c.neededWhereItRuns())
                        + " (not implemented yet" + (z == 1 ? " on CUDA" : "") + ")");
                break;
            }
        }
        return out;
    }

    /** Whether training implements ZeRO stage z where the run would be: stage 0 everywhere, stage 1 on the CPU. */
    public static boolean implemented(int z, boolean cuda) {
        return z == 0 || (z == 1 && !cuda);
    }
}

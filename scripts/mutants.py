#!/usr/bin/env python3
"""A mutation campaign: does a plausible bug in the method, the trainer or the kernels fail a test?

Each mutant is one small, plausible change to the committed code (a draw ignored, lambda reversed, a kernel that
forgets the max subtraction on one ISA, bf16 truncated instead of rounded, ...). The script copies HEAD into a
scratch tree (target/mutants/tree), applies one mutant at a time there, rebuilds what it touches, runs the tests that
should catch it, and prints killed / survived per mutant (exit 1 if any survived, or if the tests fail without a
mutant). Natives: libwmss (and libwmss_torch, for a mutant of native/torch/) is rebuilt from the scratch tree and put
beside this checkout's built libraries in a directory the tests take through WMSS_LIBRARY_PATH; Java: the three Java modules are compiled and
tested in the scratch tree, offline, from this checkout's .m2.

Needs a built checkout (./wmss.sh build or ./wmss.sh test). Usage:
  python3 scripts/mutants.py               every mutant (about 20 minutes on 2 cores)
  python3 scripts/mutants.py --list        the mutants and their tests
  python3 scripts/mutants.py --only a,b    some of them
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRATCH = os.path.join(ROOT, "target", "mutants")
TREE = os.path.join(SCRATCH, "tree")
NATIVES = os.path.join(ROOT, "java", "natives", "target", "natives", "cpu")


@dataclass
class Mutant:
    name: str
    file: str      # relative to the repository root
    old: str       # must occur exactly once
    new: str
    tests: str     # surefire -Dtest pattern
    why: str       # what bug it stands for

    @property
    def native(self):
        return self.file.startswith("native/")

    @property
    def torch(self):  # in libwmss_torch (native/torch/): that library is rebuilt too
        return self.file.startswith("native/torch/")


TRAIN = "java/train/src/main/java/dev/wmss/train/"
ROW = "native/cpu/ce_mix_row.h"
VEC = "native/cpu/vec.h"

MUTANTS = [
    # --- the method, at the trainer (issue 32's survivors 1 and 2 first)
    Mutant("sampler-ignores-draw", TRAIN + "loop/Sampler.java",
           "micro[k][i] = active[cachedOrder[b0 + k * batchSize + i]];",
           "micro[k][i] = cachedOrder[b0 + k * batchSize + i];",
           "MethodPinsTest,SameDrawTest", "WD-JT trains on positions 0..|D'|-1, not the WD-DS draw"),
    Mutant("lambda-reversed-at-trainer", TRAIN + "loop/TrainingRun.java",
           "new WdJtObjective(strong, weak, cfg.lambda(),", "new WdJtObjective(strong, weak, 1f - cfg.lambda(),",
           "MethodPinsTest", "the weak model gets the strong model's weight"),
    Mutant("lambda-reversed-in-fused-head", TRAIN + "loop/WdJtObjective.java",
           "FusedHead.of(strong, weak, labels, rows).lambda(lambda)",
           "FusedHead.of(strong, weak, labels, rows).lambda(1 - lambda)",
           "MethodPinsTest,HeadTest", "the fused head mixes with 1 - lambda"),
    Mutant("draw-not-passed-by-run", TRAIN + "method/Method.java",
           "s.wdjt(), active, m1, in.base(), List.of(", "s.wdjt(), dev.wmss.train.loop.Sampler.all(active.length), m1, in.base(), List.of(",
           "SameDrawTest", "`run` computes the draw but trains on every example"),
    Mutant("weak-gradient-unchecked", TRAIN + "loop/WdJtObjective.java",
           "if (!Double.isFinite(e.getValue())) {", "if (false && !Double.isFinite(e.getValue())) {",
           "TrainerTest", "a NaN in the weak model's gradients is noticed only after the strong model stepped"),
    Mutant("clip-per-model-under-joint", TRAIN + "loop/WdJtObjective.java",
           "double coef = maxGradNorm / (joint + 1e-6);", "double coef = maxGradNorm / (ns + 1e-6);",
           "TrainerTest", "the joint clip divides by the strong model's norm alone"),
    Mutant("inv-norm-per-micro-batch", TRAIN + "loop/Trainer.java",
           "float invNorm = 1f / Math.max(1, global[0]);", "float invNorm = 1f / Math.max(1, micro[0].supervised());",
           "TrainerTest", "the loss is normalised per micro-batch, not over the accumulated batch"),
    Mutant("frozen-weak-trained", TRAIN + "loop/TrainingRun.java",
           "cfg.lambda(), cfg.freezeWeak(), head,", "cfg.lambda(), false, head,",
           "TrainerTest", "--freeze-weak is ignored"),
    Mutant("wdds-code-beta-on-positive", TRAIN + "select/Selection.java",
           "p[i] = alpha * h0[i] / s0 + beta * Math.max(-d, 0) / sDec + gamma * Math.max(d, 0) / sInc;",
           "p[i] = alpha * h0[i] / s0 + beta * Math.max(d, 0) / sInc + gamma * Math.max(-d, 0) / sDec;",
           "SelectionTest", "WD-DS's beta term on the examples the strong model is less sure of (beta and gamma swapped)"),
    Mutant("dp-shard-overlap", TRAIN + "loop/Sampler.java",
           "to = (int) ((long) n * (rank + 1) / world);", "to = (int) Math.min(n, (long) n * (rank + 1) / world + 1);",
           "DataParallelTest", "data-parallel ranks train on overlapping slices"),
    Mutant("resume-skips-a-step", TRAIN + "loop/TrainingRun.java",
           "r = trainer.run(from != null ? from.step() : 0);", "r = trainer.run(from != null ? from.step() + 1 : 0);",
           "TrainerTest", "a resumed run skips the step after its checkpoint"),
    # --- what is on disk (issue 27)
    Mutant("checkpoint-files-unverified", TRAIN + "loop/Checkpointer.java",
           "problems = s.files() == null ? List.of() : s.files().problems(d);", "problems = List.of();",
           "CheckpointIntegrityTest", "a damaged checkpoint is resumed (its files are not checked)"),
    Mutant("stage-marker-trusted", TRAIN + "method/Method.java",
           "new java.util.ArrayList<>(FileManifest.fromJson(m.get(\"outputs\")).problems(dir));",
           "new java.util.ArrayList<String>();",
           "RunCommandTest", "run --resume skips a stage whose files were deleted or damaged"),
    Mutant("finished-run-retrained", TRAIN + "loop/TrainingRun.java",
           "if (done != null && done.verified()) return new TrainingRun(this, id, null, done);", "",
           "CheckpointIntegrityTest", "a finished run resumed trains its last steps again"),
    Mutant("answers-by-leading-digits", TRAIN + "eval/Answers.java",
           "if (m.matches()) {", "if (m.lookingAt()) {",
           "AnswersTest", "1/3 matches 1/2 by its leading digit"),
    # --- the kernels (issue 32's survivors 3 and 4 first)
    Mutant("avx2-no-max-subtraction", ROW,
           "const float cmax = hmax(cm);",
           "const float cmax = VL == 8 ? (hmax(cm) > -INFINITY ? 0.0f : -INFINITY) : hmax(cm);",
           "CeMixEdgeCasesTest,EntropyTest", "the AVX2 build exponentiates z instead of z - max"),
    Mutant("bf16-truncates", VEC,
           "    vu b = (vu)v;\n    b += 0x7FFFu + ((b >> 16) & 1u);",
           "    vu b = (vu)v;",
           "Bf16RoundingTest", "bf16 gradients truncated toward zero instead of rounded to nearest even"),
    Mutant("label-column-not-fixed", ROW,
           "        if (gs) store1(gs, y, (float)(ks * py_minus_1), bf16);",
           "",
           "CeMixTest", "the strong gradient lacks the -1 at the label"),
    Mutant("kernel-mu-equals-lambda", ROW,
           "const float lam = a->lambda, mu = 1.0f - a->lambda;", "const float lam = a->lambda, mu = a->lambda;",
           "CeMixTest", "the weak logits' weight is lambda, not 1 - lambda"),
    Mutant("ignored-rows-keep-garbage", ROW,
           "    if (!labelled) { /* cleared only now: in place, the statistics above read the row first */\n"
           "        if (a->loss) a->loss[r] = 0.0f;\n        row_fill(gs, V, 0.0f, bf16);",
           "    if (!labelled) { /* cleared only now: in place, the statistics above read the row first */\n"
           "        if (a->loss) a->loss[r] = 0.0f;",
           "CeMixTest", "an ignored row's strong gradient is left as it was (poison, or the logits in place)"),
    Mutant("entropy-sign", ROW,
           "(float)(log_sum - st.tsum / st.sum)", "(float)(log_sum + st.tsum / st.sum)",
           "CeMixTest,EntropyTest", "the entropy adds sum p(z - M) instead of subtracting it"),
    Mutant("sse2-chunk-rescale-lost", ROW,
           "                st.tsum = f * (st.tsum + shift * st.sum);\n                st.sum *= f;",
           "                st.tsum = f * (st.tsum + shift * st.sum);\n                if (VL != 4) st.sum *= f;",
           "CeMixTest,CeMixMaskedRowsTest", "the SSE2 build forgets to rescale the sum when a later chunk raises the max"),
    Mutant("zero-neighbour-slice-skipped", "native/torch/zero.cpp",
           "            if (r == g.rank) continue;\n            const auto [lo, hi]",
           "            if (r == g.rank || r == (g.rank + 1) % g.world) continue;\n            const auto [lo, hi]",
           "ZeroTest", "ZeRO 1 all-gathers the updated parameters but drops one rank's slice (stale there)"),
    Mutant("zero-shard-names-collide", TRAIN + "loop/Checkpointer.java",
           "TorchModel.OptimizerShard.fileName(parallel.rank(), parallel.worldSize())",
           "TorchModel.OptimizerShard.fileName(0, parallel.worldSize())",
           "ZeroRunTest", "every rank writes its optimizer shard under rank 0's name: one shard survives"),
]


def run(cmd, env=None, log=None, cwd=None):
    with open(log, "w") if log else open(os.devnull, "w") as out:
        return subprocess.run(cmd, cwd=cwd or TREE, env=env, stdout=out, stderr=subprocess.STDOUT).returncode


def mvn(args, env, log):
    m2 = os.path.join(ROOT, ".m2", "repository")
    base = ["mvn", "-o", "-B", "-ntp", "-Dstyle.color=never", f"-Dmaven.repo.local={m2}", "-f",
            os.path.join(TREE, "pom.xml"), "-pl", "java/kernels,java/runtime,java/train"]
    return run(base + args, env=env, log=log)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    chosen = [m for m in MUTANTS if not a.only or m.name in a.only.split(",")]
    if a.list:
        for m in MUTANTS:
            print(f"{m.name:32} {m.tests:34} {m.why}")
        return 0
    if not os.path.isfile(os.path.join(NATIVES, "libwmss_torch.so")):
        sys.exit("mutants: build the checkout first (./wmss.sh build): " + NATIVES + " is missing")
    shutil.rmtree(SCRATCH, ignore_errors=True)
    os.makedirs(TREE)
    subprocess.run(f"git -C '{ROOT}' archive HEAD | tar -x -C '{TREE}'", shell=True, check=True)
    env = dict(os.environ)
    env["MAVEN_OPTS"] = env.get("MAVEN_OPTS", "") + " --sun-misc-unsafe-memory-access=allow"
    java_home = subprocess.run(["bash", "-c", f"source '{ROOT}/scripts/env.sh' >/dev/null && echo $JAVA_HOME"],
                               capture_output=True, text=True).stdout.strip()
    env["JAVA_HOME"] = java_home
    env["PATH"] = os.path.join(java_home, "bin") + os.pathsep + env["PATH"]
    logs = os.path.join(SCRATCH, "logs")
    os.makedirs(logs)

    # the mutants' natives: libwmss of the scratch tree beside this checkout's libwmss_torch
    build = os.path.join(SCRATCH, "build")
    mutant_natives = os.path.join(SCRATCH, "natives")
    shutil.copytree(NATIVES, mutant_natives)
    if any(m.native for m in chosen):
        print("mutants: configuring the scratch native build (libwmss" + (" and libwmss_torch" if any(m.torch for m in chosen)
              else " only") + ")", flush=True)
        if run(["cmake", "-S", TREE, "-B", build, "-DCMAKE_BUILD_TYPE=Release"], log=os.path.join(logs, "cmake.log")):
            sys.exit("mutants: cmake failed, see " + os.path.join(logs, "cmake.log"))

    torch = any(m.torch for m in chosen)

    def natives_of_tree(tag):
        targets = ["wmss"] + (["wmss_torch"] if torch else [])
        if run(["cmake", "--build", build, "--target", *targets, "--parallel", "2"], log=os.path.join(logs, tag + "-cmake.log")):
            return False
        for t in targets:
            shutil.copy(os.path.join(build, f"lib{t}.so"), os.path.join(mutant_natives, f"lib{t}.so"))
        return True

    def tests(pattern, tag):
        e = dict(env, WMSS_LIBRARY_PATH=mutant_natives)
        return mvn(["test", "-Dtest=" + pattern, "-Dsurefire.failIfNoSpecifiedTests=false"], e, os.path.join(logs, tag + ".log"))

    stale = [f"{m.name}: the text to mutate occurs {open(os.path.join(TREE, m.file)).read().count(m.old)} times in {m.file}"
             for m in chosen if open(os.path.join(TREE, m.file)).read().count(m.old) != 1]
    if stale:  # every mutant's text is checked before any build or test: a stale one is fixed first
        sys.exit("mutants: " + "\n         ".join(stale))
    patterns = sorted({t for m in chosen for t in m.tests.split(",")})
    print(f"mutants: the targeted tests without a mutant ({', '.join(patterns)})", flush=True)
    if any(m.native for m in chosen) and not natives_of_tree("baseline"):
        sys.exit("mutants: the scratch native build failed")
    t0 = time.time()
    if tests(",".join(patterns), "baseline"):
        sys.exit("mutants: the targeted tests fail without a mutant: see " + os.path.join(logs, "baseline.log"))
    print(f"mutants: baseline green ({time.time() - t0:.0f} s)", flush=True)

    survived = []
    for m in chosen:
        path = os.path.join(TREE, m.file)
        original = open(path).read()
        old, new = m.old, m.new
        if original.count(old) != 1:
            sys.exit(f"mutants: {m.name}: the text to mutate occurs {original.count(old)} times in {m.file}")
        open(path, "w").write(original.replace(old, new))
        t0 = time.time()
        try:
            if m.native and not natives_of_tree(m.name):
                verdict = "NOT BUILT (fix the mutant)"
            elif tests(m.tests, m.name) == 0:
                verdict = "SURVIVED"
            else:  # killed only by a failing test, not by a compilation error
                log = open(os.path.join(logs, m.name + ".log")).read()
                failed = re.search(r"Tests run:.*(Failures: [1-9]|Errors: [1-9])", log)
                verdict = "killed" if failed else "NOT BUILT (fix the mutant)"
        finally:
            open(path, "w").write(original)
        if verdict != "killed":
            survived.append(m.name)
        print(f"{m.name:32} {verdict:24} {time.time() - t0:5.0f} s  {m.tests}  ({m.why})", flush=True)
    if any(m.native for m in chosen):
        natives_of_tree("restored")
    print(f"mutants: {len(chosen) - len(survived)} of {len(chosen)} killed"
          + (f"; not killed: {', '.join(survived)}" if survived else ""))
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())

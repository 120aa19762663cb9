package dev.wmss.train.cli;

/**
 * A command whose results are meant to be the same on any x86-64 CPU with AVX2 (the demo, the experiment): Main applies
 * {@link dev.wmss.runtime.ReproducibleCpu} before anything loads libtorch, unless the command's --no-reproducible.
 */
interface ReproducibleCommand {
    boolean reproducible();
}

package dev.wmss.train.cli;

import dev.wmss.train.loop.Shutdown;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * {@code wmss-native launch --nproc N -- <subcommand ...>}: starts N ranks of a data-parallel job on this machine,
 * each a JVM of this application (or, with {@code --exec}, any program) with torchrun's variables, prefixes their
 * output with {@code [rank k]}, and stops them all (exit code of the first failure) as soon as one fails. Its ranks
 * get {@link Shutdown#LAUNCHER_PID_ENV}: a rank of this application stops when the launcher is gone.
 */
@Command(name = "launch", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Run a data-parallel job: N ranks on this machine, one JVM each, as torchrun starts them.",
                "Each rank gets torchrun's variables RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, GROUP_RANK,",
                "MASTER_ADDR and MASTER_PORT.",
                "Output lines are prefixed with [rank k]. When a rank fails the others are stopped and launch exits",
                "with its code; Ctrl-C stops every rank (they checkpoint), and ranks stop by themselves when the",
                "launcher dies (even by SIGKILL). On several machines run launch on each with --nnodes,",
                "--node-rank and the first node's --master-addr (or set the variables yourself, e.g. from Slurm)."},
        footer = {"", "Examples:",
                "  wmss-native launch --nproc 2 -- sft --model m0 --data d.jsonl --out runs/sft",
                "  wmss-native launch --nnodes 2 --node-rank 0 --nproc 4 --master-addr 10.0.0.1 -- wmss ...",
                "  wmss-native launch --nproc 2 --exec -- java -cp my.jar my.Main"})
final class LaunchCommand implements Callable<Integer> {
    @Option(names = "--nproc", required = true, paramLabel = "N", description = "Ranks on this machine.")
    int nproc;

    @Option(names = "--nnodes", defaultValue = "1", paramLabel = "M", description = "Machines in the job (default: ${DEFAULT-VALUE}).")
    int nnodes;

    @Option(names = "--node-rank", defaultValue = "0", paramLabel = "I", description = "This machine's index in [0, M) (default: ${DEFAULT-VALUE}).")
    int nodeRank;

    @Option(names = "--master-addr", defaultValue = "127.0.0.1", paramLabel = "HOST",
            description = "Address of the machine with rank 0 (default: ${DEFAULT-VALUE}).")
    String masterAddr;

    @Option(names = "--master-port", paramLabel = "PORT",
            description = "Rendezvous port on the master (default: a free port on one machine, 29500 on several).")
    Integer masterPort;

    @Option(names = "--exec", description = "Run COMMAND as a program instead of a subcommand of this application.")
    boolean exec;

    @Option(names = "--jvm-arg", paramLabel = "ARG",
            description = "JVM option for every rank (repeatable; default: this JVM's own options).")
    List<String> jvmArgs;

    @Option(names = "--grace", defaultValue = "30", paramLabel = "SECONDS",
            description = "Time ranks get to stop (e.g. to checkpoint on Ctrl-C) before they are killed (default: ${DEFAULT-VALUE}).")
    double grace;

    @Parameters(arity = "1..*", paramLabel = "COMMAND", description = "After --: the subcommand and its options (or, with --exec, a program).")
    List<String> command;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    private final List<Process> ranks = new ArrayList<>();
    private final Object printLock = new Object();

    @Override
    public Integer call() throws Exception {
        if (nproc < 1) throw new CommandLine.ParameterException(spec.commandLine(), "--nproc must be >= 1");
        if (nnodes < 1 || nodeRank < 0 || nodeRank >= nnodes) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--node-rank must be in [0, --nnodes)");
        }
        if (!(grace >= 0)) throw new CommandLine.ParameterException(spec.commandLine(), "--grace must be >= 0");
        int port = masterPort != null ? masterPort : nnodes == 1 ? freePort() : 29500;
        int world = nproc * nnodes;
        List<String> argv = childCommand();
        String threads = System.getenv("OMP_NUM_THREADS");
        if (threads == null && nproc > 1) {
            threads = String.valueOf(Math.max(1, Runtime.getRuntime().availableProcessors() / nproc));
        }
        System.err.printf("launch: ranks %d..%d of %d at %s:%d%s: %s%n", nodeRank * nproc, nodeRank * nproc + nproc - 1,
                world, masterAddr, port, threads == null ? "" : ", OMP_NUM_THREADS=" + threads, String.join(" ", command));
        Runnable stop = () -> stopAll(null);
        Shutdown.onShutdown(stop); // Ctrl-C or kill: take the ranks down too (SIGKILL: they notice it themselves)
        BlockingQueue<Integer> exited = new LinkedBlockingQueue<>();
        List<Thread> pumps = new ArrayList<>();
        try {
            for (int local = 0; local < nproc; local++) {
                int rank = nodeRank * nproc + local;
                ProcessBuilder pb = new ProcessBuilder(argv);
                Map<String, String> env = pb.environment();
                env.put("RANK", String.valueOf(rank));
                env.put("LOCAL_RANK", String.valueOf(local));
                env.put("WORLD_SIZE", String.valueOf(world));
                env.put("LOCAL_WORLD_SIZE", String.valueOf(nproc));
                env.put("GROUP_RANK", String.valueOf(nodeRank));
                env.put("MASTER_ADDR", masterAddr);
                env.put("MASTER_PORT", String.valueOf(port));
                env.put(Shutdown.LAUNCHER_PID_ENV, String.valueOf(ProcessHandle.current().pid()));
                if (threads != null) env.put("OMP_NUM_THREADS", threads);
                Process p;
                synchronized (ranks) {
                    p = pb.start();
                    ranks.add(p);
                }
                int index = local;
                p.onExit().thenRun(() -> exited.add(index));
                pumps.add(pump(p.getInputStream(), System.out, rank));
                pumps.add(pump(p.getErrorStream(), System.err, rank));
            }
            int code = 0;
            for (int done = 0; done < nproc; done++) {
                int local = exited.take();
                int c = ranks.get(local).exitValue();
                if (c != 0 && code == 0) {
                    code = c;
                    System.err.printf("launch: rank %d exited with code %d; stopping the other ranks%n", nodeRank * nproc + local, c);
                    stopAll(ranks.get(local));
                }
            }
            for (Thread t : pumps) t.join(2000); // a grandchild may still hold a pipe: never wait on it for long
            if (code == 0) System.err.printf("launch: all %d ranks finished%n", nproc);
            return code;
        } finally {
            stopAll(null);
            Shutdown.removeOnShutdown(stop);
        }
    }

    /** This application again (same Java, class path and JVM options) or, with --exec, the command as given. */
    private List<String> childCommand() {
        if (exec) return List.copyOf(command);
        List<String> argv = new ArrayList<>();
        argv.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> options = jvmArgs != null ? jvmArgs : ManagementFactory.getRuntimeMXBean().getInputArguments();
        for (String o : options) {
            // a debugger agent would try to bind the same port N times
            if (!o.startsWith("-agentlib:") && !o.startsWith("-javaagent:") && !o.startsWith("-Xrunjdwp")) argv.add(o);
        }
        argv.add("-cp");
        argv.add(System.getProperty("java.class.path"));
        argv.add(Main.class.getName());
        argv.addAll(command);
        return argv;
    }

    /** Copies a rank's stream line by line with its prefix. */
    private Thread pump(InputStream in, PrintStream out, int rank) {
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                String prefix = "[rank " + rank + "] ";
                for (String line; (line = r.readLine()) != null; ) {
                    synchronized (printLock) {
                        out.println(prefix + line);
                    }
                }
            } catch (IOException e) {
                // the rank is gone
            }
        }, "wmss-launch-rank" + rank);
        t.setDaemon(true);
        t.start();
        return t;
    }

    /** Asks every live rank (and what it started) to stop, then kills what is left after the grace period. */
    private void stopAll(Process except) {
        List<ProcessHandle> live = new ArrayList<>();
        synchronized (ranks) {
            for (Process p : ranks) {
                if (p == except || !p.isAlive()) continue;
                live.add(p.toHandle()); // the rank first, so it cannot carry on when what it started dies
                p.descendants().forEach(live::add); // listed now: once the rank is gone they are orphans
            }
        }
        if (live.isEmpty()) return;
        live.forEach(ProcessHandle::destroy);
        long deadline = System.nanoTime() + (long) (grace * 1e9);
        for (ProcessHandle h : live) {
            try {
                h.onExit().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (Exception timedOutOrInterrupted) {
                h.destroyForcibly();
            }
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}

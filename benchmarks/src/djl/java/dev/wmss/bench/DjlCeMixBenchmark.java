package dev.wmss.bench;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import org.openjdk.jmh.annotations.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The same op as {@link CeMixBenchmark} written the way a Java user of DJL's PyTorch engine (libtorch 2.7.1, CPU,
 * its default threads) would: mix, upcast to fp32, logSoftmax, gather the labels' log-probabilities, masked mean,
 * autograd backward to both logit arrays. Inputs are DJL arrays made once; the timed region is forward + backward +
 * reading the loss. fp32 only: DJL 0.36's PyTorch engine ends the JVM ("terminate called without an active
 * exception", exit 134) on creating or casting to any BFLOAT16 array. Built with -Pdjl (benchmarks/run.sh).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Dai.djl.offline=true", "-Xmx2g"})
public class DjlCeMixBenchmark {
    @Param({"2048x32000", "512x151936"})
    public String shape;
    @Param({"F32"})
    public String dtype;

    private NDManager manager;
    private NDArray strong, weak, labels, mask;
    private float invNorm;

    @Setup(Level.Trial)
    public void setup() {
        String[] nv = shape.split("x");
        int rows = Integer.parseInt(nv[0]), vocab = Integer.parseInt(nv[1]);
        manager = NDManager.newBaseManager();
        System.out.println("# DJL " + Engine.getInstance().getEngineName() + " " + Engine.getInstance().getVersion());
        ByteBuffer s = ByteBuffer.allocateDirect(4 * rows * vocab).order(ByteOrder.nativeOrder());
        ByteBuffer w = ByteBuffer.allocateDirect(4 * rows * vocab).order(ByteOrder.nativeOrder());
        long[] y = new long[rows];
        float[] m = new float[rows];
        int supervised = 0;
        for (int r = 0; r < rows; r++) {
            SplittableRandom rnd = new SplittableRandom(r);
            for (int v = 0; v < vocab; v++) {
                s.putFloat((float) (rnd.nextGaussian() * 2));
                w.putFloat((float) (rnd.nextGaussian() * 2));
            }
            boolean ignored = rnd.nextInt(10) == 0;
            y[r] = ignored ? 0 : rnd.nextInt(vocab);
            m[r] = ignored ? 0 : 1;
            supervised += ignored ? 0 : 1;
        }
        s.flip();
        w.flip();
        Shape sh = new Shape(rows, vocab);
        DataType dt = dtype.equals("BF16") ? DataType.BFLOAT16 : DataType.FLOAT32;
        strong = manager.create(s, sh, DataType.FLOAT32).toType(dt, false);
        weak = manager.create(w, sh, DataType.FLOAT32).toType(dt, false);
        strong.setRequiresGradient(true);
        weak.setRequiresGradient(true);
        labels = manager.create(y, new Shape(rows, 1));
        mask = manager.create(m);
        invNorm = 1f / Math.max(1, supervised);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        manager.close();
    }

    @Benchmark
    public float ceMix() {
        try (NDManager step = manager.newSubManager();
             GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            strong.tempAttach(step); // intermediates of this step are freed with it
            weak.tempAttach(step);
            NDArray zs = strong.toType(DataType.FLOAT32, false), zw = weak.toType(DataType.FLOAT32, false);
            NDArray logp = zs.mul(0.5f).add(zw.mul(0.5f)).logSoftmax(-1);
            NDArray loss = logp.gather(labels, 1).squeeze(1).mul(mask).sum().mul(-invNorm);
            gc.backward(loss);
            float l = loss.getFloat();
            // the gradients exist (what a training step would read next)
            if (strong.getGradient().getShape().size() != weak.getGradient().getShape().size()) throw new AssertionError();
            return l;
        }
    }
}

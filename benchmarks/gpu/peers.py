#!/usr/bin/env python3
"""The ce_mix loss and both gradients in PyTorch, timed like benchmarks/gpu/ce_mix_check.cu: the peers of issue 22.

    python3 benchmarks/gpu/peers.py [--tsv FILE] [--budget SECONDS] [--reps N]

Per shape (8192x128256, 4096x151936, 16384x32000, then 2x262144 and 4x300000) and dtype (bf16 first):
  eager    z = lam * zs.float() + (1 - lam) * zw.float(); F.cross_entropy(z, y, ignore_index=-100, reduction="sum")
           * inv_norm; torch.autograd.grad(loss, (zs, zw)) (the gradients come back in the inputs' dtype);
  compile  the same loss function under torch.compile (mode default, dynamic=False, a fresh compile per shape and
           dtype); its compile time (first forward + backward, wall clock) is reported separately;
  liger    the eager mix, then Liger's fused cross-entropy (LigerCrossEntropyLoss), if liger_kernel imports.
Only what the loss needs is timed: forward and both gradients. CUDA events around each call, 3 warm-up calls, the
median of --reps (200 for the small shapes); inputs are random and rotated over enough sets to exceed 4x the L2
cache. Shapes that no longer fit the time budget are reported as skipped. TSV lines: peer, impl, shape, dtype, ms,
compile seconds.
"""
import argparse
import sys
import time

SHAPES = [(8192, 128256), (4096, 151936), (16384, 32000), (2, 262144), (4, 300000)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tsv")
    ap.add_argument("--budget", type=float, default=100.0)
    ap.add_argument("--reps", type=int, default=30)
    args = ap.parse_args()
    start = time.time()
    import torch
    import torch.nn.functional as F

    out = open(args.tsv, "a") if args.tsv else None

    def emit(impl, shape, dtype, ms, compile_s=float("nan")):
        line = f"peer\t{impl}\t{shape[0]}x{shape[1]}\t{dtype}\t{ms:.5f}\t{compile_s:.2f}"
        if out:
            out.write(line + "\n")
            out.flush()

    dev = torch.device("cuda")
    props = torch.cuda.get_device_properties(dev)
    l2 = getattr(props, "L2_cache_size", 50 << 20)
    print(f"### peers: torch {torch.__version__} on {props.name}; triton "
          f"{getattr(__import__('triton'), '__version__', '?') if _has('triton') else 'absent'}")
    try:
        from liger_kernel.transformers import LigerCrossEntropyLoss
        liger = LigerCrossEntropyLoss(ignore_index=-100, reduction="sum")
        print("liger_kernel: importable, timed")
    except Exception as e:  # not installed on the GPU machine
        liger = None
        print(f"liger_kernel: not importable ({type(e).__name__}: {e}); Liger CE skipped")
    import torch._dynamo
    for name in ("cache_size_limit", "recompile_limit"):
        if hasattr(torch._dynamo.config, name):
            setattr(torch._dynamo.config, name, 64)

    lam = 0.5

    def loss_fn(zs, zw, y, inv_norm):
        z = lam * zs.float() + (1.0 - lam) * zw.float()
        return F.cross_entropy(z, y, ignore_index=-100, reduction="sum") * inv_norm

    def liger_fn(zs, zw, y, inv_norm):
        z = lam * zs.float() + (1.0 - lam) * zw.float()
        return liger(z, y) * inv_norm

    def timed(fn, sets, reps):
        def call(i):
            zs, zw, y, k = sets[i % len(sets)]
            return torch.autograd.grad(fn(zs, zw, y, k), (zs, zw))
        for i in range(3):
            call(i)
        torch.cuda.synchronize()
        ev = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(reps)]
        for i in range(reps):
            ev[i][0].record()
            g = call(i)
            ev[i][1].record()
            del g
        torch.cuda.synchronize()
        ms = sorted(a.elapsed_time(b) for a, b in ev)
        return ms[len(ms) // 2]

    print("\n| peer | rows x vocab | dtype | median ms | compile s |\n|---|---|---|---:|---:|")
    # bf16 at the large shapes first (issue 22's torch.compile target), then fp32, then the long rows
    order = [(s, "bf16") for s in SHAPES[:3]] + [(s, "f32") for s in SHAPES[:3]] + \
            [(s, d) for s in SHAPES[3:] for d in ("bf16", "f32")]
    for (rows, vocab), dtype_name in order:
        dtype = torch.bfloat16 if dtype_name == "bf16" else torch.float32
        shape = (rows, vocab)
        n_bytes = 4 * rows * vocab * (2 if dtype_name == "bf16" else 4)
        nsets = max(1, min(64, -(-4 * l2 // n_bytes)))
        reps = args.reps if rows * vocab >= 100_000_000 else 200
        gen = torch.Generator(device=dev).manual_seed(rows * 31 + vocab)
        sets = []
        for _ in range(nsets):
            zs = (3 * torch.randn(rows, vocab, device=dev, generator=gen)).to(dtype).requires_grad_()
            zw = (3 * torch.randn(rows, vocab, device=dev, generator=gen) + 0.25).to(dtype).requires_grad_()
            y = torch.randint(0, vocab, (rows,), device=dev, generator=gen)
            y[3::5] = -100
            sets.append((zs, zw, y, 1.0 / max(1, int((y != -100).sum()))))
        impls = [("eager", loss_fn), ("compile", None)] + ([("liger", liger_fn)] if liger else [])
        for impl, fn in impls:
            left = args.budget - (time.time() - start)
            if left < (25 if impl == "compile" else 3):
                print(f"| {impl} | {rows}x{vocab} | {dtype_name} | skipped: time budget | |")
                continue
            try:
                compile_s = float("nan")
                if impl == "compile":
                    torch._dynamo.reset()
                    fn = torch.compile(loss_fn, dynamic=False)
                    t0 = time.time()
                    zs, zw, y, k = sets[0]
                    torch.autograd.grad(fn(zs, zw, y, k), (zs, zw))
                    torch.cuda.synchronize()
                    compile_s = time.time() - t0
                ms = timed(fn, sets, reps)
                emit(impl, shape, dtype_name, ms, compile_s)
                cs = f"{compile_s:.1f}" if impl == "compile" else ""
                print(f"| {impl} | {rows}x{vocab} | {dtype_name} | {ms:.4f} | {cs} |")
            except Exception as e:  # report and go on
                print(f"| {impl} | {rows}x{vocab} | {dtype_name} | FAILED: {type(e).__name__}: {str(e)[:200]} | |")
            sys.stdout.flush()
        del sets
        torch.cuda.empty_cache()
    print(f"\npeers: {time.time() - start:.0f} s")


def _has(mod):
    try:
        __import__(mod)
        return True
    except Exception:
        return False


if __name__ == "__main__":
    main()

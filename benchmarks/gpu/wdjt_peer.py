#!/usr/bin/env python3
"""The WD-JT training step in PyTorch eager, the peer of `bench-step`: two Hugging Face Qwen3 models of the same
shape (Qwen3-0.6B's by default), bf16 autocast over fp32 master weights, one fused AdamW over both models, one clip
over their joint gradient norm, the mixed-logit loss (z = lam*z_strong + (1-lam)*z_weak, cross-entropy of the next
token, mean over supervised tokens). Median of --steps steps after 2 warm-up steps, timed with CUDA events; peak
memory from torch.cuda.max_memory_allocated. Prints a table and one JSON line.

    python3 benchmarks/gpu/wdjt_peer.py [--batch 8] [--seq 1024] [--steps 6] [--layers 28]
"""
import argparse
import json
import statistics

import torch
import torch.nn.functional as F
from transformers import Qwen3Config, Qwen3ForCausalLM


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=1024)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--layers", type=int, default=28)
    ap.add_argument("--vocab", type=int, default=151936)
    ap.add_argument("--lam", type=float, default=0.5)
    a = ap.parse_args()
    cfg = Qwen3Config(vocab_size=a.vocab, hidden_size=1024, intermediate_size=3072, num_hidden_layers=a.layers,
                      num_attention_heads=16, num_key_value_heads=8, head_dim=128, max_position_embeddings=40960,
                      rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=True)
    cfg._attn_implementation = "sdpa"
    dev = torch.device("cuda")
    torch.manual_seed(0)
    with dev:
        strong, weak = Qwen3ForCausalLM(cfg).float(), Qwen3ForCausalLM(cfg).float()
    params = list(strong.parameters()) + list(weak.parameters())
    opt = torch.optim.AdamW(params, lr=1e-5, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, fused=True)
    ids = torch.randint(0, a.vocab, (a.batch, a.seq), device=dev)
    labels = torch.cat([ids[:, 1:], torch.full((a.batch, 1), -100, device=dev)], 1)

    def step():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            zs = strong(input_ids=ids).logits
            zw = weak(input_ids=ids).logits
            z = a.lam * zs.float() + (1 - a.lam) * zw.float()
            loss = F.cross_entropy(z.view(-1, a.vocab), labels.view(-1), ignore_index=-100)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    for _ in range(2):
        step()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(a.steps):
        t0, t1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        t0.record()
        step()
        t1.record()
        torch.cuda.synchronize()
        times.append(t0.elapsed_time(t1))
    ms = statistics.median(times)
    peak = torch.cuda.max_memory_allocated() / 2**30
    tok = a.batch * a.seq / (ms / 1e3)
    print(f"peer eager: median {ms:.1f} ms per step (min {min(times):.1f}, max {max(times):.1f}), {tok:.0f} tokens/s, "
          f"peak {peak:.2f} GiB ({torch.cuda.get_device_name()}, torch {torch.__version__})")
    print(json.dumps({"peer": "pytorch-eager-hf", "batch": a.batch, "seq": a.seq, "ms_per_step": round(ms, 3),
                      "tokens_per_s": round(tok, 1), "peak_gib": round(peak, 3), "torch": torch.__version__}))


if __name__ == "__main__":
    main()

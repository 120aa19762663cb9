#!/usr/bin/python3
"""The PyTorch-eager twin of benchmarks/model/wdjt_step.cpp: the same decoder (native/torch/model.cpp's
architecture: RMSNorm, RoPE on rotated halves, grouped-query attention with q/k norms, SwiGLU, tied or untied head),
the same tokens, the same WD-JT step written the way a PyTorch user would write it: z_mix = lambda * z_strong +
(1 - lambda) * z_weak, F.cross_entropy(ignore_index=-100), loss.backward(), clip_grad_norm_ per model,
torch.optim.AdamW. --sft: one model, plain cross-entropy. fp32 on the CPU.

Run with Debian's python3-torch 1.13 (apt-get install -y python3-torch), same threads as the native side:
    OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 benchmarks/model/torch_twin.py --threads 2
Prints one line of key=value pairs like wdjt_step (side=torch).
"""
import argparse
import json
import math
import time

import torch
import torch.nn.functional as F
from torch import nn


class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    a, b = x.chunk(2, -1)
    return torch.cat([-b, a], -1)


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        H, hd = c["hidden_size"], c["head_dim"]
        self.nh, self.nkv, self.hd = c["num_attention_heads"], c["num_key_value_heads"], hd
        bias = c.get("attention_bias", c["model_type"] == "qwen2")
        self.q_proj = nn.Linear(H, self.nh * hd, bias=bias)
        self.k_proj = nn.Linear(H, self.nkv * hd, bias=bias)
        self.v_proj = nn.Linear(H, self.nkv * hd, bias=bias)
        self.o_proj = nn.Linear(self.nh * hd, H, bias=False)
        self.qk_norm = c["model_type"] == "qwen3"
        if self.qk_norm:
            self.q_norm, self.k_norm = RMSNorm(hd, c["rms_norm_eps"]), RMSNorm(hd, c["rms_norm_eps"])
        self.input_layernorm = RMSNorm(H, c["rms_norm_eps"])
        self.post_attention_layernorm = RMSNorm(H, c["rms_norm_eps"])
        self.gate_proj = nn.Linear(H, c["intermediate_size"], bias=False)
        self.up_proj = nn.Linear(H, c["intermediate_size"], bias=False)
        self.down_proj = nn.Linear(c["intermediate_size"], H, bias=False)

    def attention(self, x, cos, sin, bias):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.nh, self.hd)
        k = self.k_proj(x).view(B, T, self.nkv, self.hd)
        v = self.v_proj(x).view(B, T, self.nkv, self.hd)
        if self.qk_norm:
            q, k = self.q_norm(q), self.k_norm(k)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if self.nkv != self.nh:
            k = k.repeat_interleave(self.nh // self.nkv, 1)
            v = v.repeat_interleave(self.nh // self.nkv, 1)
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.hd) + bias
        out = torch.softmax(scores, -1) @ v
        return self.o_proj(out.transpose(1, 2).reshape(B, T, self.nh * self.hd))

    def forward(self, x, cos, sin, bias):
        x = x + self.attention(self.input_layernorm(x), cos, sin, bias)
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class Decoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList(Layer(c) for _ in range(c["num_hidden_layers"]))
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.lm_head = None if c.get("tie_word_embeddings") else nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
        for name, p in self.named_parameters():  # normal(0, 0.02), norms 1, biases 0: as the native init
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)
            elif "bias" in name:
                nn.init.zeros_(p)

    def forward(self, ids, mask):
        T = ids.shape[1]
        x = self.embed_tokens(ids)
        pos = (mask.cumsum(1) - 1).clamp_min(0).double()
        hd = self.c["head_dim"]
        inv_freq = 1.0 / self.c["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd)
        freqs = pos.unsqueeze(-1) * inv_freq
        emb = torch.cat([freqs, freqs], -1).unsqueeze(1)
        cos, sin = emb.cos().float(), emb.sin().float()
        allowed = torch.ones(T, T, dtype=torch.bool).tril().unsqueeze(0) & mask.bool().unsqueeze(1)
        bias = torch.where(allowed, torch.zeros(()), torch.full((), -1e9)).unsqueeze(1)
        for layer in self.layers:
            x = layer(x, cos, sin, bias)
        x = self.norm(x)
        return F.linear(x, self.embed_tokens.weight if self.lm_head is None else self.lm_head.weight)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="benchmarks/model/model-10m.json")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--lambda", dest="lam", type=float, default=0.5)
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: leave torch's default)")
    ap.add_argument("--sft", action="store_true")
    a = ap.parse_args()
    c = json.load(open(a.config))
    c.setdefault("head_dim", c["hidden_size"] // c["num_attention_heads"])
    c.setdefault("num_key_value_heads", c["num_attention_heads"])
    c.setdefault("rms_norm_eps", 1e-6)
    c.setdefault("rope_theta", 10000.0)
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    models = [Decoder(c) for _ in range(1 if a.sft else 2)]
    opts = [torch.optim.AdamW(m.parameters(), lr=1e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1) for m in models]
    V, n = c["vocab_size"], a.batch * a.seq
    idx = torch.arange(n, dtype=torch.int64)
    ids = ((idx * 7919) % V).view(a.batch, a.seq)
    labels = (idx * 104729 + 1) % V
    mask = torch.ones(a.batch, a.seq, dtype=torch.int64)
    lam = 1.0 if a.sft else a.lam

    def step():
        z = [m(ids, mask) for m in models]
        mixed = z[0] if a.sft else lam * z[0] + (1 - lam) * z[1]
        loss = F.cross_entropy(mixed.view(-1, V), labels, ignore_index=-100)
        loss.backward()
        for m, o in zip(models, opts):
            torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
            o.step()
            o.zero_grad()
        return loss.item()

    for _ in range(a.warmup):
        step()
    ms = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        loss = step()
        ms.append((time.perf_counter() - t0) * 1e3)
    ms.sort()
    params = sum(p.numel() for p in models[0].parameters())
    print(f"side=torch head=eager models={len(models)} params={params} vocab={V} tokens={n} "
          f"intra_op={torch.get_num_threads()} ms_median={ms[len(ms) // 2]:.2f} ms_min={ms[0]:.2f} "
          f"ms_max={ms[-1]:.2f} tok_s={n / ms[len(ms) // 2] * 1e3:.0f} loss={loss:.5f} torch={torch.__version__}")


if __name__ == "__main__":
    main()

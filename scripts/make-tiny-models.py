#!/usr/bin/python3
"""Writes the tiny test checkpoints and their expected logits (java/runtime/src/test/resources/models/).

Run with Debian's python3-torch 1.13 (apt-get install python3-torch):  /usr/bin/python3 scripts/make-tiny-models.py
The forward pass here is written independently of native/torch/model.cpp: rotary embeddings as complex rotations
of (x[i], x[i + d/2]) pairs, attention with explicit loops over heads, RMSNorm in float64. The safetensors files are
written by hand (struct + json), so the C++ reader is checked against the format, not against itself.
"""
import json
import math
import pathlib
import struct

import torch

OUT = pathlib.Path(__file__).resolve().parent.parent / "java/runtime/src/test/resources/models"

MODELS = {
    "tiny-qwen3": dict(model_type="qwen3", vocab_size=97, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=2, head_dim=16, rms_norm_eps=1e-6,
                       rope_theta=10000.0, tie_word_embeddings=False, storage="F32"),
    "tiny-llama": dict(model_type="llama", vocab_size=61, hidden_size=24, intermediate_size=40, num_hidden_layers=2,
                       num_attention_heads=3, num_key_value_heads=3, rms_norm_eps=1e-5, rope_theta=500000.0,
                       tie_word_embeddings=True, storage="BF16"),
}


def weights(c, gen):
    H, hd = c["hidden_size"], c.get("head_dim", c["hidden_size"] // c["num_attention_heads"])
    nq, nkv = c["num_attention_heads"] * hd, c["num_key_value_heads"] * hd
    r = lambda *s: torch.randn(*s, generator=gen) * 0.2
    w = {"model.embed_tokens.weight": r(c["vocab_size"], H), "model.norm.weight": 1 + r(H)}
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = 1 + r(H)
        w[p + "post_attention_layernorm.weight"] = 1 + r(H)
        w[p + "self_attn.q_proj.weight"] = r(nq, H)
        w[p + "self_attn.k_proj.weight"] = r(nkv, H)
        w[p + "self_attn.v_proj.weight"] = r(nkv, H)
        w[p + "self_attn.o_proj.weight"] = r(H, nq)
        if c["model_type"] == "qwen3":
            w[p + "self_attn.q_norm.weight"] = 1 + r(hd)
            w[p + "self_attn.k_norm.weight"] = 1 + r(hd)
        w[p + "mlp.gate_proj.weight"] = r(c["intermediate_size"], H)
        w[p + "mlp.up_proj.weight"] = r(c["intermediate_size"], H)
        w[p + "mlp.down_proj.weight"] = r(H, c["intermediate_size"])
    if not c["tie_word_embeddings"]:
        w["lm_head.weight"] = r(c["vocab_size"], H)
    if c["storage"] == "BF16":  # the model computes with what the file holds
        w = {k: v.to(torch.bfloat16).to(torch.float32) for k, v in w.items()}
    return w


def write_safetensors(path, tensors, storage):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        if storage == "BF16":
            raw = (t.to(torch.bfloat16).view(torch.int16).numpy().tobytes())
        else:
            raw = t.to(torch.float32).numpy().tobytes()
        header[name] = {"dtype": storage, "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    path.write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def rms(x, w, eps):
    x64 = x.double()
    return (x64 / torch.sqrt((x64 * x64).mean(-1, keepdim=True) + eps)).float() * w


def rotate(x, pos, theta):
    """x [T, d]: pair i with i + d/2 as a complex number and turn it by pos * theta^(-2i/d)."""
    d = x.shape[-1]
    z = torch.complex(x[:, : d // 2].double(), x[:, d // 2:].double())
    angle = pos.double()[:, None] * (theta ** (-torch.arange(0, d, 2).double() / d))[None, :]
    z = z * torch.polar(torch.ones_like(angle), angle)
    return torch.cat([z.real, z.imag], -1).float()


def forward(c, w, ids, mask):
    H = c["hidden_size"]
    nh, nkv = c["num_attention_heads"], c["num_key_value_heads"]
    hd = c.get("head_dim", H // nh)
    eps = c["rms_norm_eps"]
    out = []
    for b in range(ids.shape[0]):
        T = ids.shape[1]
        pos = torch.clamp(torch.cumsum(mask[b], 0) - 1, min=0)
        x = w["model.embed_tokens.weight"][ids[b]]
        for i in range(c["num_hidden_layers"]):
            p = f"model.layers.{i}."
            h = rms(x, w[p + "input_layernorm.weight"], eps)
            q = (h @ w[p + "self_attn.q_proj.weight"].T).view(T, nh, hd)
            k = (h @ w[p + "self_attn.k_proj.weight"].T).view(T, nkv, hd)
            v = (h @ w[p + "self_attn.v_proj.weight"].T).view(T, nkv, hd)
            heads = []
            for a in range(nh):
                kv = a // (nh // nkv)
                qa, ka = q[:, a], k[:, kv]
                if c["model_type"] == "qwen3":
                    qa = rms(qa, w[p + "self_attn.q_norm.weight"], eps)
                    ka = rms(ka, w[p + "self_attn.k_norm.weight"], eps)
                qa, ka = rotate(qa, pos, c["rope_theta"]), rotate(ka, pos, c["rope_theta"])
                s = (qa @ ka.T) / math.sqrt(hd)
                allowed = torch.tril(torch.ones(T, T, dtype=torch.bool)) & (mask[b][None, :] == 1)
                s = torch.where(allowed, s, torch.tensor(-1e9))
                heads.append(torch.softmax(s, -1) @ v[:, kv])
            x = x + torch.cat(heads, -1) @ w[p + "self_attn.o_proj.weight"].T
            h = rms(x, w[p + "post_attention_layernorm.weight"], eps)
            g = h @ w[p + "mlp.gate_proj.weight"].T
            x = x + (g * torch.sigmoid(g) * (h @ w[p + "mlp.up_proj.weight"].T)) @ w[p + "mlp.down_proj.weight"].T
        x = rms(x, w["model.norm.weight"], eps)
        head = w["model.embed_tokens.weight"] if c["tie_word_embeddings"] else w["lm_head.weight"]
        out.append(x @ head.T)
    return torch.stack(out)


def main():
    gen = torch.Generator().manual_seed(1234)
    for name, c in MODELS.items():
        d = OUT / name
        d.mkdir(parents=True, exist_ok=True)
        w = weights(c, gen)
        config = {k: v for k, v in c.items() if k != "storage"}
        (d / "config.json").write_text(json.dumps(config, indent=2) + "\n")
        write_safetensors(d / "model.safetensors", w, c["storage"])
        ids = torch.randint(0, c["vocab_size"], (2, 7), generator=gen)
        mask = torch.ones(2, 7, dtype=torch.int64)
        mask[1, 5:] = 0  # right padding in the second sequence
        with torch.no_grad():
            logits = forward(c, w, ids, mask)
        (d / "expected.json").write_text(json.dumps({
            "torch": torch.__version__, "ids": ids.tolist(), "mask": mask.tolist(),
            "logits": [round(float(v), 7) for v in logits.flatten()]}) + "\n")
        print(f"{d}: logits {tuple(logits.shape)}")


if __name__ == "__main__":
    main()

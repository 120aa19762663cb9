#!/usr/bin/env python3
"""Reference outputs from an implementation nobody here wrote: Hugging Face transformers.

Saves a small random Qwen3 (tied head, q/k norms) and a Llama (untied head) with save_pretrained, and beside each:
ids.bin (int64 [batch, seq]), logits.bin (fp32 [batch*seq, vocab], from the model's forward in fp32),
reference.json (batch, seq, vocab, the mean next-token loss of one training step (labels = the ids, as the model's
own loss shifts them) and the global gradient norm of its backward, versions). `selfcheck --hf-reference DIR` loads
each directory with wmss-native on the CPU and the GPU and compares.

    python3 benchmarks/gpu/hf_reference.py OUT_DIR
"""
import json
import os
import sys

import torch
import transformers
from transformers import LlamaConfig, LlamaForCausalLM, Qwen3Config, Qwen3ForCausalLM

B, T, V = 2, 24, 1000


def build(kind):
    common = dict(vocab_size=V, hidden_size=64, intermediate_size=160, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, max_position_embeddings=256, rms_norm_eps=1e-6, rope_theta=10000.0,
                  initializer_range=0.1, attention_bias=False)
    if kind == "qwen3":
        return Qwen3ForCausalLM(Qwen3Config(head_dim=16, tie_word_embeddings=True, **common))
    return LlamaForCausalLM(LlamaConfig(tie_word_embeddings=False, **common))


def main(out):
    torch.manual_seed(20261204)
    for kind in ("qwen3", "llama"):
        model = build(kind).float()
        with torch.no_grad():  # norms away from 1 so that their weights matter
            for name, p in model.named_parameters():
                if p.dim() == 1:
                    p.uniform_(0.5, 1.5)
        d = os.path.join(out, kind)
        os.makedirs(d, exist_ok=True)
        model.save_pretrained(d)
        ids = torch.randint(0, V, (B, T))
        model.eval()
        with torch.no_grad():
            logits = model(input_ids=ids).logits.float()
        ids.numpy().astype("<i8").tofile(os.path.join(d, "ids.bin"))
        logits.reshape(B * T, V).numpy().astype("<f4").tofile(os.path.join(d, "logits.bin"))
        model.train()
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        norm = torch.sqrt(sum((p.grad.double() ** 2).sum() for p in model.parameters() if p.grad is not None))
        ref = {"batch": B, "seq": T, "vocab": V, "loss": loss.item(), "grad_norm": norm.item(),
               "transformers": transformers.__version__, "torch": torch.__version__, "model": kind}
        with open(os.path.join(d, "reference.json"), "w") as f:
            json.dump(ref, f, indent=1)
        print(f"hf_reference: {kind}: loss {ref['loss']:.6f}, gradient norm {ref['grad_norm']:.6f} -> {d}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "build/hf-reference")

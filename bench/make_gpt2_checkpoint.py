"""Writes a random GPT-2-shaped checkpoint in Hugging Face layout (HF names with the `transformer.` prefix, causal-mask
buffers, config.json), tensor by tensor, for the load benchmark (bench/load-checkpoint.ts).

usage: make_gpt2_checkpoint.py OUTDIR [--dtype F32|F16|BF16] [--layers 12] [--width 768] [--vocab 50257] [--positions 1024]
"""
import argparse
import json
import os
import struct

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--dtype", default="F32", choices=["F32", "F16", "BF16"])
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--width", type=int, default=768)
    ap.add_argument("--vocab", type=int, default=50257)
    ap.add_argument("--positions", type=int, default=1024)
    a = ap.parse_args()
    d, L, V, P = a.width, a.layers, a.vocab, a.positions
    shapes = {"transformer.wte.weight": [V, d], "transformer.wpe.weight": [P, d]}
    for i in range(L):
        p = f"transformer.h.{i}."
        shapes.update({
            p + "ln_1.weight": [d], p + "ln_1.bias": [d],
            p + "attn.bias": [1, 1, P, P],
            p + "attn.c_attn.weight": [d, 3 * d], p + "attn.c_attn.bias": [3 * d],
            p + "attn.c_proj.weight": [d, d], p + "attn.c_proj.bias": [d],
            p + "ln_2.weight": [d], p + "ln_2.bias": [d],
            p + "mlp.c_fc.weight": [d, 4 * d], p + "mlp.c_fc.bias": [4 * d],
            p + "mlp.c_proj.weight": [4 * d, d], p + "mlp.c_proj.bias": [d],
        })
    shapes["transformer.ln_f.weight"] = [d]
    shapes["transformer.ln_f.bias"] = [d]
    item = 4 if a.dtype == "F32" else 2
    header, offset = {}, 0
    for name, shape in shapes.items():
        n = int(np.prod(shape)) * item
        header[name] = {"dtype": a.dtype, "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    header["__metadata__"] = {"format": "pt"}
    hb = json.dumps(header).encode()
    hb += b" " * ((8 - len(hb) % 8) % 8)
    os.makedirs(a.out, exist_ok=True)
    rng = np.random.default_rng(0)
    tmp = os.path.join(a.out, "model.safetensors.partial")
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for name, shape in shapes.items():
            if name.endswith(".attn.bias"):
                x = np.tril(np.ones((P, P), dtype=np.float32)).reshape(shape)
            elif ".ln_" in name and name.endswith(".weight"):
                x = np.ones(shape, dtype=np.float32)
            else:
                x = (rng.standard_normal(shape, dtype=np.float32) * 0.02)
            if a.dtype == "F32":
                f.write(x.astype("<f4").tobytes())
            elif a.dtype == "F16":
                f.write(x.astype("<f2").tobytes())
            else:
                f.write((x.astype("<f4").view("<u4") >> 16).astype("<u2").tobytes())
    os.replace(tmp, os.path.join(a.out, "model.safetensors"))
    cfg = {"model_type": "gpt2", "vocab_size": V, "n_positions": P, "n_embd": d, "n_layer": L, "n_head": d // 64,
           "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5, "tie_word_embeddings": True}
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg, f)


if __name__ == "__main__":
    main()

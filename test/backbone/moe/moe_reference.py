"""Independent PyTorch reference of the kit's mixture-of-experts GPT-2 (written from Switch Transformer, Fedus et
al. 2021, and GShard, Lepikhin et al. 2020, with the kit's documented choices): router Linear(D, E) without bias,
softmax, top-1 (gate = probability) or top-2 (gates renormalised), capacity ceil(cf * k * N / E) filled rank by
rank in row order, dropped assignments contribute nothing, aux loss E * sum_e f_e * P_e per MoE block (f_e over
first choices before capacity). No `transformers`, no kit code.

usage: moe_reference.py OUTDIR
For each variant writes OUTDIR/<variant>/{config.json, model.safetensors, expected.json}: logits for a [2, 6]
batch, the summed aux loss, routing drop counts, and the gradients of CE + coef * aux with respect to the input
embeddings and to the first MoE block's router weight.
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch

torch.set_default_dtype(torch.float32)
V, D, H, L, F, MAXLEN, E = 64, 16, 2, 3, 24, 16, 4
B, T = 2, 6
VARIANTS = {"switch-top1": dict(k=1, cf=1.0, layers=[1, 2]), "gshard-top2": dict(k=2, cf=0.75, layers=[0, 2])}


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        a = tensors[name].detach().numpy().astype("<f4")
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def gelu_new(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def ln(x, w, b):
    return torch.nn.functional.layer_norm(x, (D,), w, b, 1e-5)


def moe(m, W, p, k, cf, stats):
    n = m.shape[0]
    probs = torch.softmax(m @ W[p + "mlp.router.weight"], dim=-1)  # [N, E]
    top = torch.topk(probs.detach(), k, dim=-1)  # ties are measure-zero with random weights
    choice = top.indices  # [N, k]
    sel = probs.gather(1, choice)
    gates = sel / sel.sum(1, keepdim=True) if k == 2 else sel
    cap = math.ceil(cf * k * n / E)
    count = [0] * E
    kept = torch.zeros(n, k, dtype=torch.bool)
    for r in range(k):
        for i in range(n):
            e = int(choice[i, r])
            if count[e] < cap:
                kept[i, r] = True
                count[e] += 1
    out = torch.zeros_like(m)
    for e in range(E):
        q = p + f"mlp.experts.{e}."
        y = gelu_new(m @ W[q + "c_fc.weight"] + W[q + "c_fc.bias"]) @ W[q + "c_proj.weight"] + W[q + "c_proj.bias"]
        for r in range(k):
            use = ((choice[:, r] == e) & kept[:, r]).float().unsqueeze(1)
            out = out + use * gates[:, r:r + 1] * y
    f = torch.zeros(E)
    for i in range(n):
        f[int(choice[i, 0])] += 1.0 / n
    aux = E * (f * probs.mean(0)).sum()
    stats.append(dict(dropped_assignments=int((~kept).sum()), dropped_rows=int((~kept.any(1)).sum())))
    return out, aux


def forward(W, x, k, cf, layers, stats):
    h = x + W["wpe.weight"][:T].unsqueeze(0)  # [B, T, D]
    h = h.reshape(B * T, D)
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    auxes = []
    for i in range(L):
        p = f"h.{i}."
        a = ln(h, W[p + "ln_1.weight"], W[p + "ln_1.bias"])
        qkv = a @ W[p + "attn.c_attn.weight"] + W[p + "attn.c_attn.bias"]
        q, kk, v = qkv.reshape(B, T, 3, H, D // H).permute(2, 0, 3, 1, 4)
        s = (q @ kk.transpose(-1, -2)) / math.sqrt(D // H)
        s = s.masked_fill(~causal, float("-inf"))
        o = (torch.softmax(s, -1) @ v).permute(0, 2, 1, 3).reshape(B * T, D)
        h = h + o @ W[p + "attn.c_proj.weight"] + W[p + "attn.c_proj.bias"]
        m = ln(h, W[p + "ln_2.weight"], W[p + "ln_2.bias"])
        if i in layers:
            out, aux = moe(m, W, p, k, cf, stats)
            auxes.append(aux)
        else:
            out = gelu_new(m @ W[p + "mlp.c_fc.weight"] + W[p + "mlp.c_fc.bias"]) @ W[p + "mlp.c_proj.weight"] + W[p + "mlp.c_proj.bias"]
        h = h + out
    h = ln(h, W["ln_f.weight"], W["ln_f.bias"])
    return h @ W["wte.weight"].T, sum(auxes)


def main(outdir):
    for vi, (name, v) in enumerate(VARIANTS.items()):
        g = torch.Generator().manual_seed(100 + vi)
        rnd = lambda *s, scale=0.3: torch.randn(*s, generator=g) * scale
        W = {"wte.weight": rnd(V, D, scale=0.5), "wpe.weight": rnd(MAXLEN, D), "ln_f.weight": 1 + rnd(D, scale=0.1), "ln_f.bias": rnd(D, scale=0.1)}
        for i in range(L):
            p = f"h.{i}."
            for n in ("ln_1", "ln_2"):
                W[p + n + ".weight"] = 1 + rnd(D, scale=0.1)
                W[p + n + ".bias"] = rnd(D, scale=0.1)
            W[p + "attn.c_attn.weight"] = rnd(D, 3 * D)
            W[p + "attn.c_attn.bias"] = rnd(3 * D, scale=0.1)
            W[p + "attn.c_proj.weight"] = rnd(D, D)
            W[p + "attn.c_proj.bias"] = rnd(D, scale=0.1)
            mlps = [f"mlp.experts.{e}." for e in range(E)] if i in v["layers"] else ["mlp."]
            if i in v["layers"]:
                W[p + "mlp.router.weight"] = rnd(D, E, scale=1.0)
            for q in mlps:
                W[p + q + "c_fc.weight"] = rnd(D, F)
                W[p + q + "c_fc.bias"] = rnd(F, scale=0.1)
                W[p + q + "c_proj.weight"] = rnd(F, D)
                W[p + q + "c_proj.bias"] = rnd(D, scale=0.1)
        d = os.path.join(outdir, name)
        os.makedirs(d, exist_ok=True)
        write_safetensors(os.path.join(d, "model.safetensors"), W)
        coef = 0.05
        cfg = dict(model_type="gpt2", vocab_size=V, n_positions=MAXLEN, n_embd=D, n_layer=L, n_head=H, n_inner=F,
                   activation_function="gelu_new", layer_norm_epsilon=1e-5, tie_word_embeddings=True,
                   num_experts=E, num_experts_per_tok=v["k"], moe_layers=v["layers"], capacity_factor=v["cf"],
                   router_aux_loss_coef=coef)
        json.dump(cfg, open(os.path.join(d, "config.json"), "w"))
        ids = torch.randint(0, V, (B, T), generator=g)
        router = W[f"h.{v['layers'][0]}.mlp.router.weight"].requires_grad_(True)
        x = W["wte.weight"][ids].detach().requires_grad_(True)
        stats = []
        logits, aux = forward(W, x, v["k"], v["cf"], v["layers"], stats)
        targets = torch.roll(ids, -1, 1).reshape(-1)
        ce = torch.nn.functional.cross_entropy(logits, targets)
        (ce + coef * aux).backward()
        json.dump(dict(ids=ids.reshape(-1).tolist(), targets=targets.tolist(), logits=logits.detach().reshape(-1).tolist(),
                       aux=float(aux), ce=float(ce), stats=stats, grad_x=x.grad.reshape(-1).tolist(),
                       grad_router=router.grad.reshape(-1).tolist()),
                  open(os.path.join(d, "expected.json"), "w"))


if __name__ == "__main__":
    main(sys.argv[1])

"""Independent PyTorch references for the kit's Hugging Face families, written from the published architectures
(GPT-2: Radford et al. 2019 / HF modeling_gpt2; Llama: Touvron et al. 2023, RMSNorm + rotary + SwiGLU + GQA, with
Qwen2's q/k/v biases; GPT-NeoX: Black et al. 2022, parallel residual + partial rotary). No `transformers`.

usage: hf_reference.py OUTDIR
Builds one small random model per variant, saves it in Hugging Face layout (config.json + safetensors written here
with numpy/torch, single file or sharded with model.safetensors.index.json; F32, F16 or BF16) under OUTDIR/<variant>/,
and writes OUTDIR/<variant>/expected.json with logits for several batches (padding included), logits with a soft
prompt spliced in front, and the gradient of a loss with respect to that prompt; and the same with key/value prefixes
(prefix tuning, Li & Liang 2021): P keys and values per layer (per key/value head) concatenated before each layer's
own keys and values, seen by every real query, unrotated, the real tokens keeping positions 0.. (direct prefixes and
through the reparameterisation MLP embedding [P, D] -> Linear -> tanh -> Linear -> [P, L*2*Hkv*dh]).
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch

torch.set_default_dtype(torch.float32)
VOCAB = 320
PAD = 0
CHOOSABLE = 300  # the test tokenizer's vocabulary (the model's is padded to VOCAB)

VARIANTS = {
    # name: (family, config overrides, dtype, prefix?, shards, extra tensors)
    "gpt2": dict(family="gpt2", dtype="F32", prefix=True, shards=1),
    "llama-gqa-untied": dict(family="llama", dtype="F32", prefix=True, shards=1, n_kv=2, tied=False),
    "qwen2-bf16-sharded": dict(family="qwen2", dtype="BF16", prefix=True, shards=2, n_kv=1, tied=True),
    "llama-f16-noprefix": dict(family="llama", dtype="F16", prefix=False, shards=1, n_kv=4, tied=True),
    "neox-f16": dict(family="gpt_neox", dtype="F16", prefix=True, shards=1, parallel=True, rotary_pct=0.5),
    "neox-sequential-sharded": dict(family="gpt_neox", dtype="F32", prefix=False, shards=3, parallel=False, rotary_pct=1.0),
}

D, H, L, F, MAXLEN = 32, 4, 2, 48, 64
DH = D // H


def rnd(g, *shape, scale=0.15):
    return torch.randn(*shape, generator=g) * scale


def build(name, v, seed):
    """Named weights in HF layout (nn.Linear [out, in], GPT-2 Conv1D [in, out]) and the config.json dict."""
    g = torch.Generator().manual_seed(seed)
    fam = v["family"]
    W = {}
    if fam == "gpt2":
        cfg = dict(model_type="gpt2", vocab_size=VOCAB, n_positions=MAXLEN, n_embd=D, n_layer=L, n_head=H, n_inner=F,
                   activation_function="gelu_new", layer_norm_epsilon=1e-5, tie_word_embeddings=True)
        W["wte.weight"] = rnd(g, VOCAB, D, scale=0.5)
        W["wpe.weight"] = rnd(g, MAXLEN, D, scale=0.3)
        for i in range(L):
            p = f"h.{i}."
            for ln in ("ln_1", "ln_2"):
                W[p + ln + ".weight"] = 1 + rnd(g, D)
                W[p + ln + ".bias"] = rnd(g, D)
            W[p + "attn.c_attn.weight"] = rnd(g, D, 3 * D)
            W[p + "attn.c_attn.bias"] = rnd(g, 3 * D)
            W[p + "attn.c_proj.weight"] = rnd(g, D, D)
            W[p + "attn.c_proj.bias"] = rnd(g, D)
            W[p + "mlp.c_fc.weight"] = rnd(g, D, F)
            W[p + "mlp.c_fc.bias"] = rnd(g, F)
            W[p + "mlp.c_proj.weight"] = rnd(g, F, D)
            W[p + "mlp.c_proj.bias"] = rnd(g, D)
        W["ln_f.weight"] = 1 + rnd(g, D)
        W["ln_f.bias"] = rnd(g, D)
    elif fam in ("llama", "qwen2"):
        kv = v["n_kv"]
        cfg = dict(model_type=fam, vocab_size=VOCAB, max_position_embeddings=MAXLEN, hidden_size=D, num_hidden_layers=L,
                   num_attention_heads=H, num_key_value_heads=kv, intermediate_size=F, hidden_act="silu",
                   rms_norm_eps=1e-5, rope_theta=500.0, rope_scaling=None, tie_word_embeddings=v["tied"])
        qkv_bias = fam == "qwen2"
        W["embed_tokens.weight"] = rnd(g, VOCAB, D, scale=0.5)
        for i in range(L):
            p = f"layers.{i}."
            W[p + "input_layernorm.weight"] = 1 + rnd(g, D)
            W[p + "post_attention_layernorm.weight"] = 1 + rnd(g, D)
            W[p + "self_attn.q_proj.weight"] = rnd(g, H * DH, D)
            W[p + "self_attn.k_proj.weight"] = rnd(g, kv * DH, D)
            W[p + "self_attn.v_proj.weight"] = rnd(g, kv * DH, D)
            if qkv_bias:
                W[p + "self_attn.q_proj.bias"] = rnd(g, H * DH)
                W[p + "self_attn.k_proj.bias"] = rnd(g, kv * DH)
                W[p + "self_attn.v_proj.bias"] = rnd(g, kv * DH)
            W[p + "self_attn.o_proj.weight"] = rnd(g, D, H * DH)
            W[p + "mlp.gate_proj.weight"] = rnd(g, F, D)
            W[p + "mlp.up_proj.weight"] = rnd(g, F, D)
            W[p + "mlp.down_proj.weight"] = rnd(g, D, F)
        W["norm.weight"] = 1 + rnd(g, D)
        if not v["tied"]:
            W["lm_head.weight"] = rnd(g, VOCAB, D, scale=0.5)
    else:
        cfg = dict(model_type="gpt_neox", vocab_size=VOCAB, max_position_embeddings=MAXLEN, hidden_size=D,
                   num_hidden_layers=L, num_attention_heads=H, intermediate_size=F, hidden_act="gelu",
                   layer_norm_eps=1e-5, rotary_pct=v["rotary_pct"], rotary_emb_base=10000,
                   use_parallel_residual=v["parallel"], tie_word_embeddings=False)
        W["embed_in.weight"] = rnd(g, VOCAB, D, scale=0.5)
        for i in range(L):
            p = f"layers.{i}."
            for ln in ("input_layernorm", "post_attention_layernorm"):
                W[p + ln + ".weight"] = 1 + rnd(g, D)
                W[p + ln + ".bias"] = rnd(g, D)
            W[p + "attention.query_key_value.weight"] = rnd(g, 3 * D, D)
            W[p + "attention.query_key_value.bias"] = rnd(g, 3 * D)
            W[p + "attention.dense.weight"] = rnd(g, D, D)
            W[p + "attention.dense.bias"] = rnd(g, D)
            W[p + "mlp.dense_h_to_4h.weight"] = rnd(g, F, D)
            W[p + "mlp.dense_h_to_4h.bias"] = rnd(g, F)
            W[p + "mlp.dense_4h_to_h.weight"] = rnd(g, D, F)
            W[p + "mlp.dense_4h_to_h.bias"] = rnd(g, D)
        W["final_layer_norm.weight"] = 1 + rnd(g, D)
        W["final_layer_norm.bias"] = rnd(g, D)
        W["embed_out.weight"] = rnd(g, VOCAB, D, scale=0.5)
    # the reference computes with exactly the values the file holds
    tdtype = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}[v["dtype"]]
    W = {k: t.to(tdtype).to(torch.float32) for k, t in W.items()}
    return W, cfg


# ----------------------------------------------------------------------------------------------- forward passes


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * w + b


def rms_norm(x, w, eps):
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * w


def gelu_new(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def gelu_exact(x):
    return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))


def rope(x, pos, width, theta):
    """x [B, T, h, dh]; rotate the first `width` dims in the rotate-half layout."""
    inv = 1.0 / (theta ** (torch.arange(0, width, 2, dtype=torch.float32) / width))
    ang = pos[..., None].float() * inv  # [B, T, width/2]
    cos = torch.cat([ang.cos(), ang.cos()], -1)[:, :, None, :]
    sin = torch.cat([ang.sin(), ang.sin()], -1)[:, :, None, :]
    xr, xp = x[..., :width], x[..., width:]
    x1, x2 = xr[..., : width // 2], xr[..., width // 2:]
    rot = torch.cat([-x2, x1], -1)
    return torch.cat([xr * cos + rot * sin, xp], -1)


def attend(q, k, v, mask, kv=None):
    """q [B,T,H,dh], k/v [B,T,Hkv,dh], mask [B,T] -> [B,T,H*dh]; causal + key padding mask.
    kv: optional prefix (keys, values), each [P, Hkv*dh]: concatenated before every batch row's keys and values
    (as past_key_values), visible to every query, not rotated."""
    B, T, h, dh = q.shape
    P = 0
    if kv is not None:
        P = kv[0].shape[0]
        pk = kv[0].view(1, P, k.shape[2], dh).expand(B, -1, -1, -1)
        pv = kv[1].view(1, P, v.shape[2], dh).expand(B, -1, -1, -1)
        k = torch.cat([pk, k], 1)
        v = torch.cat([pv, v], 1)
    rep = h // k.shape[2]
    k = k.repeat_interleave(rep, dim=2)
    v = v.repeat_interleave(rep, dim=2)
    s = torch.einsum("bihd,bjhd->bhij", q, k) / math.sqrt(dh)
    allowed = torch.tril(torch.ones(T, T, dtype=torch.bool))[None, None] & mask.bool()[:, None, None, :]
    allowed = torch.cat([torch.ones(B, 1, T, P, dtype=torch.bool), allowed], -1)
    s = s.masked_fill(~allowed, float("-inf"))
    p = torch.softmax(s, -1)
    return torch.einsum("bhij,bjhd->bihd", p, v).reshape(B, T, h * dh)


def forward(fam, W, cfg, x, mask, prefix=None):
    """x [B, T, D] input embeddings -> logits [B, T, V]. prefix: optional per-layer (keys, values) for attend."""
    B, T, _ = x.shape
    layer_kv = (lambda i: prefix[i]) if prefix is not None else (lambda i: None)
    pos = (torch.cumsum(mask, 1) - 1).clamp(min=0)
    if fam == "gpt2":
        h = x + W["wpe.weight"][pos]
        for i in range(L):
            p = f"h.{i}."
            a = layer_norm(h, W[p + "ln_1.weight"], W[p + "ln_1.bias"], 1e-5)
            qkv = a @ W[p + "attn.c_attn.weight"] + W[p + "attn.c_attn.bias"]
            q, k, vv = qkv.split(D, -1)
            ctx = attend(q.view(B, T, H, DH), k.view(B, T, H, DH), vv.view(B, T, H, DH), mask, layer_kv(i))
            h = h + ctx @ W[p + "attn.c_proj.weight"] + W[p + "attn.c_proj.bias"]
            m = layer_norm(h, W[p + "ln_2.weight"], W[p + "ln_2.bias"], 1e-5)
            h = h + gelu_new(m @ W[p + "mlp.c_fc.weight"] + W[p + "mlp.c_fc.bias"]) @ W[p + "mlp.c_proj.weight"] + W[p + "mlp.c_proj.bias"]
        h = layer_norm(h, W["ln_f.weight"], W["ln_f.bias"], 1e-5)
        return h @ W["wte.weight"].T
    if fam in ("llama", "qwen2"):
        kv = cfg["num_key_value_heads"]
        lin = lambda t, n: t @ W[n + ".weight"].T + (W[n + ".bias"] if n + ".bias" in W else 0)
        h = x
        for i in range(L):
            p = f"layers.{i}."
            a = rms_norm(h, W[p + "input_layernorm.weight"], cfg["rms_norm_eps"])
            q = rope(lin(a, p + "self_attn.q_proj").view(B, T, H, DH), pos, DH, cfg["rope_theta"])
            k = rope(lin(a, p + "self_attn.k_proj").view(B, T, kv, DH), pos, DH, cfg["rope_theta"])
            vv = lin(a, p + "self_attn.v_proj").view(B, T, kv, DH)
            h = h + lin(attend(q, k, vv, mask, layer_kv(i)), p + "self_attn.o_proj")
            m = rms_norm(h, W[p + "post_attention_layernorm.weight"], cfg["rms_norm_eps"])
            gate = lin(m, p + "mlp.gate_proj")
            h = h + lin(gate * torch.sigmoid(gate) * lin(m, p + "mlp.up_proj"), p + "mlp.down_proj")
        h = rms_norm(h, W["norm.weight"], cfg["rms_norm_eps"])
        head = W["embed_tokens.weight"] if cfg["tie_word_embeddings"] else W["lm_head.weight"]
        return h @ head.T
    # gpt_neox
    lin = lambda t, n: t @ W[n + ".weight"].T + W[n + ".bias"]
    width = int(DH * cfg["rotary_pct"])
    h = x
    for i in range(L):
        p = f"layers.{i}."
        a = layer_norm(h, W[p + "input_layernorm.weight"], W[p + "input_layernorm.bias"], 1e-5)
        qkv = lin(a, p + "attention.query_key_value").view(B, T, H, 3 * DH)
        q, k, vv = qkv[..., :DH], qkv[..., DH:2 * DH], qkv[..., 2 * DH:]
        q = rope(q, pos, width, cfg["rotary_emb_base"])
        k = rope(k, pos, width, cfg["rotary_emb_base"])
        attn = lin(attend(q, k, vv, mask, layer_kv(i)), p + "attention.dense")
        mlp = lambda t: lin(gelu_exact(lin(t, p + "mlp.dense_h_to_4h")), p + "mlp.dense_4h_to_h")
        if cfg["use_parallel_residual"]:
            h = h + attn + mlp(layer_norm(h, W[p + "post_attention_layernorm.weight"], W[p + "post_attention_layernorm.bias"], 1e-5))
        else:
            h = h + attn
            h = h + mlp(layer_norm(h, W[p + "post_attention_layernorm.weight"], W[p + "post_attention_layernorm.bias"], 1e-5))
    h = layer_norm(h, W["final_layer_norm.weight"], W["final_layer_norm.bias"], 1e-5)
    return h @ W["embed_out.weight"].T


# ----------------------------------------------------------------------------------------------- files


def tensor_bytes(t, dtype):
    if dtype == "F32":
        return t.numpy().astype("<f4").tobytes()
    if dtype == "F16":
        return t.to(torch.float16).numpy().astype("<f2").tobytes()
    return t.to(torch.bfloat16).view(torch.int16).numpy().astype("<i2").tobytes()


def write_safetensors(path, tensors, dtype, metadata=None):
    header = {}
    blobs = []
    offset = 0
    for name, t in tensors.items():
        b = tensor_bytes(t.contiguous(), dtype)
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    if metadata:
        header["__metadata__"] = metadata
    hb = json.dumps(header).encode()
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for b in blobs:
            f.write(b)


def save(outdir, v, W, cfg):
    os.makedirs(outdir, exist_ok=True)
    fam = v["family"]
    prefix = {"gpt2": "transformer.", "llama": "model.", "qwen2": "model.", "gpt_neox": "gpt_neox."}[fam] if v["prefix"] else ""
    head = {"gpt2": "lm_head.weight", "llama": "lm_head.weight", "qwen2": "lm_head.weight", "gpt_neox": "embed_out.weight"}[fam]
    named = {}
    for k, t in W.items():
        named[k if k == head else prefix + k] = t
    if fam == "gpt2":  # what HF's GPT-2 checkpoints also carry: causal-mask buffers and the tied head
        for i in range(L):
            named[f"{prefix}h.{i}.attn.bias"] = torch.tril(torch.ones(MAXLEN, MAXLEN)).view(1, 1, MAXLEN, MAXLEN)
        named["lm_head.weight"] = W["wte.weight"]
    if fam == "gpt_neox":
        named[f"{prefix}layers.0.attention.rotary_emb.inv_freq"] = torch.ones(4)
    with open(os.path.join(outdir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    n = v["shards"]
    if n == 1:
        write_safetensors(os.path.join(outdir, "model.safetensors"), named, v["dtype"], {"format": "pt"})
        return
    keys = list(named)
    weight_map = {}
    for s in range(n):
        part = keys[s::n]
        fname = f"model-{s + 1:05d}-of-{n:05d}.safetensors"
        write_safetensors(os.path.join(outdir, fname), {k: named[k] for k in part}, v["dtype"], {"format": "pt"})
        for k in part:
            weight_map[k] = fname
    with open(os.path.join(outdir, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f)


# ----------------------------------------------------------------------------------------------- cases


def embed_table(fam, W):
    return W[{"gpt2": "wte.weight", "llama": "embed_tokens.weight", "qwen2": "embed_tokens.weight", "gpt_neox": "embed_in.weight"}[fam]]


def run_cases(fam, W, cfg, seed):
    g = torch.Generator().manual_seed(seed + 1000)
    E = embed_table(fam, W)
    out = {"batches": []}
    # several lengths, right padding
    for lengths in ([7], [5, 3], [9, 1, 6]):
        T = max(lengths)
        ids = torch.full((len(lengths), T), PAD, dtype=torch.long)
        mask = torch.zeros(len(lengths), T, dtype=torch.long)
        for b, n in enumerate(lengths):
            ids[b, :n] = torch.randint(4, VOCAB, (n,), generator=g)
            mask[b, :n] = 1
        logits = forward(fam, W, cfg, E[ids], mask)
        out["batches"].append({"ids": ids.tolist(), "lengths": lengths, "logits": logits.detach().tolist()})
    # soft prompt in front of two sequences of different lengths; gradient of a loss w.r.t. the prompt
    P = 3
    prompt = (torch.randn(P, D, generator=g) * 0.5).requires_grad_(True)
    lengths = [4, 2]
    T = P + max(lengths)
    tok = [torch.randint(4, VOCAB, (n,), generator=g) for n in lengths]
    targets = torch.randint(4, VOCAB, (len(lengths),), generator=g)
    rows = []
    mask = torch.zeros(len(lengths), T, dtype=torch.long)
    for b, n in enumerate(lengths):
        padded = torch.cat([tok[b], torch.full((max(lengths) - n,), PAD, dtype=torch.long)])
        rows.append(torch.cat([prompt, E[padded]], 0))
        mask[b, : P + n] = 1
    x = torch.stack(rows)
    logits = forward(fam, W, cfg, x, mask)
    last = torch.tensor([P + n - 1 for n in lengths])
    logp = torch.log_softmax(logits[torch.arange(len(lengths)), last], -1)
    loss = -logp[torch.arange(len(lengths)), targets].sum()
    loss.backward()
    # greedy continuation of [5, 6, 7] among the ids the test tokenizer decodes (CHOOSABLE), with full-softmax log-probs
    seq = [5, 6, 7]
    gen, lps = [], []
    with torch.no_grad():
        for _ in range(5):
            ids = torch.tensor([seq])
            logp = torch.log_softmax(forward(fam, W, cfg, E[ids], torch.ones_like(ids))[0, -1], -1)
            nxt = int(torch.argmax(logp[:CHOOSABLE]))
            gen.append(nxt)
            lps.append(float(logp[nxt]))
            seq.append(nxt)
    out["generate"] = {"prompt": [5, 6, 7], "ids": gen, "logprobs": lps}
    out["prompt"] = {
        "vectors": prompt.detach().tolist(),
        "ids": [t.tolist() for t in tok],
        "targets": targets.tolist(),
        "logits": logits.detach().tolist(),
        "loss": loss.item(),
        "grad": prompt.grad.tolist(),
    }
    out["kvPrefix"] = prefix_case(fam, W, cfg, g)
    return out


def prefix_case(fam, W, cfg, g):
    """Key/value prefixes: logits for a right-padded batch and the gradient of a last-token loss with respect to the
    prefix table [P, L*2*Hkv*dh] (layer l's keys at columns 2l*W.., values next), direct and through the MLP."""
    E = embed_table(fam, W)
    kvw = cfg.get("num_key_value_heads", H) * DH
    P, HID = 3, 8
    lengths = [5, 2, 4]
    T = max(lengths)
    ids = torch.full((len(lengths), T), PAD, dtype=torch.long)
    mask = torch.zeros(len(lengths), T, dtype=torch.long)
    for b, n in enumerate(lengths):
        ids[b, :n] = torch.randint(4, VOCAB, (n,), generator=g)
        mask[b, :n] = 1
    targets = torch.randint(4, VOCAB, (len(lengths),), generator=g)
    last = torch.tensor([n - 1 for n in lengths])

    def run(table):
        layers = [(table[:, 2 * i * kvw:(2 * i + 1) * kvw], table[:, (2 * i + 1) * kvw:(2 * i + 2) * kvw]) for i in range(L)]
        logits = forward(fam, W, cfg, E[ids], mask, prefix=layers)
        logp = torch.log_softmax(logits[torch.arange(len(lengths)), last], -1)
        return logits, -logp[torch.arange(len(lengths)), targets].sum()

    table = (torch.randn(P, L * 2 * kvw, generator=g) * 0.5).requires_grad_(True)
    logits, loss = run(table)
    loss.backward()
    emb = (torch.randn(P, D, generator=g)).requires_grad_(True)
    w1, b1 = rnd(g, D, HID, scale=0.3), rnd(g, HID, scale=0.3)
    w2, b2 = rnd(g, HID, L * 2 * kvw, scale=0.3), rnd(g, L * 2 * kvw, scale=0.3)
    for t in (w1, b1, w2, b2):
        t.requires_grad_(True)
    mlp_logits, mlp_loss = run(torch.tanh(emb @ w1 + b1) @ w2 + b2)
    mlp_loss.backward()
    return {
        "length": P,
        "ids": ids.tolist(),
        "lengths": lengths,
        "targets": targets.tolist(),
        "table": table.detach().tolist(),
        "logits": logits.detach().tolist(),
        "loss": loss.item(),
        "grad": table.grad.tolist(),
        "mlp": {
            "hidden": HID,
            "embedding": emb.detach().tolist(),
            "w1": w1.detach().tolist(),
            "b1": b1.detach().tolist(),
            "w2": w2.detach().tolist(),
            "b2": b2.detach().tolist(),
            "logits": mlp_logits.detach().tolist(),
            "loss": mlp_loss.item(),
            "gradEmbedding": emb.grad.tolist(),
            "gradW2": w2.grad.tolist(),
        },
    }


def main():
    root = sys.argv[1]
    for i, (name, v) in enumerate(VARIANTS.items()):
        W, cfg = build(name, v, 17 + i)
        d = os.path.join(root, name)
        save(d, v, W, cfg)
        with torch.no_grad():
            pass
        cases = run_cases(v["family"], W, cfg, 17 + i)
        with open(os.path.join(d, "expected.json"), "w") as f:
            json.dump(cases, f)
    print(json.dumps(list(VARIANTS)))


if __name__ == "__main__":
    main()

"""Independent reference for PEFT PREFIX_TUNING adapters exported by the kit: reads adapter_config.json and
adapter_model.safetensors as PEFT does, turns `prompt_embeddings` into past_key_values with PEFT's own reshaping, and
runs the tiny Hugging Face-layout models of test/backbone/hf_reference.py (same weights, rebuilt from the same seeds)
the way transformers runs a decoder with a cache: keys/values in [B, heads, seq, head_dim], the cache concatenated in
front, the attention mask extended with P ones, and the real tokens at positions P, P+1, ... No `peft`/`transformers`.

The PEFT lines followed (huggingface/peft, src/peft/peft_model.py get_prompt, commit 00336949):
    past_key_values = prompt_encoder.embedding.weight.repeat(batch_size, 1, 1)        # inference_mode
    past_key_values = past_key_values.view(batch_size, peft_config.num_virtual_tokens, peft_config.num_layers * 2,
                                           peft_config.num_attention_heads,
                                           peft_config.token_dim // peft_config.num_attention_heads)
    past_key_values = past_key_values.permute([2, 0, 3, 1, 4]).split(peft_config.num_transformer_submodules * 2)
    past_key_values = DynamicCache.from_legacy_cache(past_key_values)                  # layer l = (key, value)
and PeftModelForCausalLM.forward: `attention_mask = torch.cat((prefix_attention_mask, attention_mask), dim=1)` with
prefix_attention_mask = ones(batch_size, num_virtual_tokens), position_ids dropped; transformers then uses
`cache_position = arange(past_seen_tokens, past_seen_tokens + T)`, `position_ids = cache_position.unsqueeze(0)`.

usage: peft_prefix_reference.py JOBS.json   (JOBS: [{variant, adapter, ids: [[..]], lengths: [..]}])
prints {variant: logits [B][T][V]} as JSON on the last line.
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "backbone"))
import hf_reference as ref  # noqa: E402  (the weights, norms, activations and rotary of the model references)

torch.set_default_dtype(torch.float32)


def read_safetensors(path):
    """{name: float32 tensor} of a safetensors file (F32 only: what the kit's exporter writes)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        assert spec["dtype"] == "F32", f"{path}: {name} is {spec['dtype']}"
        a, b = spec["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype="<f4").copy()).view(*spec["shape"])
    return out


def peft_past_key_values(adapter, batch_size):
    """The adapter's prefix as PEFT's get_prompt makes it: L pairs (key, value), each [B, heads, P, head_dim]."""
    with open(os.path.join(adapter, "adapter_config.json")) as f:
        c = json.load(f)
    assert c["peft_type"] == "PREFIX_TUNING" and c["num_transformer_submodules"] == 1 and c["inference_mode"]
    weight = read_safetensors(os.path.join(adapter, "adapter_model.safetensors"))["prompt_embeddings"]
    pkv = weight.repeat(batch_size, 1, 1)
    pkv = pkv.view(batch_size, c["num_virtual_tokens"], c["num_layers"] * 2, c["num_attention_heads"],
                   c["token_dim"] // c["num_attention_heads"])
    pkv = pkv.permute([2, 0, 3, 1, 4]).split(c["num_transformer_submodules"] * 2)
    return [(layer[0], layer[1]) for layer in pkv], c["num_virtual_tokens"]


def cached_attention(q, k, v, past, mask2d):
    """q [B,H,T,dh], k/v [B,Hkv,T,dh], past (key, value) [B,Hkv,P,dh], mask2d [B, P+T] (prefix ones first).
    As transformers: cache concatenated in front (Cache.update), repeat_kv for grouped-query attention, query i at
    absolute position P+i sees keys j <= P+i that the mask keeps."""
    B, h, T, dh = q.shape
    P = past[0].shape[2]
    k = torch.cat([past[0], k], dim=2)
    v = torch.cat([past[1], v], dim=2)
    rep = h // k.shape[1]
    k = k[:, :, None].expand(B, k.shape[1], rep, P + T, dh).reshape(B, h, P + T, dh)
    v = v[:, :, None].expand(B, v.shape[1], rep, P + T, dh).reshape(B, h, P + T, dh)
    s = q @ k.transpose(-1, -2) / math.sqrt(dh)  # [B, H, T, P+T]
    causal = torch.arange(P + T)[None, :] <= (P + torch.arange(T))[:, None]
    allowed = causal[None, None] & mask2d.bool()[:, None, None, :]
    s = s.masked_fill(~allowed, float("-inf"))
    return (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(B, T, h * dh)


def forward(fam, W, cfg, ids, mask, past):
    """Logits [B, T, V] of right-padded ids [B, T] with the prefix `past` in the cache."""
    B, T = ids.shape
    P = past[0][0].shape[2]
    mask2d = torch.cat([torch.ones(B, P, dtype=mask.dtype), mask], 1)
    pos = torch.arange(P, P + T)[None].expand(B, T)  # cache_position.unsqueeze(0)
    D, H, L, DH = ref.D, ref.H, ref.L, ref.DH
    heads = lambda t, n: t.view(B, T, n, DH)  # noqa: E731
    if fam == "gpt2":
        h = W["wte.weight"][ids] + W["wpe.weight"][pos]
        for i in range(L):
            p = f"h.{i}."
            a = ref.layer_norm(h, W[p + "ln_1.weight"], W[p + "ln_1.bias"], 1e-5)
            q, k, v = (a @ W[p + "attn.c_attn.weight"] + W[p + "attn.c_attn.bias"]).split(D, -1)
            ctx = cached_attention(*(heads(t, H).transpose(1, 2) for t in (q, k, v)), past[i], mask2d)
            h = h + ctx @ W[p + "attn.c_proj.weight"] + W[p + "attn.c_proj.bias"]
            m = ref.layer_norm(h, W[p + "ln_2.weight"], W[p + "ln_2.bias"], 1e-5)
            f = ref.gelu_new(m @ W[p + "mlp.c_fc.weight"] + W[p + "mlp.c_fc.bias"])
            h = h + f @ W[p + "mlp.c_proj.weight"] + W[p + "mlp.c_proj.bias"]
        return ref.layer_norm(h, W["ln_f.weight"], W["ln_f.bias"], 1e-5) @ W["wte.weight"].T
    if fam in ("llama", "qwen2"):
        kv = cfg["num_key_value_heads"]
        lin = lambda t, n: t @ W[n + ".weight"].T + (W[n + ".bias"] if n + ".bias" in W else 0)  # noqa: E731
        h = W["embed_tokens.weight"][ids]
        for i in range(L):
            p = f"layers.{i}."
            a = ref.rms_norm(h, W[p + "input_layernorm.weight"], cfg["rms_norm_eps"])
            q = ref.rope(heads(lin(a, p + "self_attn.q_proj"), H), pos, DH, cfg["rope_theta"]).transpose(1, 2)
            k = ref.rope(heads(lin(a, p + "self_attn.k_proj"), kv), pos, DH, cfg["rope_theta"]).transpose(1, 2)
            v = heads(lin(a, p + "self_attn.v_proj"), kv).transpose(1, 2)
            h = h + lin(cached_attention(q, k, v, past[i], mask2d), p + "self_attn.o_proj")
            m = ref.rms_norm(h, W[p + "post_attention_layernorm.weight"], cfg["rms_norm_eps"])
            gate = lin(m, p + "mlp.gate_proj")
            h = h + lin(gate * torch.sigmoid(gate) * lin(m, p + "mlp.up_proj"), p + "mlp.down_proj")
        h = ref.rms_norm(h, W["norm.weight"], cfg["rms_norm_eps"])
        return h @ (W["embed_tokens.weight"] if cfg["tie_word_embeddings"] else W["lm_head.weight"]).T
    # gpt_neox
    lin = lambda t, n: t @ W[n + ".weight"].T + W[n + ".bias"]  # noqa: E731
    width = int(DH * cfg["rotary_pct"])
    h = W["embed_in.weight"][ids]
    for i in range(L):
        p = f"layers.{i}."
        a = ref.layer_norm(h, W[p + "input_layernorm.weight"], W[p + "input_layernorm.bias"], 1e-5)
        qkv = lin(a, p + "attention.query_key_value").view(B, T, H, 3 * DH)
        q = ref.rope(qkv[..., :DH], pos, width, cfg["rotary_emb_base"]).transpose(1, 2)
        k = ref.rope(qkv[..., DH:2 * DH], pos, width, cfg["rotary_emb_base"]).transpose(1, 2)
        v = qkv[..., 2 * DH:].transpose(1, 2)
        attn = lin(cached_attention(q, k, v, past[i], mask2d), p + "attention.dense")
        post = lambda t: ref.layer_norm(t, W[p + "post_attention_layernorm.weight"], W[p + "post_attention_layernorm.bias"], 1e-5)  # noqa: E731
        mlp = lambda t: lin(ref.gelu_exact(lin(post(t), p + "mlp.dense_h_to_4h")), p + "mlp.dense_4h_to_h")  # noqa: E731
        h = h + attn + mlp(h) if cfg["use_parallel_residual"] else (h + attn) + mlp(h + attn)
    h = ref.layer_norm(h, W["final_layer_norm.weight"], W["final_layer_norm.bias"], 1e-5)
    return h @ W["embed_out.weight"].T


def main():
    with open(sys.argv[1]) as f:
        jobs = json.load(f)
    names = list(ref.VARIANTS)
    out = {}
    for job in jobs:
        name = job["variant"]
        v = ref.VARIANTS[name]
        W, cfg = ref.build(name, v, 17 + names.index(name))  # the seeds hf_reference.py main() used
        ids = torch.tensor(job["ids"], dtype=torch.long)
        mask = torch.zeros_like(ids)
        for b, n in enumerate(job["lengths"]):
            mask[b, :n] = 1
        past, _ = peft_past_key_values(job["adapter"], ids.shape[0])
        with torch.no_grad():
            out[name] = forward(v["family"], W, cfg, ids, mask, past).tolist()
    print(json.dumps(out))


if __name__ == "__main__":
    main()

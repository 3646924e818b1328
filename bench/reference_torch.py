#!/usr/bin/python3
"""PyTorch reference for the kit's transformer training steps (see bench/README.md).

Times the same three steps the kit benchmarks, on the same architecture, in idiomatic eager PyTorch,
so `npm run perf -- --reference` can print kit/PyTorch throughput ratios measured in one run.

  /usr/bin/python3 bench/reference_torch.py --json '<config>'   # benchmark; ONE JSON object on stdout
  /usr/bin/python3 bench/reference_torch.py --check             # self-test on a tiny model; prints OK

Architecture (must match the kit): decoder-only GPT, pre-LayerNorm, tied token embedding E [V, D]
(logits = h @ E^T), learned position embedding [maxLen, D]; block: x += Attn(LN1(x)); x += MLP(LN2(x));
LayerNorm eps 1e-5 with weight and bias; fused QKV Linear(D, 3D) + output Linear(D, D), both with bias;
scores = QK^T / sqrt(dh) masked by causal & key-padding masks, softmax, @V; MLP Linear(D, F) ->
quick GELU x*sigmoid(1.702x) -> Linear(F, D); final LayerNorm; no dropout.

Steps (Adam lr 1e-3, zero_grad(set_to_none=True), float32):
  full   all parameters train; ids [B, T]; mean next-token cross-entropy over all T positions.
  prompt backbone frozen; a trainable soft prompt [P, D] is prepended (positions 0..P+T-1);
         loss over the T text positions only; only the prompt is in the optimizer.
  eval   model.eval() + torch.no_grad(); logits [B, T, V].
Targets: the benchmark draws ids [B, T+1]; inputs are ids[:, :T] and targets ids[:, 1:], so position t
predicts token t+1 and the last position predicts one extra random id.

Progress goes to stderr; on a bad config or argument: message on stderr, nothing on stdout, exit code 2.
"""

import argparse
import ctypes
import json
import math
import os
import re
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Optional, Tuple

# Debian's torch runs its own ops on libgomp threads and GEMMs on OpenBLAS's separate pthread pool. With
# libgomp's default spin-waiting the two pools fight over the 2 cores (a 2-thread training step measured
# ~1.3-10x slower than with this set). libgomp reads it when `import torch` loads it, so set it first;
# an explicit OMP_WAIT_POLICY in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

SCRIPT = "bench/reference_torch.py"
STEPS = ("full", "prompt", "eval")
ATTENTION_IMPL = (
    "manual: (q @ k^T) * dh^-0.5, masked_fill(-inf) with causal & key-padding mask, softmax, @ v "
    "(torch.nn.functional.scaled_dot_product_attention is absent in this torch)"
    if not hasattr(F, "scaled_dot_product_attention")
    else "manual: (q @ k^T) * dh^-0.5, masked_fill(-inf), softmax, @ v (scaled_dot_product_attention "
    "exists in this torch but is not used, to keep one formulation across versions)"
)
LR = 1e-3
LN_EPS = 1e-5
INIT_STD = 0.02


# ----------------------------------------------------------------------------------------------
# Config
# ----------------------------------------------------------------------------------------------


class ConfigError(ValueError):
    """A bad benchmark config; the message names the field, what was expected and what was got."""


@dataclass(frozen=True)
class Shape:
    """One model + batch shape. V vocab, D dModel, L nLayers, H nHeads, F dFF, B batch, T seqLen, P promptLen."""

    name: str
    vocab: int
    dModel: int
    nLayers: int
    nHeads: int
    dFF: int
    maxLen: int
    batch: int
    seqLen: int
    promptLen: int


@dataclass(frozen=True)
class Config:
    shapes: Tuple[Shape, ...]
    steps: Tuple[str, ...]
    warmup: int
    iters: int
    threads: Tuple[int, ...]
    seed: int


CONFIG_DEFAULTS = {"steps": list(STEPS), "warmup": 3, "iters": 20, "threads": [1, 2], "seed": 0}
SHAPE_DEFAULTS = {"promptLen": 16}
SHAPE_INT_FIELDS = ("vocab", "dModel", "nLayers", "nHeads", "dFF", "maxLen", "batch", "seqLen", "promptLen")


def _fail(field: str, expected: str, got: Any) -> None:
    where = f"config.{field}" if field else "config"
    raise ConfigError(f"{SCRIPT}: {where}: expected {expected}, got {json.dumps(got)}")


def _int(obj: Dict[str, Any], key: str, path: str, minimum: int) -> int:
    value = obj[key]
    # bool is an int subclass in Python; JSON true/false is not a count.
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        _fail(path, f"an integer >= {minimum}", value)
    return value


def _check_keys(obj: Any, path: str, allowed: Tuple[str, ...], required: Tuple[str, ...]) -> None:
    if not isinstance(obj, dict):
        _fail(path, "a JSON object", obj)
    for key in obj:
        if key not in allowed:
            raise ConfigError(f"{SCRIPT}: config{'.' + path if path else ''}: unknown field {json.dumps(key)} "
                              f"(allowed: {', '.join(allowed)})")
    for key in required:
        if key not in obj:
            raise ConfigError(f"{SCRIPT}: config{'.' + path if path else ''}: missing required field "
                              f"{json.dumps(key)}")


def resolve_shape(raw: Any, path: str, steps: Tuple[str, ...]) -> Shape:
    """Validates one shape object (defaults: promptLen 16) and returns a Shape."""
    allowed = ("name",) + SHAPE_INT_FIELDS
    _check_keys(raw, path, allowed, tuple(k for k in allowed if k not in SHAPE_DEFAULTS))
    obj = {**SHAPE_DEFAULTS, **raw}
    if not isinstance(obj["name"], str) or not obj["name"]:
        _fail(f"{path}.name", "a non-empty string", obj["name"])
    ints = {k: _int(obj, k, f"{path}.{k}", 1) for k in SHAPE_INT_FIELDS}
    if ints["dModel"] % ints["nHeads"] != 0:
        _fail(f"{path}.nHeads", f"a divisor of dModel={ints['dModel']}", ints["nHeads"])
    if ints["seqLen"] > ints["maxLen"]:
        _fail(f"{path}.seqLen", f"<= maxLen={ints['maxLen']}", ints["seqLen"])
    if "prompt" in steps and ints["promptLen"] + ints["seqLen"] > ints["maxLen"]:
        _fail(f"{path}.promptLen", f"promptLen + seqLen <= maxLen={ints['maxLen']} for the prompt step "
              f"(seqLen={ints['seqLen']})", ints["promptLen"])
    return Shape(name=obj["name"], **ints)


def resolve_config(raw: Any) -> Config:
    """Merges CONFIG_DEFAULTS into a parsed JSON config, validates every field, returns a frozen Config.

    Never mutates `raw`. Raises ConfigError naming the field, the expectation and the bad value.
    """
    allowed = ("shapes",) + tuple(CONFIG_DEFAULTS)
    _check_keys(raw, "", allowed, ("shapes",))
    obj = {**CONFIG_DEFAULTS, **raw}

    steps = obj["steps"]
    if not isinstance(steps, list) or not steps:
        _fail("steps", f"a non-empty list drawn from {list(STEPS)}", steps)
    for i, step in enumerate(steps):
        if step not in STEPS:
            _fail(f"steps[{i}]", f"one of {list(STEPS)}", step)
    if len(set(steps)) != len(steps):
        _fail("steps", "no duplicates", steps)

    shapes_raw = obj["shapes"]
    if not isinstance(shapes_raw, list) or not shapes_raw:
        _fail("shapes", "a non-empty list of shape objects", shapes_raw)
    shapes = tuple(resolve_shape(s, f"shapes[{i}]", tuple(steps)) for i, s in enumerate(shapes_raw))
    names = [s.name for s in shapes]
    for i, name in enumerate(names):
        if names.index(name) != i:
            _fail(f"shapes[{i}].name", "a name not used by an earlier shape", name)

    threads = obj["threads"]
    if not isinstance(threads, list) or not threads:
        _fail("threads", "a non-empty list of integers >= 1", threads)
    for i, n in enumerate(threads):
        _int({"n": n}, "n", f"threads[{i}]", 1)
    if len(set(threads)) != len(threads):
        _fail("threads", "no duplicates", threads)

    return Config(
        shapes=shapes,
        steps=tuple(steps),
        warmup=_int(obj, "warmup", "warmup", 0),
        iters=_int(obj, "iters", "iters", 1),
        threads=tuple(threads),
        seed=_int(obj, "seed", "seed", 0),
    )


# ----------------------------------------------------------------------------------------------
# Model (nanoGPT-style, reading order: attention -> MLP -> block -> model)
# ----------------------------------------------------------------------------------------------


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention with a fused QKV projection. x [B, L, D] -> [B, L, D]."""

    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=True)
        self.proj = nn.Linear(d_model, d_model, bias=True)

    def forward(self, x: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        """allowed: bool [B, 1, L, L], True where query i may attend to key j (causal & key-padding)."""
        B, L, D = x.shape
        H, dh = self.n_heads, D // self.n_heads
        q, k, v = self.qkv(x).split(D, dim=2)  # 3 x [B, L, D]
        q = q.view(B, L, H, dh).transpose(1, 2)  # [B, H, L, dh]
        k = k.view(B, L, H, dh).transpose(1, 2)  # [B, H, L, dh]
        v = v.view(B, L, H, dh).transpose(1, 2)  # [B, H, L, dh]
        scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(dh))  # [B, H, L, L]
        scores = scores.masked_fill(~allowed, float("-inf"))
        y = scores.softmax(dim=-1) @ v  # [B, H, L, dh]
        y = y.transpose(1, 2).contiguous().view(B, L, D)  # [B, L, D]
        return self.proj(y)


class QuickGELU(nn.Module):
    """x * sigmoid(1.702 x), the GELU approximation the kit uses."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


class MLP(nn.Module):
    """Linear(D, F) -> quick GELU -> Linear(F, D). [B, L, D] -> [B, L, D]."""

    def __init__(self, d_model: int, d_ff: int):
        super().__init__()
        self.fc = nn.Linear(d_model, d_ff, bias=True)
        self.act = QuickGELU()
        self.out = nn.Linear(d_ff, d_model, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.act(self.fc(x)))


class Block(nn.Module):
    """Pre-LN block: x + Attn(LN1(x)), then x + MLP(LN2(x))."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int):
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model, eps=LN_EPS)
        self.attn = CausalSelfAttention(d_model, n_heads)
        self.ln2 = nn.LayerNorm(d_model, eps=LN_EPS)
        self.mlp = MLP(d_model, d_ff)

    def forward(self, x: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x), allowed)
        x = x + self.mlp(self.ln2(x))
        return x


class GPT(nn.Module):
    """Decoder-only GPT with tied output head (logits = h @ E^T)."""

    def __init__(self, shape: Shape, seed: int):
        super().__init__()
        D = shape.dModel
        self.tok = nn.Embedding(shape.vocab, D)  # E [V, D]
        self.pos = nn.Embedding(shape.maxLen, D)  # [maxLen, D]
        self.blocks = nn.ModuleList(Block(D, shape.nHeads, shape.dFF) for _ in range(shape.nLayers))
        self.ln_f = nn.LayerNorm(D, eps=LN_EPS)
        causal = torch.tril(torch.ones(shape.maxLen, shape.maxLen, dtype=torch.bool))
        self.register_buffer("causal", causal, persistent=False)  # [maxLen, maxLen]
        self._init_weights(seed)

    @torch.no_grad()
    def _init_weights(self, seed: int) -> None:
        """GPT-2 style: weights ~ N(0, 0.02), biases 0, LayerNorm 1/0; own generator, no global reseed."""
        gen = torch.Generator().manual_seed(seed)
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                module.weight.normal_(0.0, INIT_STD, generator=gen)
                if getattr(module, "bias", None) is not None:
                    module.bias.zero_()
            elif isinstance(module, nn.LayerNorm):
                module.weight.fill_(1.0)
                module.bias.zero_()

    def hidden(self, ids: torch.Tensor, pad_mask: torch.Tensor,
               prompt: Optional[torch.Tensor] = None) -> torch.Tensor:
        """ids [B, T] int64, pad_mask bool [B, T] (True = real token), prompt [P, D] or None.

        Returns final-LayerNorm hidden states [B, L, D], L = T or P + T (prompt first, positions 0..L-1).
        """
        x = self.tok(ids)  # [B, T, D]
        if prompt is not None:
            B, P = ids.shape[0], prompt.shape[0]
            x = torch.cat([prompt.unsqueeze(0).expand(B, -1, -1), x], dim=1)  # [B, P+T, D]
            prompt_mask = torch.ones(B, P, dtype=torch.bool, device=ids.device)
            pad_mask = torch.cat([prompt_mask, pad_mask], dim=1)  # [B, P+T]
        L = x.shape[1]
        x = x + self.pos.weight[:L]  # [B, L, D]
        allowed = self.causal[:L, :L] & pad_mask[:, None, None, :]  # [B, 1, L, L]
        for block in self.blocks:
            x = block(x, allowed)
        return self.ln_f(x)  # [B, L, D]

    def logits(self, h: torch.Tensor) -> torch.Tensor:
        """h [B, L, D] -> [B, L, V] through the tied embedding."""
        return F.linear(h, self.tok.weight)


def param_count_formula(s: Shape) -> int:
    """Backbone parameter count the architecture implies (use it to cross-check the kit's model)."""
    D, Fd = s.dModel, s.dFF
    per_block = 2 * (2 * D) + (D * 3 * D + 3 * D) + (D * D + D) + (D * Fd + Fd) + (Fd * D + D)
    return s.vocab * D + s.maxLen * D + s.nLayers * per_block + 2 * D


# ----------------------------------------------------------------------------------------------
# Steps
# ----------------------------------------------------------------------------------------------


@dataclass
class Batch:
    ids: torch.Tensor  # [B, T] int64 inputs
    targets: torch.Tensor  # [B, T] int64, targets[:, t] = token t+1 of the drawn sequence
    pad_mask: torch.Tensor  # [B, T] bool, all True in the benchmark


def make_batch(shape: Shape, seed: int) -> Batch:
    """Draws ids [B, T+1] uniformly from the vocab; inputs ids[:, :T], targets ids[:, 1:]."""
    gen = torch.Generator().manual_seed(seed + 1)
    seq = torch.randint(0, shape.vocab, (shape.batch, shape.seqLen + 1), generator=gen)
    return Batch(ids=seq[:, :-1].contiguous(), targets=seq[:, 1:].contiguous(),
                 pad_mask=torch.ones(shape.batch, shape.seqLen, dtype=torch.bool))


class Runner:
    """One timed step on one model: `run()` performs a full step and returns the loss (or None for eval)."""

    def __init__(self, step: str, shape: Shape, seed: int):
        self.step, self.shape = step, shape
        self.model = GPT(shape, seed)
        self.batch = make_batch(shape, seed)
        self.prompt: Optional[nn.Parameter] = None
        if step == "full":
            self.model.train()
            trainable = list(self.model.parameters())
        elif step == "prompt":
            self.model.train()  # no dropout, so train/eval differ in nothing; train() is the idiom
            self.model.requires_grad_(False)
            # Init from randomly sampled vocabulary rows (google-research/prompt-tuning style).
            gen = torch.Generator().manual_seed(seed + 2)
            rows = torch.randint(0, shape.vocab, (shape.promptLen,), generator=gen)
            self.prompt = nn.Parameter(self.model.tok.weight.detach()[rows].clone())  # [P, D]
            trainable = [self.prompt]
        elif step == "eval":
            self.model.eval()
            trainable = []
        else:
            raise ValueError(f"{SCRIPT}: unknown step {step!r}")
        self.params_trainable = sum(p.numel() for p in trainable)
        self.optimizer = torch.optim.Adam(trainable, lr=LR) if trainable else None

    def run(self) -> Optional[float]:
        b, V = self.batch, self.shape.vocab
        if self.step == "eval":
            with torch.no_grad():
                logits = self.model.logits(self.model.hidden(b.ids, b.pad_mask))  # [B, T, V]
            assert logits.shape == (self.shape.batch, self.shape.seqLen, V)
            return None
        assert self.optimizer is not None
        self.optimizer.zero_grad(set_to_none=True)
        h = self.model.hidden(b.ids, b.pad_mask, self.prompt)  # [B, T, D] or [B, P+T, D]
        if self.prompt is not None:
            h = h[:, self.shape.promptLen:]  # [B, T, D]: loss (and the head) on text positions only
        logits = self.model.logits(h)  # [B, T, V]
        loss = F.cross_entropy(logits.reshape(-1, V), b.targets.reshape(-1))
        loss.backward()
        self.optimizer.step()
        return loss.item()


# ----------------------------------------------------------------------------------------------
# Threads and BLAS
# ----------------------------------------------------------------------------------------------


def _loaded_libraries(words: Tuple[str, ...]) -> List[str]:
    """Shared objects mapped into this process whose path contains one of `words` (Linux only)."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if len(line.split()) >= 6}
    except OSError:
        return []
    return sorted(p for p in paths if ".so" in p and any(w in os.path.basename(p).lower() for w in words))


def _openblas() -> Optional[ctypes.CDLL]:
    """The OpenBLAS already loaded by torch (via libblas.so.3), or None."""
    for path in _loaded_libraries(("openblas",)):
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_num_threads  # noqa: B018 - raises AttributeError if absent
            return lib
        except (OSError, AttributeError):
            continue
    return None


OPENBLAS = _openblas()


def set_threads(n: int) -> None:
    """torch.set_num_threads does not reach OpenBLAS's own pthread pool, so set both."""
    torch.set_num_threads(n)
    if OPENBLAS is not None:
        OPENBLAS.openblas_set_num_threads(n)


def blas_evidence() -> Dict[str, Any]:
    """Which BLAS torch uses, from its build config, the mapped libraries and OpenBLAS itself."""
    build = re.search(r"\bBLAS_INFO=([^,\s]+)", torch.__config__.show())
    blas_info = build.group(1) if build else None  # Debian: "generic" = whatever libblas.so.3 points to
    evidence: Dict[str, Any] = {
        "torchBlasInfo": blas_info,
        "loadedLibraries": _loaded_libraries(("blas", "lapack", "mkl", "gomp", "dnnl")),
        "openblas": None,
        "threadControl": "torch.set_num_threads(n)" + (" + openblas_set_num_threads(n)" if OPENBLAS else ""),
        "env": {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS_", "OMP_", "MKL_", "GOTO"))},
    }
    if OPENBLAS is not None:
        OPENBLAS.openblas_get_config.restype = ctypes.c_char_p
        OPENBLAS.openblas_get_corename.restype = ctypes.c_char_p
        evidence["openblas"] = {
            "config": OPENBLAS.openblas_get_config().decode(),
            "coreName": OPENBLAS.openblas_get_corename().decode(),
        }
    return evidence


def sgemm_gflops(threads: int, n: int = 1024, reps: int = 10) -> float:
    """Median GFLOP/s of torch.mm on two float32 [n, n] matrices (2 n^3 flops each)."""
    set_threads(threads)
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(n, n, generator=gen), torch.randn(n, n, generator=gen)
    for _ in range(2):
        torch.mm(a, b)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - t0)
    return 2 * n ** 3 / statistics.median(times) / 1e9


# ----------------------------------------------------------------------------------------------
# Benchmark
# ----------------------------------------------------------------------------------------------


def log(msg: str) -> None:
    print(f"[reference_torch] {msg}", file=sys.stderr, flush=True)


def measure(step: str, shape: Shape, threads: int, cfg: Config) -> Dict[str, Any]:
    """Fresh seeded model per measurement; `warmup` untimed steps, then `iters` individually timed ones."""
    set_threads(threads)
    runner = Runner(step, shape, cfg.seed)
    loss = None
    for _ in range(cfg.warmup):
        loss = runner.run()
    times = []
    for _ in range(cfg.iters):
        t0 = time.perf_counter()
        loss = runner.run()
        times.append(time.perf_counter() - t0)
    if loss is not None and not math.isfinite(loss):
        raise RuntimeError(f"{SCRIPT}: {shape.name}/{step} threads={threads}: non-finite loss {loss}")
    median_s = statistics.median(times)
    row = {
        "shape": shape.name,
        "step": step,
        "threads": threads,
        "msPerStep": round(median_s * 1e3, 3),
        "tokensPerSecond": round(shape.batch * shape.seqLen / median_s, 1),
        "paramsTrainable": runner.params_trainable,
        "msMin": round(min(times) * 1e3, 3),
        "msMax": round(max(times) * 1e3, 3),
        "lastLoss": None if loss is None else round(loss, 5),
    }
    log(f"{shape.name}/{step} threads={threads}: {row['msPerStep']} ms/step (median of {cfg.iters}), "
        f"{row['tokensPerSecond']} tok/s")
    return row


def best_rows(rows: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The fastest thread count per (shape, step), in first-seen order."""
    best: Dict[Tuple[str, str], Dict[str, Any]] = {}
    for row in rows:
        key = (row["shape"], row["step"])
        if key not in best or row["msPerStep"] < best[key]["msPerStep"]:
            best[key] = row
    keep = ("shape", "step", "threads", "msPerStep", "tokensPerSecond")
    return [{k: r[k] for k in keep} for r in best.values()]


def run_benchmark(cfg: Config) -> Dict[str, Any]:
    cpu_count = os.cpu_count() or 1
    load_before = os.getloadavg()[0]
    for n in cfg.threads:
        if n > cpu_count:
            log(f"warning: threads={n} exceeds os.cpu_count()={cpu_count}")
    blas = blas_evidence()
    sgemm = [{"threads": n, "gflops": round(sgemm_gflops(n), 1)} for n in cfg.threads]
    log("sgemm 1024^3: " + ", ".join(f"{s['gflops']} GFLOP/s @ {s['threads']} thr" for s in sgemm))
    if blas["openblas"] is None or max(s["gflops"] for s in sgemm) < 30:
        blas["warning"] = ("torch does not appear to use OpenBLAS (or it is very slow): the reference is "
                           "unfair; see bench/README.md (apt-get install libopenblas0-pthread)")
        log("warning: " + blas["warning"])
    rows = [measure(step, shape, n, cfg) for shape in cfg.shapes for step in cfg.steps for n in cfg.threads]
    return {
        "torchVersion": torch.__version__,
        "python": sys.version.split()[0],
        "cpuCount": cpu_count,
        "interopThreads": torch.get_num_interop_threads(),
        "loadAverage1m": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)},
        "blas": blas,
        "sgemmGflops": sgemm,
        "attention": ATTENTION_IMPL,
        "optimizer": {"name": "Adam", "lr": LR, "betas": [0.9, 0.999], "eps": 1e-8, "foreach": "default"},
        "config": {**asdict(cfg), "shapes": [asdict(s) for s in cfg.shapes]},
        "rows": rows,
        "best": best_rows(rows),
    }


# ----------------------------------------------------------------------------------------------
# Self-check
# ----------------------------------------------------------------------------------------------


def _snapshot(model: nn.Module) -> Dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def run_check() -> None:
    """Tiny-model assertions on the architecture, both training steps, eval, and config validation."""
    set_threads(1)
    tiny = Shape(name="tiny", vocab=50, dModel=16, nLayers=2, nHeads=2, dFF=32, maxLen=16,
                 batch=2, seqLen=8, promptLen=4)

    # Architecture: parameter count equals the formula; initial loss ~ ln(V) for near-zero logits.
    full = Runner("full", tiny, seed=0)
    n_params = sum(p.numel() for p in full.model.parameters())
    assert n_params == param_count_formula(tiny) == full.params_trainable, (n_params, param_count_formula(tiny))

    # Prompt step: the backbone is bit-identical afterwards, gets no grads, and the prompt moves.
    prompt = Runner("prompt", tiny, seed=0)
    before = _snapshot(prompt.model)
    assert prompt.prompt is not None
    prompt_before = prompt.prompt.detach().clone()
    with torch.no_grad():  # loss over the T text positions of the [B, P+T] sequence, computed the long way
        logits_all = prompt.model.logits(prompt.model.hidden(prompt.batch.ids, prompt.batch.pad_mask,
                                                             prompt.prompt))  # [B, P+T, V]
        assert logits_all.shape[1] == tiny.promptLen + tiny.seqLen
        expected_p = F.cross_entropy(logits_all[:, tiny.promptLen:].reshape(-1, tiny.vocab),
                                     prompt.batch.targets.reshape(-1)).item()
    loss_p = prompt.run()
    assert loss_p is not None and math.isfinite(loss_p), loss_p
    assert abs(loss_p - expected_p) < 1e-5, f"prompt loss {loss_p} != text-position loss {expected_p}"
    for name, p in prompt.model.named_parameters():
        assert torch.equal(p, before[name]), f"prompt step changed backbone weight {name}"
        assert p.grad is None, f"prompt step produced a gradient for backbone weight {name}"
    assert not torch.equal(prompt.prompt.detach(), prompt_before), "prompt step did not change the prompt"
    assert prompt.params_trainable == tiny.promptLen * tiny.dModel, prompt.params_trainable

    # Full step: every parameter tensor changes (position rows >= T get zero grad, others move).
    before = _snapshot(full.model)
    loss_f = full.run()
    assert loss_f is not None and math.isfinite(loss_f), loss_f
    assert abs(loss_f - math.log(tiny.vocab)) < 0.2, f"initial loss {loss_f} far from ln(V)={math.log(tiny.vocab)}"
    for name, p in full.model.named_parameters():
        assert not torch.equal(p, before[name]), f"full step left weight {name} unchanged"

    # Eval: right shape, finite, no autograd graph; causal: editing the last token leaves earlier logits alone.
    ev = Runner("eval", tiny, seed=0)
    with torch.no_grad():
        ids = ev.batch.ids.clone()
        a = ev.model.logits(ev.model.hidden(ids, ev.batch.pad_mask))  # [B, T, V]
        ids[:, -1] = (ids[:, -1] + 1) % tiny.vocab
        b = ev.model.logits(ev.model.hidden(ids, ev.batch.pad_mask))
    assert a.shape == (tiny.batch, tiny.seqLen, tiny.vocab) and not a.requires_grad
    assert torch.isfinite(a).all()
    assert torch.allclose(a[:, :-1], b[:, :-1]), "future token leaked into earlier positions (causal mask)"
    assert not torch.allclose(a[:, -1], b[:, -1]), "last position ignores its own token"
    assert ev.run() is None

    # Key-padding mask: masking key 0 changes later positions' outputs.
    with torch.no_grad():
        mask = ev.batch.pad_mask.clone()
        mask[:, 0] = False
        c = ev.model.logits(ev.model.hidden(ev.batch.ids, mask))
    assert not torch.allclose(a[:, 1:], c[:, 1:]), "key-padding mask has no effect"

    # Config validation names the field and the bad value.
    good = {"shapes": [{**asdict(tiny)}]}
    resolve_config(good)
    for bad, needle in [
        ({"shapes": [{**asdict(tiny), "nHeads": 3}]}, "shapes[0].nHeads"),
        ({"shapes": [{**asdict(tiny), "seqLen": 0}]}, "shapes[0].seqLen"),
        ({"shapes": [{**asdict(tiny), "promptLen": 9}]}, "shapes[0].promptLen"),
        ({**good, "steps": ["full", "train"]}, "steps[1]"),
        ({**good, "threads": [1, True]}, "threads[1]"),
        ({**good, "iters": 0}, "config.iters"),
        ({**good, "itres": 5}, '"itres"'),
        ({"steps": ["full"]}, '"shapes"'),
    ]:
        try:
            resolve_config(bad)
        except ConfigError as e:
            assert needle in str(e), f"error {e!s} does not name {needle}"
        else:
            raise AssertionError(f"config {bad} was accepted")

    # End-to-end: the benchmark JSON has the documented fields.
    cfg = resolve_config({**good, "warmup": 0, "iters": 2, "threads": [1]})
    out = run_benchmark(cfg)
    assert len(out["rows"]) == 3 and len(out["best"]) == 3
    assert {r["step"] for r in out["rows"]} == set(STEPS)
    json.dumps(out)
    log(f"check: prompt loss {loss_p:.4f}, full loss {loss_f:.4f}, params {n_params}")
    print("OK")


# ----------------------------------------------------------------------------------------------
# CLI
# ----------------------------------------------------------------------------------------------


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(prog=SCRIPT, description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--json", metavar="CONFIG", help="benchmark config as a JSON string")
    mode.add_argument("--check", action="store_true", help="self-test on a tiny model; prints OK")
    args = parser.parse_args(argv)

    try:
        torch.set_num_interop_threads(1)  # eager mode uses no inter-op parallelism; avoid an idle pool
    except RuntimeError as e:  # only possible before any parallel work has started
        log(f"warning: set_num_interop_threads failed: {e}")

    if args.check:
        run_check()
        return 0
    try:
        raw = json.loads(args.json)
    except json.JSONDecodeError as e:
        print(f"{SCRIPT}: --json: not valid JSON ({e})", file=sys.stderr)
        return 2
    try:
        cfg = resolve_config(raw)
    except ConfigError as e:
        print(str(e), file=sys.stderr)
        return 2
    result = run_benchmark(cfg)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

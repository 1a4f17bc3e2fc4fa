#!/usr/bin/env python3
"""Independent float64 numpy forward of the parity fixtures, written from the model description only.

It reads exactly what the C++ importer reads (config.json, safetensors shards / index, MXFP4 blocks and
scales) and must reproduce transformers' expected.safetensors. It is the executable form of the math
notes in tests/fixtures/parity/README.md; make_fixtures.py runs it as a last check.

Usage: python3 scripts/parity/numpy_reference.py [FIXTURES_DIR]
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import torch  # only to read BF16 safetensors
from safetensors import safe_open

REPO = Path(__file__).resolve().parents[2]

E2M1 = np.array([0, 0.5, 1, 1.5, 2, 3, 4, 6, -0.0, -0.5, -1, -1.5, -2, -3, -4, -6], dtype=np.float64)


# ------------------------------------------------------------------------------------------ loading

def load_tensors(d: Path) -> dict[str, np.ndarray]:
    idx = d / "model.safetensors.index.json"
    files = sorted(set(json.loads(idx.read_text())["weight_map"].values())) if idx.exists() else ["model.safetensors"]
    out = {}
    for f in files:
        with safe_open(str(d / f), "pt") as g:
            for k in g.keys():
                t = g.get_tensor(k)
                out[k] = t.numpy() if t.dtype == torch.uint8 else t.to(torch.float64).numpy()
    return out


def norm_config(c: dict) -> dict:
    """Accept both the transformers-5 spelling and the hub (4.x) spelling."""
    c = dict(c)
    c["n_experts"] = c.get("num_local_experts", c.get("num_experts"))
    rp = c.get("rope_parameters")
    if rp is None:
        rp = dict(c.get("rope_scaling") or {})
        rp.setdefault("rope_type", rp.pop("type", "default"))
        rp["rope_theta"] = c["rope_theta"]
    c["rope"] = rp
    return c


def mxfp4_dequant(blocks: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """blocks [..., G, 16] uint8, scales [..., G] uint8 -> [..., G*32]; low nibble = element 2j."""
    v = np.empty((*blocks.shape[:-1], 32))
    v[..., 0::2] = E2M1[blocks & 15]
    v[..., 1::2] = E2M1[blocks >> 4]
    v = v * np.exp2(scales.astype(np.float64) - 127)[..., None]
    return v.reshape(*blocks.shape[:-2], -1)


# quantizers (fixture 4: what `tachyon convert --dense fp8 --experts mxfp4` must do)

def _e4m3_values() -> np.ndarray:
    vals = {k * 2.0 ** -9 for k in range(8)}
    vals |= {(1 + m / 8) * 2.0 ** (e - 7) for e in range(1, 16) for m in range(8)}
    return np.array(sorted(v for v in vals if v <= 448))


def fp8_roundtrip(w: np.ndarray) -> np.ndarray:
    vals = _e4m3_values()
    w32 = w.astype(np.float32)
    out = np.empty_like(w32)
    for i in range(0, w.shape[0], 128):
        for j in range(0, w.shape[1], 128):
            b = w32[i:i + 128, j:j + 128]
            scale = np.float32(np.abs(b).max()) / np.float32(448.0)      # float32 division
            q = (b / scale).astype(np.float64)                           # float32 division, exact in f64
            mag = np.abs(q)
            k = np.clip(np.searchsorted(vals, mag), 1, len(vals) - 1)
            lo, hi = vals[k - 1], vals[k]
            up = (hi - mag < mag - lo) | ((hi - mag == mag - lo) & (k % 2 == 0))   # ties to even code
            r = np.sign(q) * np.where(up, hi, lo)
            out[i:i + 128, j:j + 128] = (r.astype(np.float32) * scale)          # float32 multiply
    return out.astype(np.float64)


def mxfp4_roundtrip(w: np.ndarray) -> np.ndarray:
    """floor rule along the last dim: e = floor(log2 amax) - 2, nearest E2M1, ties to even, saturate to 6."""
    x = w.reshape(*w.shape[:-1], -1, 32)
    amax = np.abs(x).max(-1, keepdims=True)
    e = np.floor(np.log2(np.where(amax > 0, amax, 1.0))) - 2
    y = np.abs(x) / np.exp2(e)
    grid = E2M1[:8]
    d = np.abs(y[..., None] - grid)
    c = np.argmin(d, -1)
    c2 = np.minimum(c + 1, 7)
    tie = (np.take_along_axis(d, c2[..., None], -1)[..., 0] == np.take_along_axis(d, c[..., None], -1)[..., 0])
    c = np.where(tie & (c % 2 == 1), c2, c)
    return (np.sign(x) * grid[c] * np.exp2(e)).reshape(w.shape)


# ------------------------------------------------------------------------------------------ math

def rmsnorm(x, w, eps):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w


def silu(x):
    return x / (1 + np.exp(-x))


def softmax(x):
    x = x - x.max(-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(-1, keepdims=True)


def rope_tables(c: dict, positions: np.ndarray):
    rp, d = c["rope"], c["head_dim"]
    base = rp["rope_theta"]
    inv = 1.0 / base ** (np.arange(0, d, 2) / d)
    scale = 1.0
    if rp["rope_type"] == "yarn":
        f, omax = rp["factor"], rp["original_max_position_embeddings"]
        bf, bs = rp.get("beta_fast") or 32, rp.get("beta_slow") or 1

        def corr_dim(rot):
            return d * math.log(omax / (rot * 2 * math.pi)) / (2 * math.log(base))
        low, high = corr_dim(bf), corr_dim(bs)
        if rp.get("truncate", True):
            low, high = math.floor(low), math.ceil(high)
        low, high = max(low, 0), min(high, d - 1)
        if low == high:
            high += 0.001
        ramp = np.clip((np.arange(d // 2) - low) / (high - low), 0, 1)   # 0 -> keep (extrapolate), 1 -> /factor
        inv = inv / f * ramp + inv * (1 - ramp)
        scale = rp.get("attention_factor") or (0.1 * math.log(f) + 1.0 if f > 1 else 1.0)
    else:
        assert rp["rope_type"] == "default", rp
    ang = positions[:, None] * inv[None, :]
    return np.cos(ang) * scale, np.sin(ang) * scale


def apply_rope(x, cos, sin):                       # x [T, heads, d]; rotate halves (not interleaved)
    h = x.shape[-1] // 2
    x1, x2 = x[..., :h], x[..., h:]
    c, s = cos[:, None, :], sin[:, None, :]
    return np.concatenate([x1 * c - x2 * s, x2 * c + x1 * s], -1)


def attention(q, k, v, window, sinks=None):
    """q [T, nq, d], k/v [T, nkv, d]. Query i sees keys j with j <= i and (window None or j > i - window)."""
    T, nq, d = q.shape
    rep = nq // k.shape[1]
    i = np.arange(T)[:, None]
    j = np.arange(T)[None, :]
    allowed = j <= i
    if window is not None:
        allowed &= j > i - window
    out = np.empty_like(q)
    for h in range(nq):
        s = q[:, h] @ k[:, h // rep].T / math.sqrt(d)
        s = np.where(allowed, s, -np.inf)
        if sinks is not None:                      # extra softmax column per head, dropped afterwards
            s = np.concatenate([s, np.full((T, 1), sinks[h])], 1)
            p = softmax(s)[:, :T]
        else:
            p = softmax(s)
        out[:, h] = p @ v[:, h // rep]
    return out


def forward(c: dict, W: dict, ids: np.ndarray) -> np.ndarray:
    arch = c["model_type"]
    T, H, d = len(ids), c["hidden_size"], c["head_dim"]
    eps = c["rms_norm_eps"]
    x = W["model.embed_tokens.weight"][ids]
    cos, sin = rope_tables(c, np.arange(T, dtype=np.float64))
    for L in range(c["num_hidden_layers"]):
        p = f"model.layers.{L}."
        lin = (lambda name, y: y @ W[p + name + ".weight"].T + W.get(p + name + ".bias", 0.0))
        h = rmsnorm(x, W[p + "input_layernorm.weight"], eps)
        q = lin("self_attn.q_proj", h).reshape(T, -1, d)
        k = lin("self_attn.k_proj", h).reshape(T, -1, d)
        v = lin("self_attn.v_proj", h).reshape(T, -1, d)
        if arch == "qwen3_moe":                    # per-head QK RMSNorm, before RoPE
            q = rmsnorm(q, W[p + "self_attn.q_norm.weight"], eps)
            k = rmsnorm(k, W[p + "self_attn.k_norm.weight"], eps)
            window = c["sliding_window"] if c.get("use_sliding_window") else None
            sinks = None
        else:
            window = c["sliding_window"] if c["layer_types"][L] == "sliding_attention" else None
            sinks = W[p + "self_attn.sinks"]
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        a = attention(q, k, v, window, sinks).reshape(T, -1)
        x = x + lin("self_attn.o_proj", a)
        h = rmsnorm(x, W[p + "post_attention_layernorm.weight"], eps)
        x = x + (qwen_mlp(c, W, p, h, L) if arch == "qwen3_moe" else gpt_oss_mlp(c, W, p, h))
    x = rmsnorm(x, W["model.norm.weight"], eps)
    head = W["model.embed_tokens.weight"] if c["tie_word_embeddings"] else W["lm_head.weight"]
    return x @ head.T


def qwen_mlp(c, W, p, h, L):
    moe = L not in c["mlp_only_layers"] and c["n_experts"] > 0 and (L + 1) % c["decoder_sparse_step"] == 0
    ffn = (lambda e, y: (silu(y @ W[e + "gate_proj.weight"].T) * (y @ W[e + "up_proj.weight"].T))
           @ W[e + "down_proj.weight"].T)
    if not moe:
        return ffn(p + "mlp.", h)
    k = c["num_experts_per_tok"]
    probs = softmax(h @ W[p + "mlp.gate.weight"].T)          # softmax over ALL experts, then top-k
    out = np.zeros_like(h)
    for t in range(len(h)):
        top = np.argsort(-probs[t])[:k]
        w = probs[t, top]
        if c["norm_topk_prob"]:
            w = w / w.sum()
        for e, we in zip(top, w):
            out[t] += we * ffn(f"{p}mlp.experts.{e}.", h[t:t + 1])[0]
    return out


def gpt_oss_mlp(c, W, p, h):
    k, lim, alpha = c["num_experts_per_tok"], c["swiglu_limit"], c.get("swiglu_alpha", 1.702)
    w1 = mxfp4_dequant(W[p + "mlp.experts.gate_up_proj_blocks"], W[p + "mlp.experts.gate_up_proj_scales"])  # [E,2I,H]
    w2 = mxfp4_dequant(W[p + "mlp.experts.down_proj_blocks"], W[p + "mlp.experts.down_proj_scales"])        # [E,H,I]
    b1, b2 = W[p + "mlp.experts.gate_up_proj_bias"], W[p + "mlp.experts.down_proj_bias"]
    logits = h @ W[p + "mlp.router.weight"].T + W[p + "mlp.router.bias"]
    out = np.zeros_like(h)
    for t in range(len(h)):
        top = np.argsort(-logits[t])[:k]                       # top-k on raw logits, softmax over the k
        w = softmax(logits[t, top])
        for e, we in zip(top, w):
            gu = w1[e] @ h[t] + b1[e]
            g, u = np.minimum(gu[0::2], lim), np.clip(gu[1::2], -lim, lim)   # interleaved rows
            y = w2[e] @ ((u + 1) * g / (1 + np.exp(-alpha * g))) + b2[e]
            out[t] += we * y
    return out


# ------------------------------------------------------------------------------------------ check

def check_fixture(root: Path, name: str) -> float:
    d = root / name
    readme = d / "README"
    wdir = d
    if readme.exists() and readme.read_text().startswith("weights:"):
        wdir = (d / readme.read_text().split("\n")[0].split(":", 1)[1].strip()).resolve()
    c = norm_config(json.loads((wdir / "config.json").read_text()))
    W = load_tensors(wdir)
    if name == "qwen3_moe_fp8_mxfp4":
        for key in list(W):
            if ".mlp.experts." in key:
                W[key] = mxfp4_roundtrip(W[key])
            elif key.endswith(("q_proj.weight", "k_proj.weight", "v_proj.weight", "o_proj.weight",
                               "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight")) \
                    or key == "lm_head.weight":
                W[key] = fp8_roundtrip(W[key])
    with safe_open(str(d / "expected.safetensors"), "np") as g:
        exp = {k: g.get_tensor(k) for k in g.keys()}
    T = len(exp["prompt_ids"])
    ids = np.concatenate([exp["prompt_ids"], exp["generated_ids"][:-1]]).astype(np.int64)
    logits = forward(c, W, ids)
    err = max(np.abs(logits[:T] - exp["prefill_logits"]).max(), np.abs(logits[T - 1:] - exp["generated_logits"]).max())
    greedy = logits[T - 1:].argmax(-1)
    assert np.array_equal(greedy, exp["generated_ids"]), f"{name}: greedy tokens differ"
    assert err < 1e-4, f"{name}: max |logit diff| {err}"
    return float(err)


FIXTURES = ("qwen3_moe", "qwen3_moe_tied_sharded", "gpt_oss", "qwen3_moe_fp8_mxfp4")


def check_all(root: Path) -> dict[str, float]:
    return {n: check_fixture(root, n) for n in FIXTURES}


if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "tests" / "fixtures" / "parity"
    for n, e in check_all(root).items():
        print(f"{n}: numpy float64 reference vs transformers, max |logit diff| = {e:.3e}")

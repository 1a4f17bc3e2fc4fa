#!/usr/bin/env python3
"""A readable PyTorch reference of the DFlash drafter's forward pass.

Written for Tachyon from the description in reference/dflash.md (sections 1, 2, 7 and 8), not from any
repository's code. It is the independent half of the drafter parity test: the C++ CPU drafter
(runtime/cpu_drafter.cpp) keeps a KV cache of context and drafts incrementally; this file recomputes
every draft from scratch in one pass over [context ; block] with an explicit attention mask.

The math (one draft for an anchor token at position p, block size B):

  ctx_j   = RMSNorm_hidden(fc(concat_i taps[j, i]))          for every committed position j < p
            (taps[j, i] = the target's residual stream after decoder layer target_layer_ids[i],
             i.e. Hugging Face's hidden_states[target_layer_ids[i] + 1])
  x       = [embed(anchor), mask_emb, ..., mask_emb]           B rows at positions p .. p+B-1
            (mask_emb = the drafter's own mask embedding if it ships one, else embed(mask_token_id);
             embed and lm_head are the TARGET's)
  per draft layer:
    h     = RMSNorm_in(x)                                       the block only; ctx is NOT normed here
    Q     = RoPE(q_norm(h Wq^T + bq))                           block positions
    K     = RoPE(k_norm([ctx ; h] Wk^T + bk))                   context then block positions
    V     = ([ctx ; h] Wv^T + bv) * value_scale
    A     = softmax over visible keys of Q K^T / sqrt(head_dim) (+ one sink logit per head, no value)
            key j visible from query position q: (not causal or j <= q) and (no window or j > q - W)
    x     = x + (A V) Wo^T + bo
    x     = x + down(silu(gate(h2)) * up(h2)),  h2 = RMSNorm_post(x)
  logits  = RMSNorm_final(x[1:]) lm_head^T                      B-1 rows; draft tokens = argmax

Per-layer attention (sliding / window / causal) is resolved from the config as docs describe:
use_swa makes every layer sliding; otherwise layer_types says which are; the window is
dflash_config.swa_window_size, else sliding_window; causal = dflash_config.causal if given, else
true exactly for the layers layer_types marks sliding.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field

import torch
from safetensors.torch import load_file


@dataclass
class DrafterSpec:
    hidden: int
    layers: int
    q_heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    eps: float
    rope_theta: float
    rotary_dim: int
    block_size: int
    mask_token_id: int
    target_layer_ids: list[int]
    attention_bias: bool
    sinks: bool
    value_scale: float
    window: list[int] = field(default_factory=list)   # per layer, 0 = none
    causal: list[bool] = field(default_factory=list)  # per layer


def _pick(cfg: dict, dflash: dict, name: str, default=None):
    """A field that may be at the top level or inside dflash_config."""
    if dflash.get(name) is not None:
        return dflash[name]
    if cfg.get(name) is not None:
        return cfg[name]
    return default


def parse_config(cfg: dict, num_target_layers: int | None = None) -> DrafterSpec:
    dflash = cfg.get("dflash_config") or {}
    layers = cfg["num_hidden_layers"]
    q_heads = cfg["num_attention_heads"]
    head_dim = cfg.get("head_dim") or cfg["hidden_size"] // q_heads
    rope = cfg.get("rope_parameters") or {}
    theta = rope.get("rope_theta", cfg.get("rope_theta", 10000.0))
    partial = rope.get("partial_rotary_factor", cfg.get("partial_rotary_factor", 1.0))

    ids = _pick(cfg, dflash, "target_layer_ids")
    if ids is None:
        n_target = cfg.get("num_target_layers") or num_target_layers
        ids = default_target_layer_ids(n_target, layers)

    types = cfg.get("layer_types") or ["full_attention"] * layers
    if cfg.get("use_sliding_window"):
        raise ValueError("use_sliding_window without layer_types is not covered by this reference")
    typed_sliding = [t == "sliding_attention" for t in types]
    use_swa = bool(_pick(cfg, dflash, "use_swa", False))
    if use_swa and 0 < sum(typed_sliding) < layers:
        raise ValueError("use_swa with mixed layer_types is ambiguous")
    window_size = _pick(cfg, dflash, "swa_window_size") or cfg.get("sliding_window") or 0
    sliding = [use_swa or s for s in typed_sliding]
    causal_override = _pick(cfg, dflash, "causal")
    sinks = bool(_pick(cfg, dflash, "attention_sink_bias", False) or cfg.get("add_swa_attention_sink_bias", False))

    return DrafterSpec(
        hidden=cfg["hidden_size"], layers=layers, q_heads=q_heads,
        kv_heads=cfg.get("num_key_value_heads", q_heads), head_dim=head_dim,
        intermediate=cfg["intermediate_size"], eps=cfg.get("rms_norm_eps", 1e-6), rope_theta=theta,
        rotary_dim=int(head_dim * partial), block_size=_pick(cfg, dflash, "block_size"),
        mask_token_id=_pick(cfg, dflash, "mask_token_id"), target_layer_ids=list(ids),
        attention_bias=bool(cfg.get("attention_bias", False)), sinks=sinks,
        value_scale=float(_pick(cfg, dflash, "attention_value_scale", 1.0)),
        window=[window_size if s else 0 for s in sliding],
        causal=[bool(causal_override) if causal_override is not None else t for t in typed_sliding],
    )


def default_target_layer_ids(num_target_layers: int, num_draft_layers: int) -> list[int]:
    """Evenly spaced from layer 1 to layer N-3 (Python's round: half to even)."""
    if num_draft_layers == 1:
        return [num_target_layers // 2]
    span = (num_target_layers - 3) - 1
    return [int(round(1 + i * span / (num_draft_layers - 1))) for i in range(num_draft_layers)]


def load_drafter(directory: str, dtype=torch.float32) -> tuple[DrafterSpec, dict[str, torch.Tensor]]:
    """The spec and the weights (names without a `model.` prefix), all converted to `dtype`."""
    with open(os.path.join(directory, "config.json")) as f:
        spec = parse_config(json.load(f))
    weights: dict[str, torch.Tensor] = {}
    for name in sorted(os.listdir(directory)):
        if name.endswith(".safetensors"):
            for key, value in load_file(os.path.join(directory, name)).items():
                weights[key.removeprefix("model.")] = value.to(dtype)
    return spec, weights


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def apply_rope(x: torch.Tensor, positions: torch.Tensor, spec: DrafterSpec) -> torch.Tensor:
    """x [T, heads, head_dim]; rotate-half on the first rotary_dim dims, the rest pass through."""
    r = spec.rotary_dim
    inv_freq = 1.0 / (spec.rope_theta ** (torch.arange(0, r, 2, dtype=torch.float64) / r))
    angle = positions.to(torch.float64)[:, None] * inv_freq[None, :]          # [T, r/2]
    cos = torch.cat([angle.cos(), angle.cos()], -1).to(x.dtype)[:, None, :]   # [T, 1, r]
    sin = torch.cat([angle.sin(), angle.sin()], -1).to(x.dtype)[:, None, :]
    rot, rest = x[..., :r], x[..., r:]
    half = r // 2
    rotated_half = torch.cat([-rot[..., half:], rot[..., :half]], -1)
    return torch.cat([rot * cos + rotated_half * sin, rest], -1)


def visible(q_pos: torch.Tensor, k_pos: torch.Tensor, causal: bool, window: int) -> torch.Tensor:
    """[Tq, Tk] booleans: which keys each query sees."""
    ok = torch.ones(len(q_pos), len(k_pos), dtype=torch.bool)
    if causal:
        ok &= k_pos[None, :] <= q_pos[:, None]
    if window > 0:
        ok &= k_pos[None, :] > q_pos[:, None] - window
    return ok


def linear(x: torch.Tensor, w: dict, name: str, bias: bool) -> torch.Tensor:
    y = x @ w[name + ".weight"].T
    return y + w[name + ".bias"] if bias else y


def context_features(spec: DrafterSpec, w: dict, taps: torch.Tensor) -> torch.Tensor:
    """taps [n, K, H] -> ctx [n, H]."""
    return rms_norm(taps.reshape(len(taps), -1) @ w["fc.weight"].T, w["hidden_norm.weight"], spec.eps)


def mask_embedding(spec: DrafterSpec, w: dict, embed: torch.Tensor) -> torch.Tensor:
    if "mask_embedding" in w:
        return w["mask_embedding"].reshape(-1)
    return embed[spec.mask_token_id]


def draft_logits(spec: DrafterSpec, w: dict, embed: torch.Tensor, lm_head: torch.Tensor, taps: torch.Tensor,
                 anchor: int, block_size: int | None = None) -> torch.Tensor:
    """Logits [B-1, V] of one draft with context taps [p, K, H] (positions 0..p-1), anchor at p."""
    B = block_size or spec.block_size
    p = len(taps)
    D, hq, hkv = spec.head_dim, spec.q_heads, spec.kv_heads
    ctx = context_features(spec, w, taps)
    x = torch.cat([embed[anchor][None, :], mask_embedding(spec, w, embed)[None, :].expand(B - 1, -1)], 0)
    q_pos = torch.arange(p, p + B)
    k_pos = torch.arange(0, p + B)
    for l in range(spec.layers):
        a = f"layers.{l}."
        h = rms_norm(x, w[a + "input_layernorm.weight"], spec.eps)
        kv_in = torch.cat([ctx, h], 0)  # context rows are used as they are (already hidden_norm'ed)
        q = linear(h, w, a + "self_attn.q_proj", spec.attention_bias).reshape(B, hq, D)
        k = linear(kv_in, w, a + "self_attn.k_proj", spec.attention_bias).reshape(p + B, hkv, D)
        v = linear(kv_in, w, a + "self_attn.v_proj", spec.attention_bias).reshape(p + B, hkv, D) * spec.value_scale
        q = apply_rope(rms_norm(q, w[a + "self_attn.q_norm.weight"], spec.eps), q_pos, spec)
        k = apply_rope(rms_norm(k, w[a + "self_attn.k_norm.weight"], spec.eps), k_pos, spec)
        group = hq // hkv
        k = k.repeat_interleave(group, dim=1)  # query head i reads kv head i // group
        v = v.repeat_interleave(group, dim=1)
        scores = torch.einsum("qhd,khd->hqk", q, k) / math.sqrt(D)
        scores = scores.masked_fill(~visible(q_pos, k_pos, spec.causal[l], spec.window[l])[None], float("-inf"))
        if spec.sinks:
            sink = w[a + "self_attn.attention_sink_bias"].reshape(hq, 1, 1).expand(hq, B, 1)
            probs = torch.softmax(torch.cat([scores, sink], -1), -1)[..., :-1]
        else:
            probs = torch.softmax(scores, -1)
        attn = torch.einsum("hqk,khd->qhd", probs, v).reshape(B, hq * D)
        x = x + linear(attn, w, a + "self_attn.o_proj", spec.attention_bias)
        h2 = rms_norm(x, w[a + "post_attention_layernorm.weight"], spec.eps)
        gate = torch.nn.functional.silu(h2 @ w[a + "mlp.gate_proj.weight"].T)
        x = x + (gate * (h2 @ w[a + "mlp.up_proj.weight"].T)) @ w[a + "mlp.down_proj.weight"].T
    return rms_norm(x[1:], w["norm.weight"], spec.eps) @ lm_head.T


def greedy(logits: torch.Tensor) -> torch.Tensor:
    """Arg-max per row, lowest id on ties (torch.argmax returns the first maximum)."""
    return torch.argmax(logits, -1)

#!/usr/bin/env python3
"""Build tiny random Hugging Face MoE models and record transformers' outputs.

The C++ CPU reference is tested against these fixtures in CI (DESIGN.md section 5, rung 1).
Everything runs in float32 on CPU with attn_implementation="eager" and experts_implementation="eager".

Writes tests/fixtures/parity/<name>/ for:
  qwen3_moe               Qwen3-MoE, 2 dense + 2 MoE layers, BF16 weights, untied
  qwen3_moe_tied_sharded  Qwen3-MoE, 3 MoE layers, tied embeddings, norm_topk_prob=false, all layers
                          sliding (window 6), F32 weights in two shards, legacy (hub-style) config.json
  gpt_oss                 gpt-oss, 4 layers sliding/full, YaRN, sinks, MXFP4 experts in the shipped layout
  qwen3_moe_fp8_mxfp4     expected outputs of the qwen3_moe weights after FP8 (dense) / MXFP4 (experts)
                          round trips; the weights are those of ../qwen3_moe

Each fixture has expected.safetensors with
  prompt_ids        int32   [T]
  prefill_logits    float32 [T, V]   full forward over the prompt
  generated_ids     int32   [S]      greedy tokens, decoded one at a time through past_key_values
  generated_logits  float32 [S, V]   row s is the logits row generated_ids[s] is the argmax of
                                     (row 0 == prefill_logits[T-1])

Usage: python3 scripts/parity/make_fixtures.py [--out DIR]
Deterministic: fixed seeds, no dependence on torch's global RNG.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import zlib
from pathlib import Path

import numpy as np
import torch
import transformers
from safetensors import safe_open
from safetensors.torch import save_file
from transformers import GptOssConfig, GptOssForCausalLM, Qwen3MoeConfig, Qwen3MoeForCausalLM

REPO = Path(__file__).resolve().parents[2]
S_GEN = 8                 # greedy tokens generated after the prompt
LOGIT_GAP = 5e-3          # min top1 - top2 logit gap for every generated row (robust greedy comparison)
ROUTER_GAP = 1e-3         # min gap between the k-th and (k+1)-th router selection score, every token and MoE layer
MAX_PROMPT_TRIES = 200

torch.set_num_threads(1)  # fixed reduction order -> reproducible bytes on one machine
torch.use_deterministic_algorithms(True)


# ----------------------------------------------------------------------------------------------
# Numeric formats (own implementations)
# ----------------------------------------------------------------------------------------------

E2M1_VALUES = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0], dtype=np.float64)


def mxfp4_quantize(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """OCP MX floor rule along the last dimension.

    w: float32 [..., K], K % 32 == 0.
    Returns blocks uint8 [..., K/32, 16] (element 2j in the low nibble of byte j, 2j+1 in the high nibble)
    and scales uint8 [..., K/32] (E8M0, byte = e + 127; all-zero block -> byte 0).
    e = floor(log2(amax)) - 2; element = nearest E2M1 value of x / 2^e, ties to the even code, |.| > 6 -> 6.
    """
    w = np.asarray(w, dtype=np.float32)
    K = w.shape[-1]
    assert K % 32 == 0, K
    x = w.reshape(*w.shape[:-1], K // 32, 32)
    amax = np.abs(x).max(axis=-1)
    _, ex = np.frexp(amax)                 # amax = m * 2^ex, m in [0.5, 1)  ->  floor(log2(amax)) = ex - 1
    e = (ex - 1 - 2).astype(np.int64)
    zero = amax == 0
    e = np.where(zero, -127, e)
    assert e.min() >= -127 and e.max() <= 127, "scale exponent out of E8M0 range"
    scales = (e + 127).astype(np.uint8)
    y = np.ldexp(x.astype(np.float64), -e[..., None])   # exact (power-of-two scaling)
    mag = np.abs(y)
    dist = np.abs(mag[..., None] - E2M1_VALUES)          # [..., 32, 8]
    code = np.argmin(dist, axis=-1)                     # lowest index among equals
    # ties: argmin picked the lower code; move to the upper one if it is the even code
    nxt = np.minimum(code + 1, 7)
    d_code = np.take_along_axis(dist, code[..., None], -1)[..., 0]
    d_next = np.take_along_axis(dist, nxt[..., None], -1)[..., 0]
    tie_up = (code % 2 == 1) & (nxt != code) & (d_next == d_code)
    code = np.where(tie_up, nxt, code).astype(np.uint8)
    code = code | np.where(y < 0, 8, 0).astype(np.uint8)
    blocks = (code[..., 0::2] | (code[..., 1::2] << 4)).astype(np.uint8)
    return blocks, scales


def mxfp4_dequantize(blocks: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """Inverse of the packing: returns float32 [..., K]."""
    lut = np.concatenate([E2M1_VALUES, -E2M1_VALUES]).astype(np.float32)
    lo = lut[blocks & 0x0F]
    hi = lut[blocks >> 4]
    vals = np.empty((*blocks.shape[:-1], 32), dtype=np.float32)
    vals[..., 0::2] = lo
    vals[..., 1::2] = hi
    e = scales.astype(np.int32) - 127
    vals = np.ldexp(vals, e[..., None]).astype(np.float32)
    return vals.reshape(*blocks.shape[:-2], blocks.shape[-2] * 32)


def mxfp4_roundtrip(w: np.ndarray) -> np.ndarray:
    b, s = mxfp4_quantize(w)
    return mxfp4_dequantize(b, s)


def fp8_e4m3_rne_reference(x: np.ndarray) -> np.ndarray:
    """Own float32 -> E4M3 (fn) -> float32, round to nearest even; used to check torch's cast."""
    x = np.asarray(x, dtype=np.float64)
    mag = np.abs(x)
    # representable magnitudes: subnormals k*2^-9 (k=0..7), normals (1+m/8)*2^(E-7), E=1..15, max 448
    vals = [k * 2.0 ** -9 for k in range(8)]
    for E in range(1, 16):
        for m in range(8):
            v = (1 + m / 8) * 2.0 ** (E - 7)
            if v <= 448:
                vals.append(v)
    vals = np.array(sorted(set(vals)))
    idx = np.clip(np.searchsorted(vals, mag), 1, len(vals) - 1)
    lo, hi = vals[idx - 1], vals[idx]
    d_lo, d_hi = mag - lo, hi - mag
    # code parity: index in the sorted list == magnitude code
    pick_hi = (d_hi < d_lo) | ((d_hi == d_lo) & (idx % 2 == 0))
    r = np.where(pick_hi, hi, lo)
    r = np.where(mag >= vals[-1], vals[-1], r)
    return (np.sign(x) * r).astype(np.float32)


def fp8_block_roundtrip(w: torch.Tensor, block: int = 128) -> torch.Tensor:
    """FP8 E4M3 with one float32 scale per 128x128 block (partial edge blocks).

    scale = amax(block) / 448 (float32), code = (w / scale).to(float8_e4m3fn), dequant = code * scale.
    """
    assert w.dtype == torch.float32 and w.dim() == 2
    N, K = w.shape
    out = torch.empty_like(w)
    for i in range(0, N, block):
        for j in range(0, K, block):
            b = w[i:i + block, j:j + block]
            amax = b.abs().max()
            assert amax > 0
            scale = amax / 448.0
            q = (b / scale)
            code = q.to(torch.float8_e4m3fn)
            ref = fp8_e4m3_rne_reference(q.numpy())
            assert np.array_equal(code.to(torch.float32).numpy(), ref), "torch e4m3 cast != own RNE reference"
            out[i:i + block, j:j + block] = code.to(torch.float32) * scale
    return out


def bf16_round(t: torch.Tensor) -> torch.Tensor:
    return t.to(torch.bfloat16).to(torch.float32)


# ----------------------------------------------------------------------------------------------
# Random weights
# ----------------------------------------------------------------------------------------------

def rng_for(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def randn(seed: int, name: str, shape, std: float = 1.0, mean: float = 0.0) -> torch.Tensor:
    a = rng_for(seed, name).standard_normal(size=tuple(shape)).astype(np.float32)
    return torch.from_numpy(a * np.float32(std) + np.float32(mean))


def is_norm(name: str) -> bool:
    return name.endswith("norm.weight")


def init_params(model: torch.nn.Module, seed: int, rules) -> dict[str, torch.Tensor]:
    """Fill every parameter with a deterministic random tensor chosen by `rules(name, shape)`."""
    values = {}
    with torch.no_grad():
        for name, p in model.named_parameters():
            std, mean = rules(name, tuple(p.shape))
            values[name] = randn(seed, name, p.shape, std, mean)
    return values


def load_params(model: torch.nn.Module, values: dict[str, torch.Tensor]) -> None:
    with torch.no_grad():
        params = dict(model.named_parameters())
        assert set(params) == set(values), set(params) ^ set(values)
        for name, v in values.items():
            params[name].copy_(v)


# ----------------------------------------------------------------------------------------------
# Reference runs
# ----------------------------------------------------------------------------------------------

class RouterTap:
    """Records router selection scores (the values top-k is taken over) during forwards."""

    def __init__(self, model: torch.nn.Module, router_cls_name: str, top_k: int):
        self.top_k = top_k
        self.min_gap = float("inf")
        self.calls = 0
        self.handles = []
        for mod in model.modules():
            if type(mod).__name__ == router_cls_name:
                self.handles.append(mod.register_forward_hook(self._hook))

    def _hook(self, mod, inp, out):
        logits = out[0].detach().to(torch.float32).reshape(-1, out[0].shape[-1])
        srt = torch.sort(logits, dim=-1, descending=True).values
        gap = (srt[:, self.top_k - 1] - srt[:, self.top_k]).min().item()
        self.min_gap = min(self.min_gap, gap)
        self.calls += 1

    def close(self):
        for h in self.handles:
            h.remove()


@torch.no_grad()
def run_reference(model, prompt: list[int], S: int = S_GEN) -> dict[str, np.ndarray]:
    T = len(prompt)
    ids = torch.tensor([prompt], dtype=torch.long)
    out = model(input_ids=ids, use_cache=True)
    prefill = out.logits[0].to(torch.float32).clone()
    past = out.past_key_values
    gen_ids, gen_rows = [], []
    row = prefill[T - 1]
    for s in range(S):
        tok = int(torch.argmax(row))
        gen_ids.append(tok)
        gen_rows.append(row.clone())
        if s == S - 1:
            break
        out = model(input_ids=torch.tensor([[tok]]), past_key_values=past, use_cache=True,
                    position_ids=torch.tensor([[T + s]]))
        past = out.past_key_values
        row = out.logits[0, -1].to(torch.float32)
    return {
        "prompt_ids": np.asarray(prompt, dtype=np.int32),
        "prefill_logits": prefill.numpy().astype(np.float32),
        "generated_ids": np.asarray(gen_ids, dtype=np.int32),
        "generated_logits": torch.stack(gen_rows).numpy().astype(np.float32),
    }


def logit_gap(rows: np.ndarray) -> float:
    srt = np.sort(rows, axis=-1)
    return float((srt[:, -1] - srt[:, -2]).min())


@torch.no_grad()
def cross_check(model, exp: dict[str, np.ndarray], tag: str) -> None:
    """Incremental decoding must agree with one full forward, and with transformers' generate()."""
    T = len(exp["prompt_ids"])
    full = np.concatenate([exp["prompt_ids"], exp["generated_ids"][:-1]]).astype(np.int64)
    logits = model(input_ids=torch.from_numpy(full)[None], use_cache=False).logits[0].numpy()
    np.testing.assert_allclose(logits[:T], exp["prefill_logits"], rtol=0, atol=1e-5, err_msg=tag)
    np.testing.assert_allclose(logits[T - 1:], exp["generated_logits"], rtol=0, atol=1e-4, err_msg=tag)
    g = model.generate(torch.from_numpy(exp["prompt_ids"].astype(np.int64))[None], do_sample=False,
                       max_new_tokens=S_GEN, min_new_tokens=S_GEN, pad_token_id=0)
    assert np.array_equal(g[0, T:].numpy(), exp["generated_ids"]), f"{tag}: generate() differs"


@torch.no_grad()
def sensitivity(model, exp: dict[str, np.ndarray], mutations: dict) -> dict[str, float]:
    """max |delta logits| over prompt + generated tokens (teacher forced) when one feature is switched off.

    Diagnostics only: shows that every feature the fixture is meant to test actually moves the logits.
    """
    import copy
    full = np.concatenate([exp["prompt_ids"], exp["generated_ids"][:-1]]).astype(np.int64)
    ids = torch.from_numpy(full)[None]
    base = model(input_ids=ids, use_cache=False).logits[0]
    res = {}
    for name, fn in mutations.items():
        m = copy.deepcopy(model)
        fn(m)
        res[name] = float((m(input_ids=ids, use_cache=False).logits[0] - base).abs().max())
    return res


def _modules(model, cls_name):
    return [m for m in model.modules() if type(m).__name__ == cls_name]


def _qk_norm_off(m):
    for a in _modules(m, "Qwen3MoeAttention"):
        a.q_norm = torch.nn.Identity()
        a.k_norm = torch.nn.Identity()


def _toggle_norm_topk(m):
    for r in _modules(m, "Qwen3MoeTopKRouter"):
        r.norm_topk_prob = not r.norm_topk_prob


def _qwen_sliding_off(m):
    m.config.sliding_window = None
    for a in _modules(m, "Qwen3MoeAttention"):
        a.sliding_window = None


def _rope_off(m):
    re = m.model.rotary_emb
    re.inv_freq.zero_()


def _oss_sinks_off(m):
    for a in _modules(m, "GptOssAttention"):
        a.sinks.fill_(-1e30)


def _oss_sliding_off(m):
    m.config.layer_types = ["full_attention"] * len(m.config.layer_types)
    for a in _modules(m, "GptOssAttention"):
        a.sliding_window = None


def _oss_yarn_off(m):
    """plain RoPE with the same theta, no attention scaling"""
    re = m.model.rotary_emb
    dim = re.inv_freq.numel() * 2
    theta = m.config.rope_parameters["rope_theta"]
    re.inv_freq.copy_(1.0 / (theta ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim)))
    re.attention_scaling = 1.0


def _oss_yarn_freq_off(m):
    """plain RoPE frequencies, YaRN attention scaling kept"""
    scaling = m.model.rotary_emb.attention_scaling
    _oss_yarn_off(m)
    m.model.rotary_emb.attention_scaling = scaling


def _oss_yarn_scaling_off(m):
    m.model.rotary_emb.attention_scaling = 1.0


def _oss_clamp_off(m):
    for e in _modules(m, "GptOssExperts"):
        e.limit = float("inf")


def _oss_router_bias_off(m):
    for r in _modules(m, "GptOssTopKRouter"):
        r.bias.zero_()


def _oss_attn_bias_off(m):
    for a in _modules(m, "GptOssAttention"):
        for p in (a.q_proj, a.k_proj, a.v_proj, a.o_proj):
            p.bias.zero_()


def _oss_expert_bias_off(m):
    for e in _modules(m, "GptOssExperts"):
        e.gate_up_proj_bias.zero_()
        e.down_proj_bias.zero_()


def search_prompt(models_and_taps, V: int, T: int, seed: int) -> tuple[list[int], list[dict], dict]:
    """First prompt (seed, seed+1, ...) whose greedy and routing decisions all have safe margins."""
    for attempt in range(MAX_PROMPT_TRIES):
        prompt = np.random.default_rng([seed, attempt]).integers(0, V, size=T).tolist()
        results, ok, stats = [], True, {}
        for i, (model, tap) in enumerate(models_and_taps):
            tap.min_gap = float("inf")
            exp = run_reference(model, prompt)
            lg = logit_gap(exp["generated_logits"])
            stats[f"model{i}"] = {"logit_gap": lg, "router_gap": tap.min_gap}
            if lg < LOGIT_GAP or tap.min_gap < ROUTER_GAP:
                ok = False
                break
            results.append(exp)
        if ok:
            stats["attempt"] = attempt
            return prompt, results, stats
    raise RuntimeError("no prompt with safe margins found")


def save_expected(path: Path, exp: dict[str, np.ndarray], meta: dict[str, str]) -> None:
    # safetensors serialises a multi-key metadata map in random order, so provenance goes into ONE key
    # (a JSON string with sorted keys) to keep the file byte-identical across runs
    tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in exp.items()}
    save_file(tensors, str(path), metadata={"tachyon_parity": json.dumps(meta, sort_keys=True)})


def version_meta() -> dict[str, str]:
    return {"transformers": transformers.__version__, "torch": torch.__version__.split("+")[0],
            "numpy": np.__version__, "generator": "scripts/parity/make_fixtures.py"}


def reset_dir(d: Path) -> None:
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)


def assert_same_params(model, values: dict[str, torch.Tensor], tag: str) -> None:
    params = dict(model.named_parameters())
    for name, v in values.items():
        assert name in params, f"{tag}: {name} missing after load"
        assert torch.equal(params[name].detach().to(torch.float32), v), f"{tag}: {name} differs after load"


def load_kwargs() -> dict:
    return {"dtype": torch.float32, "attn_implementation": "eager", "experts_implementation": "eager"}


def dir_size(d: Path) -> int:
    return sum(f.stat().st_size for f in d.rglob("*") if f.is_file())


# ----------------------------------------------------------------------------------------------
# Qwen3-MoE
# ----------------------------------------------------------------------------------------------

def qwen_rules(name: str, shape, embed_std: float = 1.0):
    if is_norm(name):
        return 0.15, 1.0                                    # q_norm/k_norm/input/post/final: ~1 +- 0.15
    if name.endswith("embed_tokens.weight"):
        return embed_std, 0.0
    if name.endswith("mlp.gate.weight"):                    # router [E, H]
        return 1.0 / np.sqrt(shape[1]), 0.0
    if name.endswith("experts.gate_up_proj"):               # [E, 2I, H]
        return 1.0 / np.sqrt(shape[2]), 0.0
    if name.endswith("experts.down_proj"):                  # [E, H, I]
        return 1.0 / np.sqrt(shape[2]), 0.0
    if len(shape) == 2:                                      # nn.Linear [out, in]
        return 1.0 / np.sqrt(shape[1]), 0.0
    raise ValueError(name)


QWEN_FIXTURE1 = dict(
    vocab_size=400, hidden_size=64, intermediate_size=96, moe_intermediate_size=32, num_hidden_layers=4,
    num_attention_heads=4, num_key_value_heads=2, head_dim=16, num_experts=8, num_experts_per_tok=2,
    norm_topk_prob=True, mlp_only_layers=[0, 1], decoder_sparse_step=1, tie_word_embeddings=False,
    rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}, max_position_embeddings=4096,
    rms_norm_eps=1e-6, use_sliding_window=False,
)

QWEN_FIXTURE2 = dict(
    vocab_size=352, hidden_size=64, intermediate_size=128, moe_intermediate_size=32, num_hidden_layers=3,
    num_attention_heads=8, num_key_value_heads=2, head_dim=16, num_experts=8, num_experts_per_tok=3,
    norm_topk_prob=False, mlp_only_layers=[], decoder_sparse_step=1, tie_word_embeddings=True,
    rope_parameters={"rope_type": "default", "rope_theta": 10000.0}, max_position_embeddings=2048,
    rms_norm_eps=1e-6, use_sliding_window=True, sliding_window=6,
)


def qwen_model(cfg_kwargs: dict) -> Qwen3MoeForCausalLM:
    cfg = Qwen3MoeConfig(**cfg_kwargs)
    model = Qwen3MoeForCausalLM(cfg).to(torch.float32)
    model.set_attn_implementation("eager")
    model.set_experts_implementation("eager")
    return model.eval()


def qwen_fp8_mxfp4_values(values: dict[str, torch.Tensor], cfg: dict) -> dict[str, torch.Tensor]:
    """Fixture 4's weights: dense matrices through FP8 128x128, expert matrices through MXFP4."""
    I = cfg["moe_intermediate_size"]
    out = {}
    for name, v in values.items():
        if name.endswith("experts.gate_up_proj"):           # [E, 2I, H]: rows 0..I-1 = gate, I..2I-1 = up
            gate = mxfp4_roundtrip(v[:, :I, :].numpy())
            up = mxfp4_roundtrip(v[:, I:, :].numpy())
            out[name] = torch.from_numpy(np.concatenate([gate, up], axis=1))
        elif name.endswith("experts.down_proj"):            # [E, H, I], input dim I last
            out[name] = torch.from_numpy(mxfp4_roundtrip(v.numpy()))
        elif (name.endswith(("q_proj.weight", "k_proj.weight", "v_proj.weight", "o_proj.weight",
                              "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight"))
              or name == "lm_head.weight"):
            out[name] = fp8_block_roundtrip(v)
        else:                                                # embeddings, norms, router
            assert (name.endswith("embed_tokens.weight") or is_norm(name) or name.endswith("mlp.gate.weight")), name
            out[name] = v.clone()
    return out


def make_qwen3_moe(root: Path, T: int = 16, seed: int = 1001) -> dict:
    d1 = root / "qwen3_moe"
    d4 = root / "qwen3_moe_fp8_mxfp4"
    reset_dir(d1)
    reset_dir(d4)
    model = qwen_model(QWEN_FIXTURE1)
    values = {k: bf16_round(v) for k, v in init_params(model, seed, qwen_rules).items()}
    load_params(model, values)
    model.to(torch.bfloat16).save_pretrained(d1)             # BF16 safetensors, per-expert keys
    del model

    loaded = Qwen3MoeForCausalLM.from_pretrained(d1, **load_kwargs()).eval()
    assert_same_params(loaded, values, "qwen3_moe")

    q_model = qwen_model(QWEN_FIXTURE1)
    q_values = qwen_fp8_mxfp4_values(values, QWEN_FIXTURE1)
    load_params(q_model, q_values)

    taps = [RouterTap(loaded, "Qwen3MoeTopKRouter", QWEN_FIXTURE1["num_experts_per_tok"]),
            RouterTap(q_model, "Qwen3MoeTopKRouter", QWEN_FIXTURE1["num_experts_per_tok"])]
    prompt, (exp1, exp4), stats = search_prompt([(loaded, taps[0]), (q_model, taps[1])],
                                                QWEN_FIXTURE1["vocab_size"], T, seed)
    for t in taps:
        t.close()
    cross_check(loaded, exp1, "qwen3_moe")
    cross_check(q_model, exp4, "qwen3_moe_fp8_mxfp4")

    meta = version_meta()
    save_expected(d1 / "expected.safetensors", exp1, {**meta, "fixture": "qwen3_moe"})
    save_expected(d4 / "expected.safetensors", exp4,
                  {**meta, "fixture": "qwen3_moe_fp8_mxfp4", "weights": "../qwen3_moe",
                   "convert": "--dense fp8 --experts mxfp4"})
    (d4 / "README").write_text(
        "weights: ../qwen3_moe\n"
        "convert: tachyon convert --dense fp8 --experts mxfp4\n\n"
        "expected.safetensors holds transformers' outputs for the qwen3_moe weights and prompt after\n"
        "every dense matrix (q/k/v/o_proj, dense-layer gate/up/down_proj, lm_head) was round-tripped\n"
        "through FP8 E4M3 with one float32 scale per 128x128 block (scale = amax/448, code = RNE cast\n"
        "of w/scale, dequant = code*scale), and every expert matrix (gate, up, down per expert, as\n"
        "[out, in]) through MXFP4 with the OCP floor rule along the input dimension. Embeddings, norms\n"
        "and the router (mlp.gate) are unchanged. See ../README.md.\n")
    diff = float(np.abs(exp1["prefill_logits"] - exp4["prefill_logits"]).max())
    sens = sensitivity(loaded, exp1, {"qk_norm": _qk_norm_off, "norm_topk_prob": _toggle_norm_topk,
                                      "rope": _rope_off})
    return {"qwen3_moe": {"T": T, **stats["model0"], "prompt_attempt": stats["attempt"],
                          "max_abs_logit_change_when_off": sens},
            "qwen3_moe_fp8_mxfp4": {"T": T, **stats["model1"], "max_abs_logit_change_vs_bf16": diff}}


def legacy_qwen_config(cfg_json: dict) -> dict:
    """Rewrite a transformers-5 config.json the way Qwen's hub checkpoints spell it (transformers 4.x):
    `num_experts` instead of `num_local_experts`, top-level `rope_theta` + `rope_scaling: null`
    instead of `rope_parameters`, `torch_dtype` instead of `dtype`."""
    c = dict(cfg_json)
    c["num_experts"] = c.pop("num_local_experts")
    rp = c.pop("rope_parameters")
    assert rp["rope_type"] == "default" and set(rp) == {"rope_type", "rope_theta"}, rp
    c["rope_theta"] = rp["rope_theta"]
    c["rope_scaling"] = None
    c["torch_dtype"] = c.pop("dtype")
    return dict(sorted(c.items()))


def make_qwen3_moe_tied_sharded(root: Path, T: int = 20, seed: int = 2002) -> dict:
    d = root / "qwen3_moe_tied_sharded"
    reset_dir(d)
    model = qwen_model(QWEN_FIXTURE2)
    # tied head: small embeddings, so the residual is not dominated by the input token (else greedy just
    # copies the last token)
    values = init_params(model, seed, lambda n, sh: qwen_rules(n, sh, embed_std=0.1))  # F32, stored as F32
    assert "lm_head.weight" not in values                    # tied: one parameter
    load_params(model, values)
    total = sum(v.numel() * 4 for v in values.values())
    model.save_pretrained(d, max_shard_size=int(total * 0.6))
    del model
    shards = sorted(p.name for p in d.glob("model-*.safetensors"))
    assert len(shards) == 2 and (d / "model.safetensors.index.json").exists(), shards

    modern = json.loads((d / "config.json").read_text())
    (d / "config.json").write_text(json.dumps(legacy_qwen_config(modern), indent=2, sort_keys=True) + "\n")
    loaded = Qwen3MoeForCausalLM.from_pretrained(d, **load_kwargs()).eval()
    # the legacy spelling must mean the same model to transformers
    for k in ("num_experts", "num_experts_per_tok", "sliding_window", "use_sliding_window", "head_dim",
              "tie_word_embeddings", "norm_topk_prob", "mlp_only_layers"):
        assert getattr(loaded.config, k) == QWEN_FIXTURE2[k], k
    assert loaded.config.rope_parameters["rope_theta"] == QWEN_FIXTURE2["rope_parameters"]["rope_theta"]
    assert loaded.config.rope_parameters["rope_type"] == "default"
    assert loaded.lm_head.weight.data_ptr() == loaded.model.embed_tokens.weight.data_ptr()
    assert_same_params(loaded, values, "qwen3_moe_tied_sharded")

    tap = RouterTap(loaded, "Qwen3MoeTopKRouter", QWEN_FIXTURE2["num_experts_per_tok"])
    prompt, (exp,), stats = search_prompt([(loaded, tap)], QWEN_FIXTURE2["vocab_size"], T, seed)
    tap.close()
    cross_check(loaded, exp, "qwen3_moe_tied_sharded")
    save_expected(d / "expected.safetensors", exp, {**version_meta(), "fixture": "qwen3_moe_tied_sharded"})
    sens = sensitivity(loaded, exp, {"sliding_window": _qwen_sliding_off, "norm_topk_prob": _toggle_norm_topk,
                                     "qk_norm": _qk_norm_off})
    return {"qwen3_moe_tied_sharded": {"T": T, **stats["model0"], "prompt_attempt": stats["attempt"],
                                       "shards": shards, "max_abs_logit_change_when_off": sens}}


# ----------------------------------------------------------------------------------------------
# gpt-oss
# ----------------------------------------------------------------------------------------------

GPT_OSS_CFG = dict(
    vocab_size=416, hidden_size=64, intermediate_size=64, num_hidden_layers=4, num_attention_heads=4,
    num_key_value_heads=2, head_dim=16, num_local_experts=8, num_experts_per_tok=4, sliding_window=8,
    max_position_embeddings=131072, rms_norm_eps=1e-5, swiglu_limit=7.0, attention_bias=True,
    tie_word_embeddings=False,
    rope_parameters={"rope_type": "yarn", "rope_theta": 150000.0, "factor": 32.0, "beta_fast": 32.0,
                     "beta_slow": 1.0, "truncate": False, "original_max_position_embeddings": 4096},
)
GPT_OSS_QCONFIG = {
    "modules_to_not_convert": ["model.layers.*.self_attn", "model.layers.*.mlp.router", "model.embed_tokens",
                               "lm_head"],
    "quant_method": "mxfp4",
}
GATE_UP_GAIN = 3.5   # pre-activation std of gate/up, so the +-7 clamps are exercised


def gpt_oss_rules(name: str, shape):
    if is_norm(name):
        return 0.15, 1.0
    if name.endswith("embed_tokens.weight"):
        return 1.0, 0.0
    if name.endswith("self_attn.sinks"):
        return 1.0, 0.0
    if name.endswith("experts.gate_up_proj"):               # [E, H, 2I]  (hidden @ W)
        return GATE_UP_GAIN / np.sqrt(shape[1]), 0.0
    if name.endswith("experts.gate_up_proj_bias"):
        return 0.5, 0.0
    if name.endswith("experts.down_proj"):                  # [E, I, H]
        return 0.25 / np.sqrt(shape[1]), 0.0
    if name.endswith("experts.down_proj_bias"):
        return 0.1, 0.0
    if name.endswith("router.weight"):
        return 1.0 / np.sqrt(shape[1]), 0.0
    if name.endswith("router.bias"):
        return 0.5, 0.0
    if name.endswith(".bias"):                               # attention biases
        return 0.1, 0.0
    if len(shape) == 2:
        return 1.0 / np.sqrt(shape[1]), 0.0
    raise ValueError(name)


class ClampTap:
    """Counts how often the SwiGLU clamps bite (diagnostics only)."""

    def __init__(self, model, limit):
        self.limit = limit
        self.n = self.gate_hi = self.up_hi = self.up_lo = 0
        self.handles = [m.register_forward_pre_hook(self._hook) for m in model.modules()
                        if type(m).__name__ == "GptOssExperts"]

    def _hook(self, mod, args):
        h, idx = args[0], args[1]
        for e in idx.unique().tolist():
            rows = (idx == e).any(-1)
            gu = h[rows] @ mod.gate_up_proj[e] + mod.gate_up_proj_bias[e]
            g, u = gu[:, 0::2], gu[:, 1::2]
            self.n += g.numel()
            self.gate_hi += int((g > self.limit).sum())
            self.up_hi += int((u > self.limit).sum())
            self.up_lo += int((u < -self.limit).sum())

    def close(self):
        for h in self.handles:
            h.remove()


def make_gpt_oss(root: Path, T: int = 20, seed: int = 3003) -> dict:
    from transformers import Mxfp4Config
    from transformers.integrations.mxfp4 import convert_moe_packed_tensors

    d = root / "gpt_oss"
    reset_dir(d)
    cfg = GptOssConfig(**GPT_OSS_CFG)
    assert cfg.layer_types == ["sliding_attention", "full_attention"] * 2, cfg.layer_types
    model = GptOssForCausalLM(cfg).to(torch.float32)
    model.set_attn_implementation("eager")
    model.set_experts_implementation("eager")
    model.eval()

    raw = init_params(model, seed, gpt_oss_rules)
    values, stored = {}, {}
    for name, v in raw.items():
        if name.endswith("experts.gate_up_proj") or name.endswith("experts.down_proj"):
            # HF parameter is [E, in, out]; the shipped layout is rows = output features, blocks along input
            w_rows = v.transpose(1, 2).contiguous().numpy()
            blocks, scales = mxfp4_quantize(w_rows)
            deq_rows = mxfp4_dequantize(blocks, scales)
            deq = torch.from_numpy(deq_rows).transpose(1, 2).contiguous()
            # transformers' own dequantizer must give the same values
            theirs = convert_moe_packed_tensors(torch.from_numpy(blocks), torch.from_numpy(scales),
                                                dtype=torch.float32)
            assert torch.equal(theirs, deq), f"{name}: own MXFP4 dequant differs from transformers'"
            values[name] = deq
            stored[name + "_blocks"] = torch.from_numpy(blocks)
            stored[name + "_scales"] = torch.from_numpy(scales)
        elif is_norm(name):
            values[name] = v                                   # float32, stored as F32
            stored[name] = v.clone()
        else:
            values[name] = bf16_round(v)
            stored[name] = v.to(torch.bfloat16)
    load_params(model, values)

    save_file({k: t.contiguous() for k, t in stored.items()}, str(d / "model.safetensors"),
              metadata={"format": "pt"})
    cfg.save_pretrained(d)
    cj = json.loads((d / "config.json").read_text())
    cj["quantization_config"] = GPT_OSS_QCONFIG
    cj["architectures"] = ["GptOssForCausalLM"]      # config.save_pretrained alone does not write it
    cj["dtype"] = "bfloat16"
    (d / "config.json").write_text(json.dumps(cj, indent=2, sort_keys=True) + "\n")

    # transformers' own MXFP4 path, dequantizing on load (usable on CPU)
    loaded = GptOssForCausalLM.from_pretrained(d, quantization_config=Mxfp4Config(dequantize=True),
                                               **load_kwargs()).eval()
    assert_same_params(loaded, values, "gpt_oss (Mxfp4Config(dequantize=True))")

    taps = [RouterTap(model, "GptOssTopKRouter", cfg.num_experts_per_tok),
            RouterTap(loaded, "GptOssTopKRouter", cfg.num_experts_per_tok)]
    clamp = ClampTap(model, cfg.swiglu_limit)
    prompt, (exp, exp_loaded), stats = search_prompt([(model, taps[0]), (loaded, taps[1])],
                                                     cfg.vocab_size, T, seed)
    clamp.close()
    for t in taps:
        t.close()
    for k in exp:
        assert np.array_equal(exp[k], exp_loaded[k]), f"gpt_oss: {k} differs when loading via Mxfp4Config"
    cross_check(model, exp, "gpt_oss")
    save_expected(d / "expected.safetensors", exp, {**version_meta(), "fixture": "gpt_oss"})

    sens = sensitivity(model, exp, {"sinks": _oss_sinks_off, "sliding_window": _oss_sliding_off,
                                    "yarn(->plain rope, scaling 1)": _oss_yarn_off,
                                    "yarn attention_scaling only": _oss_yarn_scaling_off,
                                    "yarn inv_freq ramp only": _oss_yarn_freq_off,
                                    "swiglu_clamp": _oss_clamp_off, "router_bias": _oss_router_bias_off,
                                    "attention_biases": _oss_attn_bias_off, "expert_biases": _oss_expert_bias_off})
    rope = model.model.rotary_emb
    return {"gpt_oss": {"T": T, **stats["model0"], "prompt_attempt": stats["attempt"],
                        "max_abs_logit_change_when_off": sens,
                        "yarn_inv_freq": [float(x) for x in rope.inv_freq],
                        "yarn_attention_scaling": float(rope.attention_scaling),
                        "clamp_fraction(all search forwards)": {
                            "gate>7": clamp.gate_hi / max(clamp.n, 1), "up>7": clamp.up_hi / max(clamp.n, 1),
                            "up<-7": clamp.up_lo / max(clamp.n, 1)}}}


# ----------------------------------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=REPO / "tests" / "fixtures" / "parity")
    ap.add_argument("--summary", type=Path, default=None, help="also write the run summary as JSON here")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    summary = {}
    summary.update(make_qwen3_moe(args.out))
    summary.update(make_qwen3_moe_tied_sharded(args.out))
    summary.update(make_gpt_oss(args.out))
    for name in ("qwen3_moe", "qwen3_moe_tied_sharded", "gpt_oss", "qwen3_moe_fp8_mxfp4"):
        summary[name]["bytes"] = dir_size(args.out / name)
    # last check: an independent numpy forward, reading only the files on disk, reproduces the logits
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from numpy_reference import check_all
    summary["numpy_reference_max_abs_logit_diff"] = check_all(args.out)
    total = dir_size(args.out)
    summary["total_bytes"] = total
    assert total < 5 * 1024 * 1024, total
    text = json.dumps(summary, indent=2)
    print(text)
    if args.summary:
        args.summary.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Builds the DFlash drafter parity fixtures (tests/fixtures/dflash) for tests/unit/test_drafter.cpp.

The target is the existing parity fixture tests/fixtures/parity/qwen3_moe (Qwen3-MoE, hidden 64,
vocabulary 400, 4 layers). This script
  1. runs that target in transformers on a fixed 24-token prompt and records, per decoder layer, its
     output (the residual stream, via forward hooks) and Hugging Face's hidden_states, so that the test
     can pin down the tapped-layer index: Tachyon's tap of layer L must equal hidden_states[L + 1];
  2. builds three small random drafters in z-lab's directory layout (config.json + safetensors, BF16):
       base  the original DFlash: every layer full attention, non-causal block
       swa   layer_types [sliding (window 5), full]: the sliding layer causal inside the block, the full
             one non-causal; `model.`-prefixed tensor names; block_size inside dflash_config
       mimo  MiMo-style: use_swa (window 6) with causal false, attention sinks, value scale 0.612,
             partial RoPE 0.5, attention biases, its own mask embedding (mask_embedding.safetensors),
             weights in dflash_draft_model.safetensors
     each: hidden 64, 2 layers, 4 query / 2 KV heads, head_dim 16, intermediate 64, block 8, taps of
     target layers [0, 1, 2], mask_token_id 397;
  3. computes the expected draft logits with reference_drafter.py (float32; checked against float64)
     for context lengths 3, 11 and 24 (block 8) and 24 (block 5), the context being the target's taps.

Drafter seeds are tried in order until every greedy draft has a top-1/top-2 logit gap >= 1e-3, so a
correct float32 implementation cannot flip a token. Run from anywhere; CPU only, a few seconds:
    python3 scripts/dflash/make_drafter_fixture.py
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys

import numpy as np
import safetensors
import torch
import transformers
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_drafter as ref  # noqa: E402

torch.set_num_threads(1)  # fixed reduction order -> reproducible bytes on one machine
torch.use_deterministic_algorithms(True)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TARGET_DIR = os.path.join(ROOT, "tests", "fixtures", "parity", "qwen3_moe")
OUT = os.path.join(ROOT, "tests", "fixtures", "dflash")

T = 24                       # prompt length
TAPS = [0, 1, 2]             # target layers tapped (not the last: see README, "tapped-layer index")
MASK_ID = 397
CASES = [(3, 8), (11, 8), (24, 8), (24, 5)]  # (context length p, block size B)
EXTRA_ANCHOR = 123           # anchor for p = T (the prompt has no token there)
MIN_GAP = 1e-3

COMMON = {
    "architectures": ["DFlashDraftModel"],
    "auto_map": {"AutoModel": "dflash.DFlashDraftModel"},
    "model_type": "qwen3",
    "hidden_size": 64,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 16,
    "hidden_act": "silu",
    "rms_norm_eps": 1e-6,
    "rope_theta": 1000000,
    "max_position_embeddings": 4096,
    "vocab_size": 400,
    "tie_word_embeddings": False,
    "attention_bias": False,
    "num_target_layers": 4,
    "dtype": "bfloat16",
}

VARIANTS = {
    "base": {
        "config": {**COMMON, "block_size": 8,
                   "dflash_config": {"mask_token_id": MASK_ID, "target_layer_ids": TAPS},
                   "layer_types": ["full_attention", "full_attention"], "sliding_window": None},
        "prefix": "", "file": "model.safetensors", "mask_file": False,
    },
    "swa": {
        "config": {**COMMON,
                   "dflash_config": {"block_size": 8, "mask_token_id": MASK_ID, "target_layer_ids": TAPS},
                   "layer_types": ["sliding_attention", "full_attention"], "sliding_window": 5},
        "prefix": "model.", "file": "model.safetensors", "mask_file": False,
    },
    "mimo": {
        "config": {**COMMON, "block_size": 8, "attention_bias": True, "partial_rotary_factor": 0.5,
                   "dflash_config": {"mask_token_id": MASK_ID, "target_layer_ids": TAPS, "use_swa": True,
                                     "swa_window_size": 6, "causal": False, "attention_sink_bias": True,
                                     "attention_value_scale": 0.612}},
        "prefix": "", "file": "dflash_draft_model.safetensors", "mask_file": True,
    },
}


# ---- the target: taps and the index semantics ---------------------------------------------------------

def target_taps(prompt: torch.Tensor) -> dict[str, torch.Tensor]:
    model = transformers.AutoModelForCausalLM.from_pretrained(
        TARGET_DIR, dtype=torch.float32, attn_implementation="eager", experts_implementation="eager").eval()
    outputs: dict[int, torch.Tensor] = {}

    def hook(index):
        def record(_module, _inputs, output):
            outputs[index] = (output[0] if isinstance(output, tuple) else output).detach()[0].clone()
        return record

    layers = model.model.layers
    handles = [layer.register_forward_hook(hook(i)) for i, layer in enumerate(layers)]
    with torch.no_grad():
        hs = model(prompt[None, :], output_hidden_states=True).hidden_states
    for h in handles:
        h.remove()
    n = len(layers)
    layer_outputs = torch.stack([outputs[i] for i in range(n)])           # [N, T, H]
    hidden_states = torch.stack([h[0] for h in hs])                        # [N + 1, T, H]
    for i in range(n - 1):
        assert torch.equal(layer_outputs[i], hidden_states[i + 1]), f"hidden_states[{i + 1}] is not layer {i}'s output"
    last_is_normed = torch.allclose(hidden_states[n], model.model.norm(layer_outputs[n - 1]))
    print(f"target: hidden_states[L+1] == output of layer L for L < {n - 1}; "
          f"hidden_states[{n}] is {'after' if last_is_normed else 'before'} the final norm")
    taps = torch.stack([layer_outputs[i] for i in TAPS], 1)                 # [T, K, H]
    return {"prompt_ids": prompt.to(torch.int32), "target_layer_ids": torch.tensor(TAPS, dtype=torch.int32),
            "taps": taps.contiguous(), "layer_outputs": layer_outputs.contiguous(),
            "hf_hidden_states": hidden_states.contiguous(),
            "_last_is_normed": torch.tensor(last_is_normed)}


# ---- random drafters -------------------------------------------------------------------------------------

def random_drafter(config: dict, seed: int) -> dict[str, torch.Tensor]:
    """z-lab names without prefix; BF16 values. Scales keep activations O(1) and logits O(1)."""
    g = torch.Generator().manual_seed(seed)
    H, I, L = config["hidden_size"], config["intermediate_size"], config["num_hidden_layers"]
    hq, hkv, D = config["num_attention_heads"], config["num_key_value_heads"], config["head_dim"]
    K = len(config["dflash_config"]["target_layer_ids"])
    bias = config.get("attention_bias", False)
    sinks = config["dflash_config"].get("attention_sink_bias", False)

    def randn(*shape, std=1.0, mean=0.0):
        return (torch.randn(*shape, generator=g) * std + mean).to(torch.bfloat16)

    w = {"fc.weight": randn(H, K * H, std=(K * H) ** -0.5), "hidden_norm.weight": randn(H, std=0.2, mean=1.0),
         # A large final norm spreads the logits (the target's LM head is small), so that a feature that is
         # switched off moves them far more than the tolerance.
         "norm.weight": randn(H, std=0.5, mean=4.0)}
    for l in range(L):
        a = f"layers.{l}."
        w[a + "input_layernorm.weight"] = randn(H, std=0.2, mean=1.0)
        w[a + "post_attention_layernorm.weight"] = randn(H, std=0.2, mean=1.0)
        w[a + "self_attn.q_proj.weight"] = randn(hq * D, H, std=H ** -0.5)
        w[a + "self_attn.k_proj.weight"] = randn(hkv * D, H, std=H ** -0.5)
        w[a + "self_attn.v_proj.weight"] = randn(hkv * D, H, std=H ** -0.5)
        w[a + "self_attn.o_proj.weight"] = randn(H, hq * D, std=(hq * D) ** -0.5)
        w[a + "self_attn.q_norm.weight"] = randn(D, std=0.2, mean=1.0)
        w[a + "self_attn.k_norm.weight"] = randn(D, std=0.2, mean=1.0)
        if bias:
            w[a + "self_attn.q_proj.bias"] = randn(hq * D, std=0.1)
            w[a + "self_attn.k_proj.bias"] = randn(hkv * D, std=0.1)
            w[a + "self_attn.v_proj.bias"] = randn(hkv * D, std=0.1)
            w[a + "self_attn.o_proj.bias"] = randn(H, std=0.1)
        if sinks:
            w[a + "self_attn.attention_sink_bias"] = randn(hq, std=1.0)
        w[a + "mlp.gate_proj.weight"] = randn(I, H, std=H ** -0.5)
        w[a + "mlp.up_proj.weight"] = randn(I, H, std=H ** -0.5)
        w[a + "mlp.down_proj.weight"] = randn(H, I, std=I ** -0.5)
    return w


def run_cases(spec, w, embed, lm_head, taps, prompt, dtype=torch.float32):
    w = {k: v.to(dtype) for k, v in w.items()}
    embed, lm_head, taps = embed.to(dtype), lm_head.to(dtype), taps.to(dtype)
    out = []
    for p, B in CASES:
        anchor = int(prompt[p]) if p < T else EXTRA_ANCHOR
        out.append((p, B, anchor, ref.draft_logits(spec, w, embed, lm_head, taps[:p], anchor, B)))
    return out


def min_gap(results) -> float:
    gap = float("inf")
    for *_, logits in results:
        top = torch.topk(logits, 2, -1).values
        gap = min(gap, float((top[:, 0] - top[:, 1]).min()))
    return gap


def max_delta(a, b) -> float:
    return max(float((x[-1] - y[-1]).abs().max()) for x, y in zip(a, b))


def sensitivities(name, spec, w, embed, lm_head, taps, prompt, hf_hidden) -> dict[str, float]:
    """How far each feature moves the logits when it is switched off or done wrong (float64)."""
    f64 = torch.float64
    base = run_cases(spec, w, embed, lm_head, taps, prompt, f64)
    rep = dataclasses.replace
    L = spec.layers
    variants = {
        "taps off by one (hidden_states[id] instead of [id+1])":
            (spec, w, torch.stack([hf_hidden[i] for i in TAPS], 1)),
        "no RoPE": (rep(spec, rotary_dim=0), w, taps),
        "causal block in every layer": (rep(spec, causal=[True] * L), w, taps),
        "anchor slot gets the mask embedding": None,
    }
    if any(spec.window):
        variants["no sliding window"] = (rep(spec, window=[0] * L), w, taps)
        variants["window one wider"] = (rep(spec, window=[x + 1 if x else 0 for x in spec.window]), w, taps)
    if any(spec.causal):
        variants["non-causal everywhere"] = (rep(spec, causal=[False] * L), w, taps)
    if spec.sinks:
        variants["no sinks"] = (rep(spec, sinks=False), w, taps)
    if spec.value_scale != 1.0:
        variants["no value scale"] = (rep(spec, value_scale=1.0), w, taps)
    if spec.rotary_dim != spec.head_dim:
        variants["full instead of partial RoPE"] = (rep(spec, rotary_dim=spec.head_dim), w, taps)
    if "mask_embedding" in w:
        variants["target's mask row instead of the shipped mask embedding"] = (
            spec, {k: v for k, v in w.items() if k != "mask_embedding"}, taps)
    out = {}
    for label, v in variants.items():
        if v is None:  # the hipfire bug: embed(MASK) broadcast into slot 0 as well
            mask_row = ref.mask_embedding(spec, w, embed)
            other = []
            for p, B in CASES:
                e = embed.clone()
                anchor = int(prompt[p]) if p < T else EXTRA_ANCHOR
                e[anchor] = mask_row
                other.append((p, B, anchor, ref.draft_logits(spec, {k: x.to(f64) for k, x in w.items()}, e.to(f64),
                                                            lm_head.to(f64), taps[:p].to(f64), anchor, B)))
        else:
            s2, w2, t2 = v
            other = run_cases(s2, w2, embed, lm_head, t2, prompt, f64)
        out[label] = max_delta(base, other)
    print(f"{name}: max |delta logit| when a feature is off or wrong:")
    for label, d in out.items():
        print(f"    {label}: {d:.3f}")
    return out


def write_variant(name: str, variant: dict, w: dict[str, torch.Tensor], results) -> None:
    d = os.path.join(OUT, name, "drafter")
    shutil.rmtree(os.path.join(OUT, name), ignore_errors=True)
    os.makedirs(d)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(variant["config"], f, indent=2)
        f.write("\n")
    tensors = {variant["prefix"] + k: v.contiguous() for k, v in w.items() if k != "mask_embedding"}
    save_file(tensors, os.path.join(d, variant["file"]), metadata={"format": "pt"})
    if "mask_embedding" in w:
        save_file({"mask_embedding": w["mask_embedding"].contiguous()}, os.path.join(d, "mask_embedding.safetensors"))
    logits = torch.cat([r[-1] for r in results]).to(torch.float32)
    expected = {
        "positions": torch.tensor([r[0] for r in results], dtype=torch.int32),
        "block_sizes": torch.tensor([r[1] for r in results], dtype=torch.int32),
        "anchors": torch.tensor([r[2] for r in results], dtype=torch.int32),
        "logits": logits.contiguous(),
        "tokens": ref.greedy(logits).to(torch.int32),
    }
    meta = {"variant": name, "torch": torch.__version__, "transformers": transformers.__version__,
            "safetensors": safetensors.__version__, "numpy": np.__version__}
    save_file(expected, os.path.join(OUT, name, "expected.safetensors"), metadata={"tachyon_dflash": json.dumps(meta)})


def main() -> None:
    g = torch.Generator().manual_seed(20260611)
    prompt = torch.randint(0, 400, (T,), generator=g)
    target = target_taps(prompt)
    os.makedirs(OUT, exist_ok=True)
    tap_file = {k: v for k, v in target.items() if not k.startswith("_")}
    save_file(tap_file, os.path.join(OUT, "target_taps.safetensors"),
              metadata={"hf_last_hidden_state_is_normed": str(bool(target["_last_is_normed"])).lower()})
    tw = load_file(os.path.join(TARGET_DIR, "model.safetensors"))
    embed = tw["model.embed_tokens.weight"].to(torch.float32)
    lm_head = tw["lm_head.weight"].to(torch.float32)
    taps = target["taps"]

    for index, (name, variant) in enumerate(VARIANTS.items()):
        spec = ref.parse_config(variant["config"])
        for seed in range(100 * index + 1, 100 * index + 100):
            w = random_drafter(variant["config"], seed)
            if variant["mask_file"]:
                w["mask_embedding"] = (torch.randn(64, generator=torch.Generator().manual_seed(seed)) * 0.5).to(torch.bfloat16)
            w32 = {k: v.to(torch.float32) for k, v in w.items()}
            r32 = run_cases(spec, w32, embed, lm_head, taps, prompt)
            r64 = run_cases(spec, w32, embed, lm_head, taps, prompt, torch.float64)
            if min_gap(r64) >= MIN_GAP:
                break
        else:
            raise RuntimeError(f"{name}: no seed gives greedy gaps >= {MIN_GAP}")
        err = max_delta(r32, r64)
        assert err < 1e-5, f"{name}: float32 reference is {err} from float64"
        spread = max(float(r[-1].abs().max()) for r in r64)
        print(f"{name}: seed {seed}, min greedy gap {min_gap(r64):.4f}, max |logit| {spread:.2f}, "
              f"float32 vs float64 reference {err:.2e}")
        assert all(torch.equal(ref.greedy(a[-1]), ref.greedy(b[-1])) for a, b in zip(r32, r64))
        sensitivities(name, spec, w32, embed, lm_head, taps, prompt, target["hf_hidden_states"])
        write_variant(name, variant, w, r32)
    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(OUT) for f in fs)
    print(f"wrote {OUT} ({total / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Tachyon's greedy output equals transformers' greedy output, for a trained pair.

  python3 scripts/train/check_parity.py --dir DIR [--tachyon build/bin/tachyon] [--max-tokens 64]

DIR is a train_default.py output (target_hf/, drafter_hf/). For each expert format, BF16 and MXFP4:
  - the target is converted (`tachyon convert --experts bf16|mxfp4 --dense bf16`; the drafter with
    `convert --drafter`);
  - transformers runs the BF16 export in float32 (eager attention and experts); for MXFP4 its expert
    matrices are first replaced by their MXFP4 round trip (the quantizer of scripts/parity, which
    `tachyon convert` reproduces), so both sides run the same numbers;
  - the prompts (four short code prompts, plus held-out source long enough that prompt + output crosses
    the target's sliding window) are tokenized by `tokenizers` and by `tachyon tokenize` (must agree), then
    transformers' greedy continuation (stopping at <|endoftext|>, like Tachyon) is compared token for
    token with `tachyon generate` without a drafter and with the drafter (block 8).
Each mismatch is reported with transformers' top-1 minus top-2 logit at that step: a gap of ~1e-5 is a
float near-tie (different summation order), anything larger is a bug. Exit status 0 when all agree.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import target as tg  # noqa: E402
import corpus  # noqa: E402

PROMPTS = [
    "def fibonacci(n):\n",
    "import os\nimport sys\n\n\ndef main(argv):\n    \"\"\"Parse the command line and run.\"\"\"\n",
    "class Stack:\n    \"\"\"A last-in first-out container.\"\"\"\n\n    def __init__(self):\n",
    "    def __repr__(self):\n        return",
]


@torch.no_grad()
def hf_greedy(model, ids: list[int], max_tokens: int, eot: int) -> tuple[list[int], list[float]]:
    """Greedy tokens by incremental decoding through transformers' cache, and the top-1 - top-2 gap of
    each step's logits."""
    out, gaps = [], []
    x = torch.tensor([ids])
    res = model(input_ids=x, use_cache=True)
    past, row = res.past_key_values, res.logits[0, -1]
    for s in range(max_tokens):
        top = torch.topk(row.float(), 2)
        tok = int(torch.argmax(row))
        out.append(tok)
        gaps.append(float(top.values[0] - top.values[1]))
        if tok == eot or s == max_tokens - 1:
            break
        res = model(input_ids=torch.tensor([[tok]]), past_key_values=past, use_cache=True,
                    position_ids=torch.tensor([[len(ids) + s]]))
        past, row = res.past_key_values, res.logits[0, -1]
    return out, gaps


def compare(name: str, ours: list[int], theirs: list[int], gaps: list[float], log) -> dict:
    if ours == theirs:
        log(f"  {name}: identical ({len(ours)} tokens)")
        return {"ok": True, "tokens": len(ours)}
    i = next((k for k in range(min(len(ours), len(theirs))) if ours[k] != theirs[k]), min(len(ours), len(theirs)))
    gap = gaps[i] if i < len(gaps) else float("nan")
    log(f"  {name}: DIFFERENT from token {i} (tachyon {ours[i:i + 5]}, transformers {theirs[i:i + 5]}); "
        f"transformers' top-1 minus top-2 logit there: {gap:.2e}")
    return {"ok": False, "first_difference": i, "gap": gap}


def window_prompt(out_dir: str, tok, max_tokens: int) -> str | None:
    """Held-out source long enough that prompt + output crosses the target's sliding window (so that the
    window itself is compared), or None when the target has no window or the run's settings are absent."""
    cfg = common.load_json(os.path.join(out_dir, "target_hf", "config.json"))
    run_json = os.path.join(out_dir, "run.json")
    if not cfg.get("use_sliding_window") or not cfg.get("sliding_window") or not os.path.exists(run_json):
        return None
    _, heldout = common.corpus_split(common.load_json(run_json)["corpus_settings"])
    n = max(8, cfg["sliding_window"] - max_tokens // 2)
    for m in heldout:
        ids = tok.encode(m.text, add_special_tokens=False).ids
        if len(ids) >= n + 8:
            return tok.decode(ids[:n])
    return None


def check(out_dir: str, tachyon: str, max_tokens: int = 64, device: str = "cpu", prompts: list[str] | None = None,
          log=print, heldout_prompts: int = 0) -> dict:
    from tokenizers import Tokenizer
    work = os.path.join(out_dir, "parity")
    os.makedirs(work, exist_ok=True)
    tok = Tokenizer.from_file(os.path.join(out_dir, "target_hf", "tokenizer.json"))
    eot = tok.token_to_id("<|endoftext|>")
    if not prompts:
        prompts = list(PROMPTS)
        long = window_prompt(out_dir, tok, max_tokens)
        if long:
            prompts.append(long)
    if heldout_prompts:  # code prompts cut from held-out modules, as eval_acceptance.py cuts them
        _, heldout = common.corpus_split(common.load_json(os.path.join(out_dir, "run.json"))["corpus_settings"])
        prompts += [p.text for p in corpus.code_prompts(heldout, heldout_prompts, seed=4321, context_chars=600)]
    drafter = os.path.join(out_dir, "drafter.h5")
    if not os.path.exists(drafter):
        common.convert_drafter(tachyon, os.path.join(out_dir, "drafter_hf"), drafter, log)
    result = {"ok": True, "max_tokens": max_tokens, "prompts": len(prompts), "formats": {}}
    for experts in ("bf16", "mxfp4"):
        h5 = os.path.join(work, f"target_{experts}.h5")
        common.convert_target(tachyon, os.path.join(out_dir, "target_hf"), h5, experts, log)
        model = tg.load_hf(os.path.join(out_dir, "target_hf"))
        if experts == "mxfp4":
            common.quantize_experts_mxfp4(model)
        log(f"parity, {experts} experts:")
        rows = []
        requests = []
        for i, text in enumerate(prompts):
            ids = tok.encode(text, add_special_tokens=False).ids
            theirs = json.loads(common.run([tachyon, "tokenize", "--tokenizer", h5, "--text", text]).stdout)
            if theirs != ids:
                log(f"  prompt {i}: tokenizers {ids} but tachyon tokenize {theirs}")
                result["ok"] = False
            requests.append({"id": i, "prompt": text, "max_tokens": max_tokens, "temperature": 0})
        plain, _ = common.generate(tachyon, h5, requests, work, f"{experts}_plain", device=device)
        spec, summ = common.generate(tachyon, h5, requests, work, f"{experts}_dflash", drafter=drafter, block_size=8,
                                     device=device)
        for i, text in enumerate(prompts):
            ids = tok.encode(text, add_special_tokens=False).ids
            hf, gaps = hf_greedy(model, ids, max_tokens, eot)
            log(f" prompt {i} ({len(ids)} tokens) -> {len(hf)} tokens, min top-1/top-2 gap {min(gaps):.2e}: "
                f"{json.dumps(tok.decode(hf))[:100]}")
            r_plain = compare("tachyon generate", plain[i]["token_ids"], hf, gaps, log)
            r_spec = compare("tachyon generate --drafter (block 8)", spec[i]["token_ids"], hf, gaps, log)
            rows.append({"prompt": i, "hf_tokens": len(hf), "min_gap": min(gaps), "plain": r_plain, "dflash": r_spec,
                         "accept_len": spec[i]["metrics"]["accept_len"]})
            result["ok"] &= r_plain["ok"] and r_spec["ok"]
        result["formats"][experts] = {"rows": rows, "dflash_summary": summ}
        log(f"  acceptance length with the drafter (greedy, these prompts): {summ.get('acceptance_length')}")
    log("parity: " + ("PASS: Tachyon's greedy tokens equal transformers' for every prompt, format and mode"
                      if result["ok"] else "FAIL (see above)"))
    common.save_json(os.path.join(work, "parity.json"), result)
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", required=True, help="a train_default.py output directory")
    ap.add_argument("--tachyon", help="the tachyon binary (default: build/bin/tachyon, ...)")
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--device", default="cpu", help="--device for tachyon generate")
    ap.add_argument("--prompt", action="append",
                    help="a prompt (repeatable; default: four built-in code prompts and, when the target has a sliding "
                         "window, held-out source long enough to cross it)")
    ap.add_argument("--heldout-prompts", type=int, default=0, help="also this many code prompts from held-out modules")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    tachyon = common.require_tachyon(args.tachyon)
    log = common.Log(os.path.join(args.dir, "parity.log"))
    return 0 if check(args.dir, tachyon, args.max_tokens, args.device, args.prompt, log, args.heldout_prompts)["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

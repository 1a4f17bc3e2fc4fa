#!/usr/bin/env python3
"""Acceptance length of a trained pair on held-out code, and what MXFP4 experts cost.

  python3 scripts/train/eval_acceptance.py --dir DIR [--tachyon build/bin/tachyon] [--prompts 300]
                                           [--max-tokens 128] [--block-size 8]

DIR is a train_default.py output. The prompts are cut at run time from the held-out modules of that run's
corpus split (scripts/train/corpus.py: right after a function signature, right after a docstring, or at
a line inside a function body; a third each; at most --context-chars characters of preceding source,
600 for the full scale). Then:

  1. held-out loss (PyTorch, float32) of the target with its BF16 expert weights and with the MXFP4 round
     trip of them (what `tachyon convert --experts mxfp4` stores);
  2. `tachyon generate --drafter` at block 8, greedy and at temperature 0.7 (seeded), with the pair in
     the formats the default ships in ("default": MXFP4 experts and, at full scale, FP8 dense matrices
     and an FP8 drafter), with MXFP4 experts and the rest BF16 ("mxfp4", greedy), and all BF16 ("bf16"):
     Tachyon's acceptance length (generated tokens per target pass, the prefill's pass and bonus tokens
     included), the same without the prefill pass (tokens per verify pass), and the share of drafts
     accepted;
  3. a control: the default drafter with its `fc` zeroed (no information from the target's hidden
     states; everything else identical), greedy, default formats.

Writes DIR/eval/acceptance.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import corpus  # noqa: E402
import target as tg  # noqa: E402


def per_pass(results: list[dict]) -> dict:
    """Acceptance from the per-request metrics: passes_i = tokens_i / accept_len_i."""
    n = sum(len(r["token_ids"]) for r in results)
    passes = sum(len(r["token_ids"]) / r["metrics"]["accept_len"] for r in results if r["metrics"]["accept_len"] > 0)
    verify_tokens, verify_passes = n - len(results), passes - len(results)
    return {"tokens": n, "passes": round(passes), "acceptance_length": n / passes,
            "tokens_per_verify_pass": verify_tokens / verify_passes if verify_passes > 0 else float("nan"),
            "mean_request_accept_len": float(np.mean([r["metrics"]["accept_len"] for r in results]))}


@torch.no_grad()
def heldout_losses(out_dir: str, run: dict, device: str, log) -> dict:
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(os.path.join(out_dir, "target_hf", "tokenizer.json"))
    eot = tok.token_to_id("<|endoftext|>")
    _, heldout = common.corpus_split(run["corpus_settings"])
    stream = common.token_stream(tok, heldout, eot)
    ts = run["settings"]["target_sched"]
    wins = tg.windows(stream, ts["seq_len"], ts["eval_tokens"])
    res = {"heldout_tokens": int(wins[:, 1:].numel())}
    for experts in ("bf16", "mxfp4"):
        model = tg.load_hf(os.path.join(out_dir, "target_hf"), device=device,
                           attn="sdpa" if device != "cpu" else "eager")
        if experts == "mxfp4":
            common.quantize_experts_mxfp4(model)
        res[experts] = tg.heldout_loss(model, wins, torch.device(device), amp=False, batch=8)
        log(f"held-out loss, {experts} experts: {res[experts]:.4f} ({res['heldout_tokens']:,} tokens, float32)")
        del model
    res["mxfp4_minus_bf16"] = res["mxfp4"] - res["bf16"]
    return res


def zeroed_fc_drafter(out_dir: str, work: str) -> str:
    """A copy of drafter_hf with fc.weight = 0: the context carries nothing."""
    from safetensors.torch import load_file, save_file
    src, dst = os.path.join(out_dir, "drafter_hf"), os.path.join(work, "drafter_zero_fc_hf")
    if os.path.exists(dst):
        shutil.rmtree(dst)
    os.makedirs(dst)
    shutil.copy(os.path.join(src, "config.json"), os.path.join(dst, "config.json"))
    w = load_file(os.path.join(src, "model.safetensors"))
    w["fc.weight"] = torch.zeros_like(w["fc.weight"])
    save_file(w, os.path.join(dst, "model.safetensors"), metadata={"format": "pt"})
    return dst


def evaluate(out_dir: str, tachyon: str, n_prompts: int = 300, max_tokens: int = 128, block_size: int = 8,
             device: str = "cpu", torch_device: str | None = None, max_batch: int = 16,
             context_chars: int | None = None, jobs: int = 1, log=print) -> dict:
    """`jobs` tachyon processes at a time (the CPU backend runs one thread per rank): each run's prompts are
    split into `jobs` shards, and the acceptance is recomputed from the per-request metrics of all shards."""
    from concurrent.futures import ThreadPoolExecutor
    run = common.load_json(os.path.join(out_dir, "run.json"))
    work = os.path.join(out_dir, "eval")
    os.makedirs(work, exist_ok=True)
    torch_device = torch_device or ("cuda" if torch.cuda.is_available() else "cpu")
    context_chars = context_chars or run["settings"]["eval"]["context_chars"]
    res = {"block_size": block_size, "max_tokens": max_tokens, "context_chars": context_chars}

    res["loss"] = heldout_losses(out_dir, run, torch_device, log)

    _, heldout = common.corpus_split(run["corpus_settings"])
    prompts = corpus.code_prompts(heldout, n_prompts, seed=1234, context_chars=context_chars)
    kinds = {k: sum(p.kind == k for p in prompts) for k in ("signature", "docstring", "partial")}
    res["prompts"] = {"n": len(prompts), "kinds": kinds, "modules": len({p.module for p in prompts})}
    log(f"{len(prompts)} held-out prompts from {res['prompts']['modules']} modules: {kinds}")

    # "default": the formats the committed default ships in (run.json's export settings: MXFP4 experts,
    # FP8 dense matrices and drafter at full scale); "mxfp4": MXFP4 experts, the rest BF16; "bf16": all BF16.
    export = run["settings"].get("export", {"dense": "bf16", "drafter_dense": "bf16"})
    drafters = {}
    for fmt in sorted({"bf16", export["drafter_dense"]}):
        drafters[fmt] = os.path.join(work, f"drafter_{fmt}.h5")
        common.convert_drafter(tachyon, os.path.join(out_dir, "drafter_hf"), drafters[fmt], log, dense=fmt)
    zero = os.path.join(work, "drafter_zero_fc.h5")
    common.convert_drafter(tachyon, zeroed_fc_drafter(out_dir, work), zero, log, dense=export["drafter_dense"])
    targets = {}
    for name, experts, dense in (("default", "mxfp4", export["dense"]), ("mxfp4", "mxfp4", "bf16"), ("bf16", "bf16", "bf16")):
        targets[name] = os.path.join(work, f"target_{name}.h5")
        common.convert_target(tachyon, os.path.join(out_dir, "target_hf"), targets[name], experts, log, dense=dense)
    res["formats"] = {"default": {"experts": "mxfp4", "dense": export["dense"], "drafter": export["drafter_dense"]},
                      "mxfp4": {"experts": "mxfp4", "dense": "bf16", "drafter": "bf16"},
                      "bf16": {"experts": "bf16", "dense": "bf16", "drafter": "bf16"}}

    default_drafter = drafters[export["drafter_dense"]]
    runs = [("default_T0.0", "default", 0.0, default_drafter), ("default_T0.0_zero_fc", "default", 0.0, zero),
            ("default_T0.7", "default", 0.7, default_drafter), ("mxfp4_T0.0", "mxfp4", 0.0, drafters["bf16"]),
            ("bf16_T0.0", "bf16", 0.0, drafters["bf16"]), ("bf16_T0.7", "bf16", 0.7, drafters["bf16"])]
    shards = max(1, min(jobs, len(prompts)))
    tasks = []
    for name, target, temp, d in runs:
        reqs = [{"id": i, "prompt": p.text, "max_tokens": max_tokens, "temperature": temp, "seed": 1000 + i}
                for i, p in enumerate(prompts)]
        for s in range(shards):
            tasks.append((name, s, targets[target], reqs[s::shards], d))
    log(f"{len(tasks)} tachyon generate runs ({len(runs)} configurations x {shards} shards), {jobs} at a time")

    def one(task):
        name, s, h5, reqs, d = task
        return common.generate(tachyon, h5, reqs, work, f"{name}.{s}", drafter=d, block_size=block_size,
                               device=device, max_batch=max_batch)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        outputs = list(pool.map(one, tasks))

    res["runs"] = {}
    by_name: dict[str, list] = {}
    for (name, s, *_), (results, summ) in zip(tasks, outputs):
        by_name.setdefault(name, []).append((results, summ))
    for name, *_ in runs:
        results = sorted((r for rs, _ in by_name[name] for r in rs), key=lambda r: r["id"])
        summs = [sm for _, sm in by_name[name]]
        tot = {k: sum(sm.get(k, 0) for sm in summs) for k in ("accepted", "drafted", "draft_s", "verify_s", "seconds")}
        r = {**per_pass(results), **tot, "draft_acceptance_rate": tot["accepted"] / tot["drafted"] if tot["drafted"] else None}
        r["by_kind"] = {k: per_pass([x for x, p in zip(results, prompts) if p.kind == k])["acceptance_length"]
                        for k in kinds if kinds[k]}
        res["runs"][name] = r
        res["runs"][name]["_results"] = results
        log(f"{name}: acceptance length {r['acceptance_length']:.2f} (tokens per verify pass "
            f"{r['tokens_per_verify_pass']:.2f}; drafts accepted {r['draft_acceptance_rate']:.1%}); by prompt kind "
            f"{json.dumps({k: round(v, 2) for k, v in r['by_kind'].items()})}")
    a, b = res["runs"]["default_T0.0"].pop("_results"), res["runs"]["default_T0.0_zero_fc"].pop("_results")
    same = sum(x["token_ids"] == y["token_ids"] for x, y in zip(a, b))
    res["control_identical_outputs"] = same
    log(f"control (drafter with fc zeroed, so no target context): greedy outputs identical to the real drafter's "
        f"in {same}/{len(a)} requests (speculation is lossless either way)")
    for r in res["runs"].values():
        r.pop("_results", None)
    common.save_json(os.path.join(work, "acceptance.json"), res)
    lines = ["| run (formats, temperature) | acceptance length | tokens / verify pass | drafts accepted |",
             "|---|---|---|---|"]
    for name, r in res["runs"].items():
        lines.append(f"| {name} | {r['acceptance_length']:.2f} | {r['tokens_per_verify_pass']:.2f} | "
                     f"{r['draft_acceptance_rate']:.1%} |")
    log("\n".join(lines))
    log(f"held-out loss: bf16 {res['loss']['bf16']:.4f}, mxfp4 {res['loss']['mxfp4']:.4f} "
        f"(+{res['loss']['mxfp4_minus_bf16']:.4f})")
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", required=True, help="a train_default.py output directory")
    ap.add_argument("--tachyon", help="the tachyon binary (default: build/bin/tachyon, ...)")
    ap.add_argument("--prompts", type=int, default=300)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--block-size", type=int, default=8)
    ap.add_argument("--device", default="cpu", help="--device for tachyon generate")
    ap.add_argument("--torch-device", default=None, help="device for the held-out losses (default: cuda if present)")
    ap.add_argument("--max-batch", type=int, default=16)
    ap.add_argument("--context-chars", type=int, default=None,
                    help="source characters before each cut (default: the run's, 150 smoke / 600 full)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--jobs", type=int, default=1, help="tachyon processes at a time (each uses one core)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    tachyon = common.require_tachyon(args.tachyon)
    log = common.Log(os.path.join(args.dir, "eval.log"))
    evaluate(args.dir, tachyon, args.prompts, args.max_tokens, args.block_size, args.device, args.torch_device,
             args.max_batch, args.context_chars, args.jobs, log)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Trains Tachyon's embedded default: a small Qwen3-MoE target and its DFlash drafter, from scratch, on
the Python standard library sources of the running interpreter. One command, fixed seeds:

  python3 scripts/train/train_default.py --out DIR [--scale smoke|full] [--tachyon build/bin/tachyon]

writes
  DIR/tokenizer.json      byte-level BPE (Qwen2/3 layout) trained on the train split
  DIR/target_hf/          the target as a Hugging Face directory (config.json, BF16 safetensors, tokenizer.json)
  DIR/drafter_hf/         the drafter in z-lab's layout (config.json with block_size and dflash_config, BF16 safetensors)
  DIR/log.txt             everything printed
  DIR/loss_curve.png      target and drafter losses (train and held-out)
  DIR/run.json            the settings (corpus, shapes, schedules) and the results of every stage
and, when a tachyon binary is found (--tachyon, else build*/bin/tachyon):
  DIR/target.h5           tachyon convert --experts mxfp4 --dense bf16
  DIR/drafter.h5          tachyon convert --drafter
then runs check_parity.py (Tachyon's greedy tokens = transformers') and eval_acceptance.py on them,
unless --no-eval.

Stages: corpus -> tokenizer -> target (AdamW, warmup + cosine, held-out loss every few steps, the best
held-out state kept) -> generations of the target from train-split prompts (even batches greedy, odd
batches T = 0.7) -> the target's tapped hidden states -> drafter (Muon for matrices, AdamW for gains;
random anchors in the generated text, block 8, CE weighted exp(-(k-1)/4)) -> export -> convert -> check.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe  # noqa: E402
import common  # noqa: E402
import corpus  # noqa: E402
import drafter as dr  # noqa: E402
import plot  # noqa: E402
import target as tg  # noqa: E402
from common import Log  # noqa: E402

# ---------------------------------------------------------------------------------------------
# The two scales
# ---------------------------------------------------------------------------------------------

SCALES = {
    # A few minutes on 2 CPU cores: a tiny model, a 1.5 MB slice of the corpus, a few hundred steps.
    "smoke": dict(
        corpus=dict(include_tests=True, heldout_fraction=0.05, train_max_bytes=1_500_000, heldout_max_bytes=300_000),
        vocab=1024,
        target=tg.TargetSpec(layers=4, hidden=96, heads=2, kv_heads=1, head_dim=64, experts=8, top_k=2,
                             moe_intermediate=32, window=64),
        target_sched=tg.TrainSchedule(steps=300, batch=16, seq_len=128, lr=3e-3, warmup=20, eval_every=50,
                                      eval_tokens=20_000),
        gen=dict(prompts=256, eval_prompts=32, min_prompt=16, max_prompt=64, new_tokens=64, batch=32,
                 context_chars=400),
        drafter=dr.DrafterShape(layers=2, heads=2, kv_heads=1, head_dim=64, intermediate=192, block=8,
                                sliding_layers=1, window=32),
        drafter_sched=dr.DrafterSchedule(steps=300, seqs=8, anchors=16, eval_every=50),
        eval=dict(prompts=24, max_tokens=48, parity_max_tokens=56, context_chars=150),
        export=dict(dense="bf16", drafter_dense="bf16"),
    ),
    # One H100/H200 inside one 10-minute device command: the stages get wall-clock budgets (the step
    # counts are upper bounds; common.StepBudget fits them to the budget after 20 steps) and --deadline
    # shrinks the drafter's budget if the earlier stages ran long. Sized so that the committed default
    # (target with MXFP4 experts and FP8 dense matrices, drafter in FP8) stays under 20 MB: see README.md.
    "full": dict(
        corpus=dict(include_tests=True, heldout_fraction=0.05, train_max_bytes=None, heldout_max_bytes=None),
        vocab=4096,
        target=tg.TargetSpec(layers=8, hidden=384, heads=6, kv_heads=2, head_dim=64, experts=16, top_k=4,
                             moe_intermediate=96, window=512, tie_embeddings=True),
        target_sched=tg.TrainSchedule(steps=700, batch=64, seq_len=1024, lr=2e-3, warmup=30, eval_every=50,
                                      eval_tokens=400_000, seconds=240),
        gen=dict(prompts=4096, eval_prompts=256, min_prompt=64, max_prompt=192, new_tokens=256, batch=512,
                 context_chars=900),
        drafter=dr.DrafterShape(layers=3, heads=6, kv_heads=2, head_dim=64, intermediate=512, block=8,
                                sliding_layers=2, window=256),
        drafter_sched=dr.DrafterSchedule(steps=2000, seqs=32, anchors=64, eval_every=100, seconds=150),
        eval=dict(prompts=300, max_tokens=128, parity_max_tokens=96, context_chars=600),
        export=dict(dense="fp8", drafter_dense="fp8"),
    ),
}


def prompt_ids(tok, modules, n: int, seed: int, context_chars: int, min_len: int, max_len: int) -> list[list[int]]:
    """Code prompts (signatures, docstrings, partial bodies) as token ids, cut on the left to max_len;
    those shorter than min_len are dropped."""
    ps = corpus.code_prompts(modules, int(n * 1.3) + 8, seed=seed, context_chars=context_chars)
    out = []
    for enc in tok.encode_batch([p.text for p in ps], add_special_tokens=False):
        ids = enc.ids[-max_len:]
        if len(ids) >= min_len:
            out.append(ids)
    return out[:n]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output directory (created; an existing one is reused)")
    ap.add_argument("--scale", choices=sorted(SCALES), default="smoke")
    ap.add_argument("--tachyon", help="the tachyon binary (default: $TACHYON_BUILD_DIR/bin/tachyon, else build/bin/tachyon)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="auto", help="cuda, cpu or auto")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: 1 for smoke, all for full)")
    ap.add_argument("--no-eval", action="store_true", help="stop after converting (no parity check, no evaluation)")
    ap.add_argument("--tachyon-device", default="cpu", help="--device for tachyon generate in the checks")
    ap.add_argument("--eval-jobs", type=int, default=None,
                    help="tachyon processes at a time in the evaluation (default: 1 for smoke, cores - 1 up to 16 for full)")
    ap.add_argument("--deadline", type=float, default=None,
                    help="seconds from the start by which training must be over (the drafter's budget shrinks to fit)")
    ap.add_argument("--dry-run", action="store_true",
                    help="the scale's shapes with a handful of steps and samples: checks the code path, trains nothing")
    args = ap.parse_args()
    started = time.time()

    cfg = dict(SCALES[args.scale])
    if args.dry_run:
        ts = cfg["target_sched"]
        cfg["target_sched"] = dataclasses.replace(ts, steps=3, batch=2, warmup=1, eval_every=3, eval_tokens=2 * ts.seq_len)
        cfg["gen"] = {**cfg["gen"], "prompts": 8, "eval_prompts": 4, "new_tokens": 24, "batch": 4}
        cfg["drafter_sched"] = dataclasses.replace(cfg["drafter_sched"], steps=3, seqs=2, anchors=8, eval_every=3)
        cfg["target_sched"] = dataclasses.replace(cfg["target_sched"], seconds=None)
        cfg["drafter_sched"] = dataclasses.replace(cfg["drafter_sched"], seconds=None)
        cfg["eval"] = {**cfg["eval"], "prompts": 6, "max_tokens": 16, "parity_max_tokens": 24}
    os.makedirs(args.out, exist_ok=True)
    log = Log(os.path.join(args.out, "log.txt"))
    threads = args.threads or (1 if args.scale == "smoke" else os.cpu_count())
    torch.set_num_threads(threads)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          (args.device if args.device != "auto" else "cpu"))
    amp = device.type == "cuda"
    if amp:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    import tokenizers
    import transformers
    log(f"scale {args.scale}, seed {args.seed}, device {device}{' (bf16 autocast)' if amp else ' (float32)'}, "
        f"{threads} CPU threads; python {sys.version.split()[0]}, torch {torch.__version__}, "
        f"transformers {transformers.__version__}, tokenizers {tokenizers.__version__}")
    if amp:
        log(f"GPU: {torch.cuda.get_device_name(0)}")
    run = {"scale": args.scale, "dry_run": args.dry_run, "seed": args.seed, "device": str(device), "python": sys.version.split()[0],
           "torch": torch.__version__, "transformers": transformers.__version__,
           "settings": json.loads(json.dumps({k: (dataclasses.asdict(v) if dataclasses.is_dataclass(v) else v)
                                              for k, v in cfg.items()})),
           "corpus_settings": cfg["corpus"], "results": {}, "seconds": {}}
    R = run["results"]
    history: dict = {}

    def save_run():
        common.save_json(os.path.join(args.out, "run.json"), run)

    # ---- corpus -----------------------------------------------------------------------------
    t = time.time()
    root = corpus.stdlib_root()
    train_mods, heldout_mods = common.corpus_split(cfg["corpus"])
    R["corpus"] = {"root": root, "train_modules": len(train_mods), "train_bytes": corpus.total_bytes(train_mods),
                   "heldout_modules": len(heldout_mods), "heldout_bytes": corpus.total_bytes(heldout_mods)}
    log(f"corpus {root}: train {len(train_mods)} modules ({R['corpus']['train_bytes'] / 1e6:.2f} MB), held-out "
        f"{len(heldout_mods)} modules ({R['corpus']['heldout_bytes'] / 1e6:.2f} MB)")

    # ---- tokenizer --------------------------------------------------------------------------
    tok = bpe.train_tokenizer([m.text for m in train_mods], cfg["vocab"])
    tok_json = tok.to_str()
    with open(os.path.join(args.out, "tokenizer.json"), "w") as f:
        f.write(tok_json)
    ids = bpe.special_ids(tok)
    eot, mask_id = ids["eot"], ids["mask"]
    for m in heldout_mods[:20]:  # byte-level BPE must give back the (NFC) text
        import unicodedata
        assert tok.decode(tok.encode(m.text).ids, skip_special_tokens=False) == unicodedata.normalize("NFC", m.text), m.name
    train_stream = common.token_stream(tok, train_mods, eot)
    heldout_stream = common.token_stream(tok, heldout_mods, eot)
    R["tokenizer"] = {"vocab": tok.get_vocab_size(), "eot": eot, "mask": mask_id,
                      "train_tokens": int(len(train_stream)), "heldout_tokens": int(len(heldout_stream)),
                      "train_bytes_per_token": R["corpus"]["train_bytes"] / len(train_stream)}
    run["seconds"]["corpus_and_tokenizer"] = time.time() - t
    log(f"tokenizer: vocab {tok.get_vocab_size()} (eot {eot}, mask {mask_id}); train {len(train_stream):,} tokens "
        f"({R['tokenizer']['train_bytes_per_token']:.2f} bytes/token), held-out {len(heldout_stream):,} tokens")
    save_run()

    # ---- target -----------------------------------------------------------------------------
    t = time.time()
    spec, sched = cfg["target"], cfg["target_sched"]
    hf_cfg = tg.make_config(spec, tok.get_vocab_size(), eot)
    model = tg.build_model(hf_cfg, args.seed, device)
    tg.check_attention_layout(model, spec)
    impl = tg.pick_experts_implementation(model, device, amp, log)
    n_params = sum(p.numel() for p in model.parameters())
    n_expert = sum(p.numel() for n, p in model.named_parameters() if "experts" in n)
    active = n_params - n_expert + n_expert * spec.top_k // spec.experts
    R["target_params"] = {"total": n_params, "experts": n_expert, "active_per_token": active}
    log(f"target: {spec}; {n_params / 1e6:.2f} M parameters ({n_expert / 1e6:.2f} M in experts, "
        f"{active / 1e6:.2f} M active per token); experts implementation {impl}; "
        f"{sched.steps} steps x {sched.batch} x {sched.seq_len} tokens "
        f"= {sched.steps * sched.batch * sched.seq_len / len(train_stream):.1f} passes over the train split")
    heldout_wins = tg.windows(heldout_stream, sched.seq_len, sched.eval_tokens)
    R["target"] = tg.train(model, train_stream, heldout_wins, sched, device, amp, args.seed, log, history)
    R["target"]["heldout_tokens_evaluated"] = int(heldout_wins[:, 1:].numel())
    run["seconds"]["target"] = time.time() - t
    log(f"target: best held-out loss {R['target']['best_heldout_loss']:.4f} at step {R['target']['best_step']} "
        f"({R['target']['tokens_per_s']:,.0f} tokens/s, {R['target']['seconds']:.0f} s)")

    target_dir = os.path.join(args.out, "target_hf")
    if os.path.exists(target_dir):
        shutil.rmtree(target_dir)
    tg.export(model, target_dir, tok_json)
    # transformers loads it back: the same logits as the BF16-rounded model in memory
    loaded = tg.load_hf(target_dir)
    ref_model = tg.load_hf(target_dir)
    ref_model.load_state_dict({k: v.to(torch.bfloat16).float() for k, v in model.state_dict().items()})
    x = heldout_wins[:2, :-1]
    with torch.no_grad():
        diff = (loaded(input_ids=x).logits - ref_model(input_ids=x).logits).abs().max().item()
    assert diff < 1e-4, f"the exported target does not load back: max |logit difference| {diff}"
    R["target"]["export_reload_max_logit_diff"] = diff
    del loaded, ref_model
    # from here on the target is exactly the exported BF16 values (what Tachyon runs): generations, taps,
    # and the drafter's frozen embedding and LM head
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(torch.bfloat16).float())
    R["target"]["heldout_loss_bf16_export"] = tg.heldout_loss(model, heldout_wins, device, amp)
    log(f"exported {target_dir}; reloaded by transformers: max |logit difference| {diff:.2e} from the model in "
        f"memory rounded to BF16; held-out loss of the BF16 weights {R['target']['heldout_loss_bf16_export']:.4f}")
    save_run()

    # ---- drafter data: the target's own generations -----------------------------------------
    t = time.time()
    g = cfg["gen"]
    train_prompts = prompt_ids(tok, train_mods, g["prompts"], args.seed + 11, g["context_chars"], g["min_prompt"],
                               g["max_prompt"])
    eval_prompts = prompt_ids(tok, heldout_mods, g["eval_prompts"], args.seed + 12, g["context_chars"],
                              g["min_prompt"], g["max_prompt"])
    log(f"generating: {len(train_prompts)} train-split prompts and {len(eval_prompts)} held-out prompts, "
        f"{g['new_tokens']} new tokens each")
    gen_train = dr.generate(model, train_prompts, g["new_tokens"], g["batch"], eot, args.seed + 1, device, amp, log)
    # at least two batches, so that the held-out set has greedy and sampled continuations like the train set
    gen_eval = dr.generate(model, eval_prompts, g["new_tokens"], max(1, min(g["batch"], (len(eval_prompts) + 1) // 2)),
                           eot, args.seed + 2, device, amp, log)
    dshape = dataclasses.replace(cfg["drafter"], target_layer_ids=dr.default_taps(spec.layers))
    store = torch.bfloat16 if amp else torch.float32
    data = dr.tap_states(model, gen_train, dshape.target_layer_ids, eot, device, amp, g["batch"], store)
    eval_data = dr.tap_states(model, gen_eval, dshape.target_layer_ids, eot, device, amp, g["batch"], store)
    gen_lens = (data.lengths - data.prompt_lens).float()
    R["drafter_data"] = {"sequences": len(gen_train), "generated_tokens": int(gen_lens.sum()),
                         "mean_generated": float(gen_lens.mean()), "eval_sequences": len(gen_eval),
                         "ended_with_eot": int(sum(s[-1] == eot for s, _ in gen_train))}
    run["seconds"]["generation_and_taps"] = time.time() - t
    log(f"drafter data: {R['drafter_data']['sequences']} sequences, {R['drafter_data']['generated_tokens']:,} generated "
        f"tokens; taps of target layers {dshape.target_layer_ids}; {time.time() - t:.0f} s")
    # an example, to see what the target writes
    ex_seq, ex_p = gen_eval[0]
    log("example (held-out prompt | target's greedy continuation):\n" + tok.decode(ex_seq[:ex_p]) + " |>>>| "
        + tok.decode(ex_seq[ex_p:]))
    save_run()

    # ---- drafter ----------------------------------------------------------------------------
    t = time.time()
    dcfg = dr.drafter_config(dshape, hf_cfg, mask_id)
    dspec = dr.ref.parse_config(dcfg)
    torch.manual_seed(args.seed + 3)
    dmod = dr.DrafterWeights(dspec)
    with torch.no_grad():  # start the final norm where the target's is: lm_head's input scale
        dmod.norm.weight.copy_(model.model.norm.weight.float())
    dmod.to(device)
    embed = model.model.embed_tokens.weight.detach().float()
    lm_head = model.lm_head.weight.detach().float()
    embed.requires_grad_(False)
    lm_head.requires_grad_(False)
    n_d = sum(p.numel() for p in dmod.parameters())
    log(f"drafter: {dshape}; layer types {dcfg['layer_types']}, window {dcfg['sliding_window']}; "
        f"{n_d / 1e6:.2f} M parameters (+ the target's embedding and LM head, frozen)")
    probe = [int(data.prompt_lens[0]) + i for i in (0, 3, 17) if int(data.prompt_lens[0]) + i < int(data.lengths[0]) - 1]
    L0 = int(data.lengths[0])
    worst = dr.check_against_reference(dspec, dmod, embed, lm_head, data.taps[0, :L0], data.tokens[0, :L0], probe)
    log(f"batched training forward vs reference_drafter.draft_logits (untrained weights): max |diff| {worst:.2e}")
    dsched = cfg["drafter_sched"]
    if args.deadline is not None:  # what is left of the deadline, less a reserve for the export after it
        left = args.deadline - (time.time() - started) - 30
        if dsched.seconds is None or left < dsched.seconds:
            log(f"drafter: {left:.0f} s left before the deadline (budget {dsched.seconds} s)")
            dsched = dataclasses.replace(dsched, seconds=max(20.0, left))
    R["drafter"] = dr.train(dspec, dmod, embed, lm_head, data, eval_data, dsched, args.seed + 4, amp,
                            log, history)
    worst = dr.check_against_reference(dspec, dmod, embed, lm_head, data.taps[0, :L0], data.tokens[0, :L0], probe)
    R["drafter"]["reference_max_diff"] = worst
    log(f"batched training forward vs reference_drafter.draft_logits (trained weights): max |diff| {worst:.2e}")
    run["seconds"]["drafter"] = time.time() - t
    drafter_dir = os.path.join(args.out, "drafter_hf")
    if os.path.exists(drafter_dir):
        shutil.rmtree(drafter_dir)
    dr.export(dmod, dcfg, drafter_dir)
    log(f"exported {drafter_dir}")
    save_run()

    # ---- plot -------------------------------------------------------------------------------
    backend = plot.plot_losses(os.path.join(args.out, "loss_curve.png"), [
        ("target loss", [("train", plot.smooth(history["target_train"]), (40, 90, 200)),
                         ("held-out", history["target_heldout"], (220, 80, 20))]),
        ("drafter loss (weighted CE)", [("train", plot.smooth(history["drafter_train"]), (40, 90, 200)),
                                        ("held-out", history["drafter_eval"], (220, 80, 20))]),
    ])
    common.save_json(os.path.join(args.out, "history.json"), history)
    log(f"loss_curve.png drawn with {backend}")

    # ---- convert, check, evaluate -----------------------------------------------------------
    tachyon = common.find_tachyon(args.tachyon)
    if not tachyon:
        log("no tachyon binary (--tachyon, or build/bin/tachyon): not converting")
        save_run()
        return 0
    t = time.time()
    ex = cfg["export"]
    common.convert_target(tachyon, target_dir, os.path.join(args.out, "target.h5"), "mxfp4", log, dense=ex["dense"])
    common.convert_drafter(tachyon, drafter_dir, os.path.join(args.out, "drafter.h5"), log, dense=ex["drafter_dense"])
    run["seconds"]["convert"] = time.time() - t
    save_run()
    if args.no_eval:
        return 0
    del model, data, eval_data
    if amp:
        torch.cuda.empty_cache()
    import check_parity
    import eval_acceptance
    t = time.time()
    R["parity"] = check_parity.check(args.out, tachyon, max_tokens=cfg["eval"]["parity_max_tokens"],
                                     device=args.tachyon_device, log=log)
    run["seconds"]["parity"] = time.time() - t
    save_run()
    t = time.time()
    R["acceptance"] = eval_acceptance.evaluate(args.out, tachyon, n_prompts=cfg["eval"]["prompts"],
                                               max_tokens=cfg["eval"]["max_tokens"],
                                               context_chars=cfg["eval"]["context_chars"], device=args.tachyon_device,
                                               jobs=args.eval_jobs or (1 if args.scale == "smoke" else
                                                                       max(1, min(16, (os.cpu_count() or 2) - 1))),
                                               log=log)
    run["seconds"]["eval"] = time.time() - t
    save_run()
    log("seconds per stage: " + ", ".join(f"{k} {v:.0f}" for k, v in run["seconds"].items()))
    return 0 if R["parity"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

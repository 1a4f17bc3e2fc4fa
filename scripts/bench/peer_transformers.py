#!/usr/bin/env python3
"""The PyTorch + transformers peer of `tachyon bench step` (DESIGN.md section 6, "Peers measured in the
same run"): the Qwen3-30B-A3B shape in transformers' own Qwen3MoeForCausalLM, built from its config with
random BF16 weights (nothing downloaded), decoding greedily on the same GPU after a prompt of --context
tokens, with a static KV cache.

It measures, in this order, each printed as one JSON line as soon as it is done (so a run cut short by a
time limit still reports what it finished):
  1. eager, for each MoE experts implementation transformers offers ("grouped_mm", "batched_mm", "eager");
  2. torch.compile(mode="reduce-overhead") (Inductor + CUDA graphs) with the fastest of those, unless
     --no-compile; compile_s is its first step (compiling and recording the graph).
A last line {"best": ...} names the fastest setting per batch size. tokens/s = batch / median step
time, each step timed from its launch to its token on the host (as `tachyon bench step` times a step).

  python3 scripts/bench/peer_transformers.py [--batch 1,8] [--context 4096] [--steps 32] [--no-compile]
  python3 scripts/bench/peer_transformers.py --tiny --device cpu   # a tiny shape, to check the script
"""
import argparse
import json
import statistics
import sys
import time

import torch
import transformers
from transformers import Qwen3MoeConfig, Qwen3MoeForCausalLM, StaticCache

# Qwen3-30B-A3B's config.json (the fields that set the shape).
QWEN3_30B_A3B = dict(vocab_size=151936, hidden_size=2048, intermediate_size=6144, moe_intermediate_size=768,
                     num_hidden_layers=48, num_attention_heads=32, num_key_value_heads=4, head_dim=128,
                     num_experts=128, num_experts_per_tok=8, norm_topk_prob=True, rope_theta=1e6,
                     max_position_embeddings=40960, rms_norm_eps=1e-6, tie_word_embeddings=False)
TINY = dict(QWEN3_30B_A3B, vocab_size=512, hidden_size=64, intermediate_size=192, moe_intermediate_size=32,
            num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=16, num_experts=8)
IMPLEMENTATIONS = ["grouped_mm", "batched_mm", "eager"]


def emit(record):
    print(json.dumps(record), flush=True)


def set_experts_implementation(model, name):
    if hasattr(model, "set_experts_implementation"):
        model.set_experts_implementation(name)
    else:  # the experts modules read it from the (shared) config at every call
        model.config._experts_implementation = name


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@torch.inference_mode()
def measure(model, forward, impl, batch, context, steps, warmup, device):
    """Prefill `context` random tokens per sequence, then time `steps` greedy decode steps with experts `impl`."""
    cache = StaticCache(config=model.config, max_cache_len=context + warmup + steps + 1)
    ids = torch.randint(0, model.config.vocab_size, (batch, context), device=device)
    # The prompt with grouped_mm, as generate() does: batched_mm would copy every pair's expert weights.
    set_experts_implementation(model, "grouped_mm")
    out = model(input_ids=ids, past_key_values=cache, cache_position=torch.arange(context, device=device),
                use_cache=True, logits_to_keep=1)
    token = out.logits[:, -1:].argmax(-1)
    set_experts_implementation(model, impl)
    times, first = [], None
    for i in range(warmup + steps):
        position = torch.tensor([context + i], device=device)
        sync(device)
        start = time.perf_counter()
        logits = forward(token, position, cache)
        token = logits[:, -1:].argmax(-1).clone()
        sync(device)
        if first is None:
            first = time.perf_counter() - start  # with torch.compile: compiling and recording the graphs
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return statistics.median(times), first


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", default="1,8", help="sequences decoded together, comma-separated")
    ap.add_argument("--context", type=int, default=4096, help="prompt tokens in the KV cache before decoding")
    ap.add_argument("--steps", type=int, default=32, help="timed decode steps per setting")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--no-compile", action="store_true", help="skip the torch.compile setting")
    ap.add_argument("--tiny", action="store_true", help="a tiny model of the same family (to check the script)")
    ap.add_argument("--device", default="cuda")
    args = ap.parse_args()
    batches = [int(b) for b in args.batch.split(",")]
    device = torch.device(args.device)

    shape = TINY if args.tiny else QWEN3_30B_A3B
    config = Qwen3MoeConfig(**shape)
    config._attn_implementation = "sdpa"
    torch.manual_seed(0)
    start = time.perf_counter()
    torch.set_default_dtype(torch.bfloat16)
    with device:
        model = Qwen3MoeForCausalLM(config)
    model.eval()
    sync(device)
    params = sum(p.numel() for p in model.parameters())
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    emit({"peer": "transformers", "model": "tiny" if args.tiny else "qwen3-30b-a3b", "device": name,
          "date": time.strftime("%Y-%m-%d", time.gmtime()), "torch": torch.__version__,
          "transformers": transformers.__version__, "dtype": "bf16", "parameters": params,
          "weights_gb": params * 2 / 1e9, "init_s": round(time.perf_counter() - start, 1), "context": args.context})

    def eager_forward(token, position, cache):
        return model(input_ids=token, past_key_values=cache, cache_position=position, use_cache=True).logits

    best = {}  # batch -> (tokens/s, record)
    for impl in IMPLEMENTATIONS:
        try:
            for b in batches:
                step, _ = measure(model, eager_forward, impl, b, args.context, args.steps, args.warmup, device)
                record = {"setting": f"eager, experts {impl}, static cache, sdpa", "batch": b,
                          "median_step_ms": step * 1e3, "tokens_per_s": b / step}
                emit(record)
                if b not in best or record["tokens_per_s"] > best[b][0]:
                    best[b] = (record["tokens_per_s"], record, impl)
        except Exception as e:  # an implementation this transformers lacks, or one that fails here
            emit({"setting": f"eager, experts {impl}", "error": f"{type(e).__name__}: {e}"[:300]})

    if not args.no_compile and best:
        impl = best[batches[0]][2]
        try:
            compiled = torch.compile(eager_forward, mode="reduce-overhead", fullgraph=False)
            for b in batches:
                step, compile_s = measure(model, compiled, impl, b, args.context, args.steps, args.warmup, device)
                record = {"setting": f"torch.compile reduce-overhead, experts {impl}, static cache, sdpa", "batch": b,
                          "compile_s": round(compile_s, 1), "median_step_ms": step * 1e3, "tokens_per_s": b / step}
                emit(record)
                if record["tokens_per_s"] > best[b][0]:
                    best[b] = (record["tokens_per_s"], record, impl)
        except Exception as e:
            emit({"setting": f"torch.compile, experts {impl}", "error": f"{type(e).__name__}: {e}"[:300]})

    emit({"best": {str(b): r for b, (_, r, _) in sorted(best.items())}})
    return 0


if __name__ == "__main__":
    sys.exit(main())

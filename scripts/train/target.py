"""The target: a small Qwen3-MoE (transformers' Qwen3MoeForCausalLM), trained from scratch.

Every layer is a sparse MoE layer (softmax router, top-k renormalised), QK-norm, GQA, RoPE; every
layer uses the same sliding window when `window` > 0 (transformers 5.x's Qwen3-MoE gives
`sliding_window` to all layers when `use_sliding_window` is true, and Tachyon follows that).
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
import transformers
from transformers import Qwen3MoeConfig, Qwen3MoeForCausalLM

from common import StepBudget


@dataclass
class TargetSpec:
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    experts: int
    top_k: int
    moe_intermediate: int
    window: int              # sliding window of every layer; 0 = full attention
    rope_theta: float = 10000.0
    max_position: int = 4096
    tie_embeddings: bool = False  # the LM head is the embedding (saves vocab x hidden in the shipped file)


@dataclass
class TrainSchedule:
    steps: int
    batch: int               # sequences per step
    seq_len: int
    lr: float
    warmup: int
    min_lr_ratio: float = 0.1
    weight_decay: float = 0.1
    aux_coef: float = 0.01   # load-balancing loss weight
    clip: float = 1.0
    eval_every: int = 100
    eval_tokens: int = 400_000
    seconds: float | None = None  # wall-clock budget for training and evaluations (common.StepBudget)


def make_config(spec: TargetSpec, vocab: int, eot: int) -> Qwen3MoeConfig:
    assert spec.moe_intermediate % 32 == 0 and spec.hidden % 32 == 0, "MXFP4 blocks of 32 along K"
    kw = dict(
        vocab_size=vocab, hidden_size=spec.hidden, intermediate_size=4 * spec.hidden,
        moe_intermediate_size=spec.moe_intermediate, num_hidden_layers=spec.layers,
        num_attention_heads=spec.heads, num_key_value_heads=spec.kv_heads, head_dim=spec.head_dim,
        num_experts=spec.experts, num_experts_per_tok=spec.top_k, norm_topk_prob=True,
        mlp_only_layers=[], decoder_sparse_step=1, tie_word_embeddings=spec.tie_embeddings,
        rope_parameters={"rope_type": "default", "rope_theta": spec.rope_theta},
        max_position_embeddings=spec.max_position, rms_norm_eps=1e-6,
        use_sliding_window=spec.window > 0, sliding_window=spec.window if spec.window > 0 else None,
        bos_token_id=None, eos_token_id=eot, pad_token_id=None, router_aux_loss_coef=0.0,
        output_router_logits=False,
    )
    if int(transformers.__version__.split(".")[0]) < 5:  # 4.x spells RoPE as a top-level rope_theta
        kw["rope_theta"] = kw.pop("rope_parameters")["rope_theta"]
    return Qwen3MoeConfig(**kw)


def check_attention_layout(model: Qwen3MoeForCausalLM, spec: TargetSpec) -> None:
    """Every layer must see the same window as Tachyon will (all sliding or none), whatever the installed
    transformers version does with per-layer types; and RoPE must use the intended theta."""
    inv = model.model.rotary_emb.inv_freq.double().cpu()
    want_inv = 1.0 / spec.rope_theta ** (torch.arange(0, spec.head_dim, 2, dtype=torch.float64) / spec.head_dim)
    if not torch.allclose(inv, want_inv, rtol=1e-5):
        raise SystemExit(f"this transformers builds RoPE with other frequencies than theta {spec.rope_theta}")
    want = spec.window if spec.window > 0 else None
    attns = [m for m in model.modules() if type(m).__name__ == "Qwen3MoeAttention"]
    assert len(attns) == spec.layers, len(attns)
    got = [getattr(a, "sliding_window", None) for a in attns]
    types = getattr(model.config, "layer_types", None)
    if got != [want] * spec.layers or (types and want and any(t != "sliding_attention" for t in types)):
        raise SystemExit(f"this transformers ({__import__('transformers').__version__}) gives the layers the windows "
                         f"{got} (layer_types {types}); Tachyon expects {want} on every layer")


def build_model(cfg: Qwen3MoeConfig, seed: int, device: torch.device, attn: str = "sdpa") -> Qwen3MoeForCausalLM:
    torch.manual_seed(seed)
    model = Qwen3MoeForCausalLM(cfg)
    model.to(device=device, dtype=torch.float32)
    model.set_attn_implementation(attn)
    return model


def set_experts(model, impl: str) -> None:
    if hasattr(model, "set_experts_implementation"):
        model.set_experts_implementation(impl)


def pick_experts_implementation(model, device: torch.device, amp: bool, log) -> str:
    """grouped_mm when it runs forward and backward here and agrees with eager; eager otherwise."""
    if device.type != "cuda" or not hasattr(model, "set_experts_implementation"):
        set_experts(model, "eager")
        return "eager"
    x = torch.randint(0, model.config.vocab_size - 2, (2, 64), device=device)
    results = {}
    for impl in ("eager", "grouped_mm"):
        try:
            set_experts(model, impl)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
                out = model(input_ids=x).logits.float()
            out.sum().backward()
            model.zero_grad(set_to_none=True)
            results[impl] = out.detach()
        except Exception as e:  # noqa: BLE001 (any failure means: do not use it)
            log(f"experts implementation {impl}: unavailable ({type(e).__name__}: {str(e)[:200]})")
    if "grouped_mm" in results and (results["grouped_mm"] - results["eager"]).abs().max().item() < 0.1:
        set_experts(model, "grouped_mm")
        return "grouped_mm"
    set_experts(model, "eager")
    return "eager"


def param_groups(model, weight_decay: float):
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.ndim < 2 or "embed_tokens" in name:
            no_decay.append(p)   # norms, and the embedding (keeps the never-seen <|mask|> row at its init)
        else:
            decay.append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def lr_at(step: int, peak: float, warmup: int, total: int, min_ratio: float) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    return peak * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * min(1.0, t))))


def aux_balance_loss(router_logits, num_experts: int, top_k: int) -> torch.Tensor:
    """Switch-style load balancing: E * sum_e (fraction of assignments to e) * (mean router prob of e)."""
    total = 0.0
    for logits in router_logits:
        probs = torch.softmax(logits.float(), dim=-1)
        top = torch.topk(probs, top_k, dim=-1).indices
        frac = F.one_hot(top, num_experts).float().sum(1).mean(0) / top_k
        total = total + num_experts * (frac * probs.mean(0)).sum()
    return total / len(router_logits)


def windows(stream: np.ndarray, seq_len: int, max_tokens: int) -> torch.Tensor:
    """Non-overlapping [n, seq_len + 1] windows from the start of a token stream (the held-out set)."""
    n = min(len(stream) - 1, max_tokens) // seq_len
    if n == 0:
        raise SystemExit(f"held-out stream of {len(stream)} tokens is shorter than one window of {seq_len}")
    return torch.from_numpy(np.stack([stream[i * seq_len: i * seq_len + seq_len + 1] for i in range(n)]).astype(np.int64))


@torch.no_grad()
def heldout_loss(model, wins: torch.Tensor, device, amp: bool, batch: int = 16) -> float:
    model.eval()
    total, count = 0.0, 0
    for i in range(0, len(wins), batch):
        x = wins[i:i + batch].to(device)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
            logits = model(input_ids=x[:, :-1]).logits
        loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1), reduction="sum")
        total += loss.item()
        count += x[:, 1:].numel()
    model.train()
    return total / count


def train(model, train_stream: np.ndarray, heldout_wins: torch.Tensor, sched: TrainSchedule, device, amp: bool,
          seed: int, log, history: dict) -> dict:
    """AdamW + warmup/cosine on random windows of the train stream; returns the best held-out state."""
    rng = np.random.default_rng(seed)
    opt = torch.optim.AdamW(param_groups(model, sched.weight_decay), lr=sched.lr, betas=(0.9, 0.95), eps=1e-8,
                            fused=device.type == "cuda")
    cfg = model.config
    best = {"loss": float("inf"), "step": -1, "state": None}
    n = len(train_stream) - sched.seq_len - 1
    t0 = time.time()
    tokens = 0
    history.setdefault("target_train", [])
    history.setdefault("target_heldout", [])
    model.train()
    budget = StepBudget(sched.steps, sched.seconds, sched.eval_every)
    step = 0
    while True:
        if step % sched.eval_every == 0 or step == budget.total:
            te = time.time()
            hl = heldout_loss(model, heldout_wins, device, amp)
            budget.add_eval(time.time() - te)
            history["target_heldout"].append((step, hl))
            mark = ""
            if hl < best["loss"]:
                best = {"loss": hl, "step": step, "state": {k: v.detach().to("cpu", copy=True)
                                                           for k, v in model.state_dict().items()}}
                mark = " (best)"
            el = time.time() - t0
            log(f"target step {step}/{budget.total}: held-out loss {hl:.4f}{mark}; "
                f"{tokens / max(el, 1e-9):,.0f} train tokens/s, {el:.0f} s")
        if step == budget.total:
            break
        ts = time.time()
        lr = lr_at(step, sched.lr, sched.warmup, budget.total, sched.min_lr_ratio)
        for g in opt.param_groups:
            g["lr"] = lr
        starts = rng.integers(0, n, size=sched.batch)
        x = torch.from_numpy(np.stack([train_stream[s:s + sched.seq_len + 1] for s in starts]).astype(np.int64)).to(device)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
            out = model(input_ids=x[:, :-1], output_router_logits=True)
            ce = F.cross_entropy(out.logits.float().reshape(-1, out.logits.shape[-1]), x[:, 1:].reshape(-1))
            aux = aux_balance_loss(out.router_logits, cfg.num_experts, cfg.num_experts_per_tok)
        loss = ce + sched.aux_coef * aux
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), sched.clip)
        opt.step()
        tokens += x[:, 1:].numel()
        history["target_train"].append((step, ce.item()))  # .item() waits for the GPU: the step's time is real
        budget.add_train(time.time() - ts)
        if budget.refit():
            log(f"target: {budget.total} steps fit the {sched.seconds:.0f} s budget (planned {sched.steps})")
        if step % max(1, sched.eval_every // 4) == 0:
            log(f"target step {step}: loss {ce.item():.4f} aux {aux.item():.3f} grad-norm {gnorm.item():.2f} lr {lr:.2e}")
        step += 1
    model.load_state_dict(best["state"])
    return {"best_heldout_loss": best["loss"], "best_step": best["step"], "steps": budget.total, "seconds": time.time() - t0,
            "tokens": tokens, "tokens_per_s": tokens / max(time.time() - t0, 1e-9)}


def export(model, out_dir: str, tokenizer_json: str) -> None:
    """BF16 safetensors + config.json (save_pretrained) + tokenizer.json."""
    import os
    m = copy.deepcopy(model).to("cpu", dtype=torch.bfloat16)
    m.config.architectures = ["Qwen3MoeForCausalLM"]
    m.save_pretrained(out_dir)
    with open(os.path.join(out_dir, "tokenizer.json"), "w") as f:
        f.write(tokenizer_json)


def load_hf(dir_: str, device="cpu", attn="eager") -> Qwen3MoeForCausalLM:
    try:
        model = Qwen3MoeForCausalLM.from_pretrained(dir_, dtype=torch.float32)
    except TypeError:  # older transformers
        model = Qwen3MoeForCausalLM.from_pretrained(dir_, torch_dtype=torch.float32)
    model.set_attn_implementation(attn)
    set_experts(model, "eager")
    return model.to(device).eval()


def spec_dict(spec) -> dict:
    return asdict(spec)

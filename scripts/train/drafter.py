"""The DFlash drafter: data from the target's own generations, a batched training forward built from
scripts/dflash/reference_drafter.py, the recipe of reference/dflash.md section 3, and the z-lab export.

The drafter's math is the reference's (the file Tachyon's CPU drafter is tested against): this module
imports its pieces (config resolution, RMSNorm, RoPE, projections, context features, mask embedding)
and only batches them: many anchors of many sequences in one pass, each block seeing the context rows
before its anchor plus its own block, never another block (the training mask of dflash.md 1.3).
`check_against_reference` recomputes drafts one at a time with `reference_drafter.draft_logits` and
requires the same logits.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "dflash"))
import reference_drafter as ref  # noqa: E402

from common import StepBudget  # noqa: E402
from muon import Muon  # noqa: E402


# ---------------------------------------------------------------------------------------------
# Shape and config
# ---------------------------------------------------------------------------------------------

@dataclass
class DrafterShape:
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    block: int = 8
    sliding_layers: int = 0       # the first `sliding_layers` layers use a sliding window (causal in the block)
    window: int = 0
    target_layer_ids: list[int] = field(default_factory=list)


def default_taps(num_target_layers: int, n: int = 3) -> list[int]:
    """z-lab's rule for n taps when the target is deep enough; else evenly over 0..N-2. Never the last
    layer (Hugging Face's hidden_states[-1] is after the final norm, Tachyon's tap before it)."""
    if num_target_layers >= 7:
        ids = ref.default_target_layer_ids(num_target_layers, n)
    else:
        ids = sorted({round(i * (num_target_layers - 2) / max(1, n - 1)) for i in range(n)})
    assert all(0 <= i < num_target_layers - 1 for i in ids) and len(set(ids)) == len(ids), ids
    return ids


def drafter_config(shape: DrafterShape, target_cfg, mask_token_id: int) -> dict:
    """config.json in z-lab's layout (the fields tests/fixtures/dflash/*/drafter/config.json use)."""
    assert 0 <= shape.sliding_layers <= shape.layers
    types = ["sliding_attention"] * shape.sliding_layers + ["full_attention"] * (shape.layers - shape.sliding_layers)
    rope = getattr(target_cfg, "rope_parameters", None) or {}
    theta = rope.get("rope_theta", getattr(target_cfg, "rope_theta", 10000.0))
    return {
        "architectures": ["DFlashDraftModel"],
        "auto_map": {"AutoModel": "dflash.DFlashDraftModel"},
        "model_type": "qwen3",
        "hidden_size": target_cfg.hidden_size,
        "intermediate_size": shape.intermediate,
        "num_hidden_layers": shape.layers,
        "num_attention_heads": shape.heads,
        "num_key_value_heads": shape.kv_heads,
        "head_dim": shape.head_dim,
        "hidden_act": "silu",
        "rms_norm_eps": 1e-6,
        "rope_theta": float(theta),
        "max_position_embeddings": target_cfg.max_position_embeddings,
        "vocab_size": target_cfg.vocab_size,
        "tie_word_embeddings": False,
        "attention_bias": False,
        "num_target_layers": target_cfg.num_hidden_layers,
        "dtype": "bfloat16",
        "block_size": shape.block,
        "dflash_config": {"mask_token_id": int(mask_token_id), "target_layer_ids": list(shape.target_layer_ids)},
        "layer_types": types,
        "sliding_window": shape.window if shape.sliding_layers else None,
    }


# ---------------------------------------------------------------------------------------------
# The trainable weights, named as the checkpoint names them
# ---------------------------------------------------------------------------------------------

class _Norm(nn.Module):
    def __init__(self, n: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))


class _Attn(nn.Module):
    def __init__(self, s: ref.DrafterSpec):
        super().__init__()
        self.q_proj = nn.Linear(s.hidden, s.q_heads * s.head_dim, bias=False)
        self.k_proj = nn.Linear(s.hidden, s.kv_heads * s.head_dim, bias=False)
        self.v_proj = nn.Linear(s.hidden, s.kv_heads * s.head_dim, bias=False)
        self.o_proj = nn.Linear(s.q_heads * s.head_dim, s.hidden, bias=False)
        self.q_norm = _Norm(s.head_dim)
        self.k_norm = _Norm(s.head_dim)


class _Mlp(nn.Module):
    def __init__(self, s: ref.DrafterSpec):
        super().__init__()
        self.gate_proj = nn.Linear(s.hidden, s.intermediate, bias=False)
        self.up_proj = nn.Linear(s.hidden, s.intermediate, bias=False)
        self.down_proj = nn.Linear(s.intermediate, s.hidden, bias=False)


class _Layer(nn.Module):
    def __init__(self, s: ref.DrafterSpec):
        super().__init__()
        self.input_layernorm = _Norm(s.hidden)
        self.self_attn = _Attn(s)
        self.post_attention_layernorm = _Norm(s.hidden)
        self.mlp = _Mlp(s)


class DrafterWeights(nn.Module):
    """Parameter names = the checkpoint's tensor names (fc.weight, layers.0.self_attn.q_proj.weight, ...)."""

    def __init__(self, s: ref.DrafterSpec):
        super().__init__()
        if s.attention_bias or s.sinks or s.value_scale != 1.0:
            raise ValueError("this trainer makes plain Qwen3-style drafters (no biases, sinks or value scale)")
        self.fc = nn.Linear(len(s.target_layer_ids) * s.hidden, s.hidden, bias=False)
        self.hidden_norm = _Norm(s.hidden)
        self.layers = nn.ModuleList([_Layer(s) for _ in range(s.layers)])
        self.norm = _Norm(s.hidden)

    def weights(self) -> dict[str, torch.Tensor]:
        return dict(self.named_parameters())


# ---------------------------------------------------------------------------------------------
# Batched forward (the reference's math for many anchors at once)
# ---------------------------------------------------------------------------------------------

def batched_draft_logits(spec: ref.DrafterSpec, w: dict, embed: torch.Tensor, lm_head: torch.Tensor,
                         taps: torch.Tensor, anchor_pos: torch.Tensor, anchor_tok: torch.Tensor,
                         block_size: int | None = None) -> torch.Tensor:
    """Draft logits [S, M, B-1, V] for M anchors in each of S sequences.

    taps [S, L, K, H]: the target's tapped outputs at positions 0..L-1 of each sequence;
    anchor_pos [S, M]: the anchor's position a (its block is [tok, MASK...] at a..a+B-1, its context the
    rows j < a); anchor_tok [S, M]. Equal to reference_drafter.draft_logits(taps[s, :a], tok, B) per anchor.
    """
    B = block_size or spec.block_size
    S, L, K, H = taps.shape
    M = anchor_pos.shape[1]
    D, hq, hkv = spec.head_dim, spec.q_heads, spec.kv_heads
    g = hq // hkv
    dev = taps.device
    with torch.device(dev):  # the reference builds RoPE tables and masks with factory functions
        ctx = ref.context_features(spec, w, taps.reshape(S * L, K, H)).reshape(S, L, H)
        mask_row = ref.mask_embedding(spec, w, embed)
        x = torch.cat([embed[anchor_tok][:, :, None, :], mask_row.expand(S, M, B - 1, H)], 2)  # [S,M,B,H]
        qpos = anchor_pos[:, :, None] + torch.arange(B)                                       # [S,M,B]
        kpos = torch.arange(L)
        ctx_pos = kpos.repeat(S)
        for l in range(spec.layers):
            a = f"layers.{l}."
            h = ref.rms_norm(x, w[a + "input_layernorm.weight"], spec.eps)
            q = ref.linear(h, w, a + "self_attn.q_proj", spec.attention_bias).reshape(-1, hq, D)
            kb = ref.linear(h, w, a + "self_attn.k_proj", spec.attention_bias).reshape(-1, hkv, D)
            vb = ref.linear(h, w, a + "self_attn.v_proj", spec.attention_bias).reshape(S, M, B, hkv, D)
            kc = ref.linear(ctx, w, a + "self_attn.k_proj", spec.attention_bias).reshape(-1, hkv, D)
            vc = ref.linear(ctx, w, a + "self_attn.v_proj", spec.attention_bias).reshape(S, L, hkv, D)
            vb, vc = vb * spec.value_scale, vc * spec.value_scale
            q = ref.apply_rope(ref.rms_norm(q, w[a + "self_attn.q_norm.weight"], spec.eps), qpos.reshape(-1), spec)
            kb = ref.apply_rope(ref.rms_norm(kb, w[a + "self_attn.k_norm.weight"], spec.eps), qpos.reshape(-1), spec)
            kc = ref.apply_rope(ref.rms_norm(kc, w[a + "self_attn.k_norm.weight"], spec.eps), ctx_pos, spec)
            q = q.reshape(S, M, B, hkv, g, D)           # query head i reads kv head i // g
            kb = kb.reshape(S, M, B, hkv, D)
            kc = kc.reshape(S, L, hkv, D)
            s_ctx = torch.einsum("smbkgd,slkd->skgmbl", q, kc).float() / math.sqrt(D)
            s_blk = torch.einsum("smbkgd,smckd->skgmbc", q, kb).float() / math.sqrt(D)
            # context row j is visible from block row (a, i) iff j < a (committed before the anchor) and
            # inside the window; block row c from block row i iff (not causal or c <= i) and inside the window
            vis_ctx = kpos[None, None, None, :] < anchor_pos[:, :, None, None]                   # [S,M,1,L]
            win = spec.window[l]
            if win > 0:
                vis_ctx = vis_ctx & (kpos[None, None, None, :] > qpos[:, :, :, None] - win)     # [S,M,B,L]
            vis_blk = torch.ones(B, B, dtype=torch.bool)
            if spec.causal[l]:
                vis_blk &= torch.arange(B)[None, :] <= torch.arange(B)[:, None]
            if win > 0:
                vis_blk &= torch.arange(B)[None, :] > torch.arange(B)[:, None] - win
            s_ctx = s_ctx.masked_fill(~vis_ctx[:, None, None], float("-inf"))
            s_blk = s_blk.masked_fill(~vis_blk, float("-inf"))
            p = torch.softmax(torch.cat([s_ctx, s_blk], -1), -1)   # the block row always sees itself
            p_ctx, p_blk = p[..., :L].to(vc.dtype), p[..., L:].to(vb.dtype)
            attn = (torch.einsum("skgmbl,slkd->smbkgd", p_ctx, vc)
                    + torch.einsum("skgmbc,smckd->smbkgd", p_blk, vb)).reshape(S, M, B, hq * D)
            x = x + ref.linear(attn, w, a + "self_attn.o_proj", spec.attention_bias)
            h2 = ref.rms_norm(x, w[a + "post_attention_layernorm.weight"], spec.eps)
            gate = F.silu(h2 @ w[a + "mlp.gate_proj.weight"].T)
            x = x + (gate * (h2 @ w[a + "mlp.up_proj.weight"].T)) @ w[a + "mlp.down_proj.weight"].T
        return ref.rms_norm(x[:, :, 1:], w["norm.weight"], spec.eps) @ lm_head.T


@torch.no_grad()
def check_against_reference(spec, module: DrafterWeights, embed, lm_head, taps: torch.Tensor, tokens: torch.Tensor,
                            anchors: list[int], atol: float = 2e-4) -> float:
    """Max |batched - reference| over the given anchors of one sequence (float32 on CPU)."""
    w = {k: v.detach().float().cpu() for k, v in module.weights().items()}
    e, lm = embed.float().cpu(), lm_head.float().cpu()
    t = taps.float().cpu()
    pos = torch.tensor([anchors])
    tok = tokens.cpu()[pos]
    batched = batched_draft_logits(spec, w, e, lm, t[None], pos, tok)[0]
    worst = 0.0
    for i, a in enumerate(anchors):
        one = ref.draft_logits(spec, w, e, lm, t[:a], int(tokens[a]))
        worst = max(worst, (one - batched[i]).abs().max().item())
    if worst > atol:
        raise AssertionError(f"batched drafter forward differs from reference_drafter.draft_logits by {worst}")
    return worst


# ---------------------------------------------------------------------------------------------
# Data: the target's own generations and its tapped hidden states
# ---------------------------------------------------------------------------------------------

@dataclass
class DraftData:
    tokens: torch.Tensor      # [N, Lmax] int64 (padded with eot)
    lengths: torch.Tensor     # [N]
    prompt_lens: torch.Tensor # [N]
    taps: torch.Tensor        # [N, Lmax, K, H]


@torch.no_grad()
def generate(model, prompts: list[list[int]], new_tokens: int, batch: int, eot: int, seed: int, device, amp: bool,
             log, sample_every_other: bool = True, temperature: float = 0.7) -> list[tuple[list[int], int]]:
    """Continuations by the target: prompts sorted by length and batched at equal length (each cut on the
    left to its batch's shortest, so no padding); even batches greedy, odd batches sampled at
    `temperature` (no top-k/top-p). Returns (prompt + continuation up to and including the first eot,
    prompt length) per prompt."""
    model.eval()
    order = sorted(range(len(prompts)), key=lambda i: (len(prompts[i]), i))
    out = []
    t0 = time.time()
    for bi, start in enumerate(range(0, len(order), batch)):
        idx = order[start:start + batch]
        p = min(len(prompts[i]) for i in idx)
        x = torch.tensor([prompts[i][len(prompts[i]) - p:] for i in idx], device=device)
        sample = sample_every_other and bi % 2 == 1
        torch.manual_seed(seed * 1000 + bi)
        kw = dict(do_sample=True, temperature=temperature, top_k=0, top_p=1.0) if sample else dict(do_sample=False)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
            y = model.generate(x, attention_mask=torch.ones_like(x), max_new_tokens=new_tokens, min_new_tokens=1,
                               pad_token_id=eot, eos_token_id=eot, **kw)
        for row in y.tolist():
            cont = row[p:]
            if eot in cont:
                cont = cont[:cont.index(eot) + 1]
            out.append((row[:p] + cont, p))
        if bi % 4 == 0:
            log(f"generation batch {bi + 1}/{math.ceil(len(order) / batch)}: prompt {p} tokens, "
                f"{'T=%.1f' % temperature if sample else 'greedy'}, {time.time() - t0:.0f} s")
    return out


@torch.no_grad()
def tap_states(model, seqs: list[tuple[list[int], int]], layer_ids: list[int], eot: int, device, amp: bool,
               batch: int, store_dtype) -> DraftData:
    """Teacher-forced target forward over each sequence; taps = hidden_states[id + 1] (decoder layer id's
    output, before the final norm since id < last layer)."""
    n_layers = model.config.num_hidden_layers
    assert all(i < n_layers - 1 for i in layer_ids)
    N, Lmax = len(seqs), max(len(s) for s, _ in seqs)
    K, H = len(layer_ids), model.config.hidden_size
    tokens = torch.full((N, Lmax), eot, dtype=torch.long)
    for i, (s, _) in enumerate(seqs):
        tokens[i, :len(s)] = torch.tensor(s)
    taps = torch.empty((N, Lmax, K, H), dtype=store_dtype, device=device)
    model.eval()
    for i in range(0, N, batch):
        x = tokens[i:i + batch].to(device)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
            hs = model(input_ids=x, output_hidden_states=True).hidden_states
        taps[i:i + batch] = torch.stack([hs[j + 1] for j in layer_ids], 2).to(store_dtype)
    return DraftData(tokens.to(device), torch.tensor([len(s) for s, _ in seqs], device=device),
                     torch.tensor([p for _, p in seqs], device=device), taps)


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------

@dataclass
class DrafterSchedule:
    steps: int
    seqs: int               # sequences per step
    anchors: int            # anchors per sequence
    muon_lr: float = 0.02
    adam_lr: float = 3e-3
    warmup_frac: float = 0.04
    min_lr_ratio: float = 0.1
    gamma: float = 4.0      # loss weight exp(-(k-1)/gamma), k = 1..B-1 (dflash.md 3: gamma 4 for B = 8)
    clip: float = 1.0
    eval_every: int = 100
    seconds: float | None = None  # wall-clock budget for training and evaluations (common.StepBudget)


def sample_anchors(data: DraftData, idx: np.ndarray, M: int, rng: np.random.Generator):
    """M anchors per sequence from the generated part: a in [prompt_len, len - 2] (the anchor is a token the
    target produced, and at least one drafted position has a label). Short sequences repeat anchors with
    valid = False on the repeats."""
    pos = np.zeros((len(idx), M), dtype=np.int64)
    valid = np.zeros((len(idx), M), dtype=bool)
    lengths, plens = data.lengths.cpu().numpy(), data.prompt_lens.cpu().numpy()
    for r, i in enumerate(idx):
        lo, hi = int(plens[i]), int(lengths[i]) - 2
        if hi < lo:
            pos[r] = 0
            continue
        cand = np.arange(lo, hi + 1)
        take = rng.choice(cand, size=min(M, len(cand)), replace=False)
        pos[r, :len(take)] = take
        valid[r, :len(take)] = True
        pos[r, len(take):] = take[0]
    return pos, valid


def block_loss(spec, w, embed, lm_head, data: DraftData, idx, pos, valid, B: int, gamma: float, amp: bool):
    """Weighted CE over block positions k = 1..B-1 and per-position accuracy; also the teacher-forced
    acceptance estimate 1 + mean(number of leading correct drafts) over anchors whose whole block is labelled."""
    dev = data.taps.device
    idx_t = torch.as_tensor(idx, device=dev)
    Lb = int(data.lengths[idx_t].max())
    taps = data.taps[idx_t, :Lb].float() if not amp else data.taps[idx_t, :Lb]
    toks = data.tokens[idx_t, :Lb]
    pos_t = torch.as_tensor(pos, device=dev)
    valid_t = torch.as_tensor(valid, device=dev)
    anchor_tok = torch.gather(toks, 1, pos_t)
    k = torch.arange(1, B, device=dev)
    tpos = pos_t[:, :, None] + k                                          # [S,M,B-1]
    lab_ok = (tpos < data.lengths[idx_t][:, None, None]) & valid_t[:, :, None]
    labels = torch.gather(toks, 1, tpos.clamp(max=Lb - 1).reshape(len(idx), -1)).reshape(tpos.shape)
    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
        logits = batched_draft_logits(spec, w, embed, lm_head, taps, pos_t, anchor_tok, B)
    ce = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), labels.reshape(-1), reduction="none")
    ce = ce.reshape(labels.shape)
    wk = torch.exp(-(k - 1).float() / gamma)
    wt = wk * lab_ok
    loss = (ce * wt).sum() / wt.sum().clamp(min=1e-9)
    with torch.no_grad():
        correct = (logits.argmax(-1) == labels) & lab_ok
        acc_k = correct.float().sum((0, 1)) / lab_ok.float().sum((0, 1)).clamp(min=1)
        full = lab_ok.all(-1)
        lead = torch.cumprod(correct.long(), -1).sum(-1).float()
        tau = 1 + (lead[full].mean().item() if full.any() else 0.0)
    return loss, acc_k.tolist(), tau


def train(spec, module: DrafterWeights, embed, lm_head, data: DraftData, eval_data: DraftData | None,
          sched: DrafterSchedule, seed: int, amp: bool, log, history: dict) -> dict:
    matrices = [p for n, p in module.named_parameters() if p.ndim == 2]
    gains = [p for n, p in module.named_parameters() if p.ndim != 2]
    muon = Muon(matrices, lr=sched.muon_lr, momentum=0.95)
    adam = torch.optim.AdamW(gains, lr=sched.adam_lr, betas=(0.9, 0.95), weight_decay=0.0)
    rng = np.random.default_rng(seed)
    eval_rng_seed = seed + 7
    B = spec.block_size
    N = len(data.lengths)
    history.setdefault("drafter_train", [])
    history.setdefault("drafter_eval", [])
    t0 = time.time()
    last = {}

    def evaluate(step, total):
        if eval_data is None:
            return
        er = np.random.default_rng(eval_rng_seed)
        n = len(eval_data.lengths)
        losses, taus, accs = [], [], []
        with torch.no_grad():
            for i in range(0, n, sched.seqs):
                idx = np.arange(i, min(n, i + sched.seqs))
                pos, valid = sample_anchors(eval_data, idx, sched.anchors, er)
                loss, acc, tau = block_loss(spec, module.weights(), embed, lm_head, eval_data, idx, pos, valid, B,
                                            sched.gamma, amp)
                losses.append(loss.item())
                taus.append(tau)
                accs.append(acc)
        acc = np.mean(np.array(accs), 0)
        last.update(eval_loss=float(np.mean(losses)), eval_tau=float(np.mean(taus)), eval_acc=acc.tolist())
        history["drafter_eval"].append((step, last["eval_loss"]))
        log(f"drafter step {step}/{total}: held-out loss {last['eval_loss']:.4f}, teacher-forced acceptance "
            f"{last['eval_tau']:.2f}, accuracy by block position {' '.join(f'{a:.2f}' for a in acc)}")

    budget = StepBudget(sched.steps, sched.seconds, sched.eval_every)
    step = 0
    while True:
        if step % sched.eval_every == 0 or step == budget.total:
            te = time.time()
            evaluate(step, budget.total)
            budget.add_eval(time.time() - te)
        if step == budget.total:
            break
        ts = time.time()
        warm = max(1, int(sched.warmup_frac * budget.total))
        if step < warm:
            f = (step + 1) / warm
        else:
            t = (step - warm) / max(1, budget.total - warm)
            f = sched.min_lr_ratio + (1 - sched.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * t))
        for g in muon.param_groups:
            g["lr"] = sched.muon_lr * f
        for g in adam.param_groups:
            g["lr"] = sched.adam_lr * f
        idx = rng.choice(N, size=min(sched.seqs, N), replace=False)
        pos, valid = sample_anchors(data, idx, sched.anchors, rng)
        loss, acc, tau = block_loss(spec, module.weights(), embed, lm_head, data, idx, pos, valid, B, sched.gamma, amp)
        muon.zero_grad(set_to_none=True)
        adam.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(module.parameters(), sched.clip)
        muon.step()
        adam.step()
        history["drafter_train"].append((step, loss.item()))  # .item() waits for the GPU: the step's time is real
        budget.add_train(time.time() - ts)
        if budget.refit():
            log(f"drafter: {budget.total} steps fit the {sched.seconds:.0f} s budget (planned {sched.steps})")
        if step % max(1, sched.eval_every // 4) == 0:
            log(f"drafter step {step}: loss {loss.item():.4f} acc@1 {acc[0]:.2f} acc@{B - 1} {acc[-1]:.2f} "
                f"tf-acceptance {tau:.2f} grad-norm {gn.item():.2f} ({time.time() - t0:.0f} s)")
        step += 1
    return {"seconds": time.time() - t0, "steps": budget.total, **last}


def export(module: DrafterWeights, config: dict, out_dir: str) -> None:
    from safetensors.torch import save_file
    os.makedirs(out_dir, exist_ok=True)
    tensors = {k: v.detach().to("cpu", torch.bfloat16).contiguous() for k, v in module.state_dict().items()}
    save_file(tensors, os.path.join(out_dir, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")

"""Helpers shared by the scripts in scripts/train: logging, the tachyon binary, run settings, the corpus
streams, and the MXFP4 round trip (the project's own, from scripts/parity/make_fixtures.py)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

import corpus  # noqa: E402


class Log:
    """Prints and appends to a log file, each line prefixed with the seconds since the start."""

    def __init__(self, path: str | None, mode: str = "w"):
        self.t0 = time.time()
        self.f = open(path, mode, buffering=1) if path else None

    def __call__(self, msg: str) -> None:
        line = f"[{time.time() - self.t0:7.1f}s] {msg}"
        print(line, flush=True)
        if self.f:
            self.f.write(line + "\n")


class StepBudget:
    """Fits a schedule's step count to a wall-clock budget (a GPU lease has a hard limit per command).

    The caller reports how long each training step and each evaluation took; after `calibrate` steps the
    total becomes the most steps (at most `planned`) whose training and evaluations fit in `seconds`, so
    the schedule (warmup, cosine) is laid over the steps that will really run. Without a budget the
    planned count stands."""

    def __init__(self, planned: int, seconds: float | None, eval_every: int, calibrate: int = 20):
        self.total = planned
        self.seconds = seconds
        self.eval_every = max(1, eval_every)
        self.calibrate = calibrate
        self.train_s = 0.0
        self.eval_s = 0.0
        self.evals = 0
        self.done = 0

    def add_train(self, dt: float) -> None:
        self.train_s += dt
        self.done += 1

    def add_eval(self, dt: float) -> None:
        self.eval_s += dt
        self.evals += 1

    def refit(self) -> bool:
        """At the calibration step: shrink `total` to what fits; True when it changed."""
        if self.seconds is None or self.done != self.calibrate or self.total <= self.calibrate:
            return False
        per_step = self.train_s / self.done
        per_eval = self.eval_s / max(1, self.evals)
        left = self.seconds - self.train_s - self.eval_s - per_eval  # the final evaluation
        fit = self.done + int(left / (per_step + per_eval / self.eval_every))
        new_total = max(self.done + 1, min(self.total, fit))
        changed = new_total != self.total
        self.total = new_total
        return changed


def find_tachyon(explicit: str | None) -> str | None:
    if explicit:
        if not os.access(explicit, os.X_OK):
            raise SystemExit(f"--tachyon {explicit}: not an executable")
        return os.path.abspath(explicit)
    p = os.path.join(REPO, os.environ.get("TACHYON_BUILD_DIR", "build"), "bin", "tachyon")  # scripts/build.sh's
    return p if os.access(p, os.X_OK) else None


def require_tachyon(explicit: str | None) -> str:
    """find_tachyon, for the scripts that cannot go on without the binary."""
    tachyon = find_tachyon(explicit)
    if not tachyon:
        raise SystemExit("no tachyon binary: give --tachyon")
    return tachyon


def run(cmd: list[str], log=None, check: bool = True, env=None) -> subprocess.CompletedProcess:
    if log:
        log("$ " + " ".join(cmd))
    env = dict(os.environ if env is None else env)
    env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if check and p.returncode != 0:
        raise SystemExit(f"command failed ({p.returncode}): {' '.join(cmd)}\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
    return p


def convert_target(tachyon: str, hf_dir: str, out: str, experts: str, log=None, dense: str = "bf16") -> None:
    run([tachyon, "convert", "--from", hf_dir, "--to", out, "--experts", experts, "--dense", dense], log)


def convert_drafter(tachyon: str, hf_dir: str, out: str, log=None, dense: str = "bf16") -> None:
    run([tachyon, "convert", "--drafter", "--from", hf_dir, "--to", out, "--dense", dense], log)


def parse_summary(text: str) -> dict:
    """The numbers of `tachyon generate`'s last two log lines."""
    out = {}
    m = re.search(r"done: (\d+) requests \((\d+) errors\), (\d+) prompt \+ (\d+) generated tokens in ([\d.]+) s "
                  r"\(([\d.]+) tokens/s\), (\d+) steps", text)
    if m:
        out.update(requests=int(m[1]), errors=int(m[2]), prompt_tokens=int(m[3]), generated_tokens=int(m[4]),
                   seconds=float(m[5]), tokens_per_s=float(m[6]), steps=int(m[7]))
    m = re.search(r"acceptance length ([\d.]+) .*?, (\d+) of (\d+) drafts accepted; draft ([\d.]+) s, verify ([\d.]+) s",
                  text)
    if m:
        out.update(acceptance_length=float(m[1]), accepted=int(m[2]), drafted=int(m[3]), draft_s=float(m[4]),
                   verify_s=float(m[5]))
    return out


def generate(tachyon: str, model: str, prompts: list[dict], work: str, name: str, drafter: str | None = None,
             block_size: int = 0, device: str = "cpu", max_batch: int = 16, log=None) -> tuple[list[dict], dict]:
    """Runs `tachyon generate` on JSONL requests; returns the result lines (by id) and the summary."""
    os.makedirs(work, exist_ok=True)
    pin, pout = os.path.join(work, f"{name}.in.jsonl"), os.path.join(work, f"{name}.out.jsonl")
    with open(pin, "w") as f:
        for p in prompts:
            f.write(json.dumps(p) + "\n")
    cmd = [tachyon, "generate", "--model", model, "--prompts", pin, "--out", pout, "--device", device,
           "--max-batch", str(max_batch)]
    if drafter:
        cmd += ["--drafter", drafter]
        if block_size:
            cmd += ["--block-size", str(block_size)]
    p = run(cmd, log)
    with open(pout) as f:
        results = [json.loads(line) for line in f if line.strip()]
    errors = [r for r in results if "error" in r]
    if errors:
        raise SystemExit(f"tachyon generate answered errors: {errors[:3]}")
    summary = parse_summary(p.stdout + p.stderr)
    with open(os.path.join(work, f"{name}.log"), "w") as f:
        f.write(p.stdout + p.stderr)
    return results, summary


def save_json(path: str, obj) -> None:
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def load_json(path: str):
    with open(path) as f:
        return json.load(f)


def corpus_split(settings: dict):
    """The train and held-out modules of a run (settings from run.json)."""
    modules = corpus.list_modules(include_tests=settings["include_tests"])
    train, heldout = corpus.split_modules(modules, settings["heldout_fraction"])
    return (corpus.limit_bytes(train, settings.get("train_max_bytes")),
            corpus.limit_bytes(heldout, settings.get("heldout_max_bytes")))


def token_stream(tok, modules, eot: int) -> np.ndarray:
    """Documents in path order, each followed by <|endoftext|>."""
    parts = []
    for enc in tok.encode_batch([m.text for m in modules], add_special_tokens=False):
        parts.append(np.asarray(enc.ids, dtype=np.int32))
        parts.append(np.asarray([eot], dtype=np.int32))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)


def mxfp4_roundtrip():
    """scripts/parity/make_fixtures.py's MXFP4 quantize-dequantize (OCP floor rule, blocks of 32 along the
    last dimension), which Tachyon's `convert --experts mxfp4` reproduces (tests/fixtures/parity). That
    module sets torch's threads and deterministic mode when imported; both are put back."""
    threads, det = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    sys.path.insert(0, os.path.join(REPO, "scripts", "parity"))
    import make_fixtures  # noqa: E402
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(det)
    return make_fixtures.mxfp4_roundtrip


@torch.no_grad()
def quantize_experts_mxfp4(model) -> int:
    """Replaces every expert matrix of a Qwen3-MoE model by its MXFP4 round trip along the input dimension
    (transformers 5.x fused [E, 2I, H] / [E, H, I] parameters, or 4.x per-expert Linear weights)."""
    rt = mxfp4_roundtrip()
    n = 0
    for name, p in model.named_parameters():
        if ".experts." in name or name.endswith(("experts.gate_up_proj", "experts.down_proj")):
            v = p.detach().float().cpu().numpy()
            p.copy_(torch.from_numpy(rt(v)).to(p.device, p.dtype))
            n += 1
    if n == 0:
        raise RuntimeError("no expert weights found to quantize")
    return n

#!/usr/bin/env python3
"""Tokenizer encoding speed: Tachyon (`tachyon tokenize --bench`) against Hugging Face `tokenizers`, one thread.

Builds a 10 MB text (this machine's Python standard library sources, plus the multilingual golden corpus
of the parity tests for about a tenth), encodes it with both, checks that both produced the same ids
(count and FNV-1a hash), and prints MB/s of each, the ratio, the date and the machine. Two modes:
  document  the whole text in one encode call
  lines     one encode call per line (HF: encode_batch on one thread, so no Python loop overhead)

  python3 scripts/bench/tokenizer_speed.py [--tachyon build/bin/tachyon] [--config qwen3 ...]
                                           [--tokenizer some/tokenizer.json] [--train qwen3:50000 ...]
                                           [--mb 10] [--repeat 5]

--config measures the small fixture tokenizers of the parity tests (vocab 1200-2500); --train builds a
fixture configuration with a realistic vocabulary size first (scripts/tokenizer/make_fixtures.py, same
training text, not saved anywhere but a temporary file).

`tokenizers` runs with RAYON_NUM_THREADS=1 and TOKENIZERS_PARALLELISM=false (set before it is imported).
"""
import os

os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import argparse  # noqa: E402
import datetime  # noqa: E402
import glob  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import sysconfig  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import tokenizers  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "tokenizer")


def build_text(megabytes):
    target = int(megabytes * 1_000_000)
    with open(os.path.join(FIXTURES, "corpus.json"), encoding="utf-8") as f:
        corpus = json.load(f)
    multilingual = "\n".join(corpus) + "\n"
    parts, size = [], 0
    stdlib = sysconfig.get_paths()["stdlib"]
    files = sorted(f for f in glob.glob(os.path.join(stdlib, "**", "*.py"), recursive=True) if "-packages" not in f)
    for i, path in enumerate(files):
        try:
            with open(path, encoding="utf-8") as fh:
                t = fh.read()
        except (UnicodeDecodeError, OSError):
            continue
        parts.append(t)
        size += len(t.encode())
        if i % 10 == 0:  # about one tenth multilingual prose, emoji, CJK, special tokens
            parts.append(multilingual)
            size += len(multilingual.encode())
        if size >= target:
            break
    data = "".join(parts).encode()[:target]
    return data.decode("utf-8", errors="ignore")  # drop a character cut at the end


def fnv1a_ids(ids):
    h = 0xCBF29CE484222325
    for i in ids:
        for k in range(4):
            h = ((h ^ ((i >> (8 * k)) & 0xFF)) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def bench_hf(tok, text, lines, repeat, mode):
    """Median wall and CPU seconds of the encode call (the ids' conversion to Python ints excluded)."""
    times, cpu, ids = [], [], None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        if mode == "document":
            encodings = [tok.encode(text)]
        else:
            encodings = tok.encode_batch(lines)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        ids = [i for e in encodings for i in e.ids]
    return statistics.median(times), statistics.median(cpu), ids


def machine():
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{platform.node()}, {cpu}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tachyon", default=os.path.join(ROOT, os.environ.get("TACHYON_BUILD_DIR", "build"), "bin", "tachyon"))
    ap.add_argument("--config", nargs="*", default=["qwen3", "llama3", "gpt_oss"],
                    help="fixture configurations under tests/fixtures/tokenizer")
    ap.add_argument("--tokenizer", nargs="*", default=[], help="other tokenizer.json files to measure")
    ap.add_argument("--train", nargs="*", default=[], metavar="CONFIG:VOCAB",
                    help="train a fixture configuration with this vocabulary size, then measure it")
    ap.add_argument("--mb", type=float, default=10.0)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--modes", nargs="*", default=["document", "lines"])
    args = ap.parse_args()

    text = build_text(args.mb)
    data = text.encode()
    lines = text.split("\n")  # lines as `tachyon tokenize --bench --lines` cuts them: at \n only, kept
    lines = [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
    tmp = tempfile.NamedTemporaryFile(prefix="tokenizer_bench_", suffix=".txt", delete=False)
    tmp.write(data)
    tmp.close()
    paths = [(c, os.path.join(FIXTURES, c, "tokenizer.json")) for c in args.config]
    paths += [(os.path.basename(os.path.dirname(os.path.abspath(p))) or p, p) for p in args.tokenizer]
    trained = []
    if args.train:
        sys.path.insert(0, os.path.join(ROOT, "scripts", "tokenizer"))
        import make_fixtures  # noqa: E402
        texts = make_fixtures.training_text()
        for spec in args.train:
            config, vocab = spec.split(":")
            cfg = dict(make_fixtures.CONFIGS[config], vocab_size=int(vocab))
            t0 = time.perf_counter()
            tok = make_fixtures.build(config, cfg, texts)
            out = tempfile.NamedTemporaryFile(prefix=f"tokenizer_{config}_", suffix=".json", delete=False)
            out.close()
            tok.save(out.name)
            trained.append(out.name)
            paths.append((f"{config} (trained, vocab {tok.get_vocab_size()})", out.name))
            print(f"# trained {config} with vocab {tok.get_vocab_size()} in {time.perf_counter() - t0:.0f} s",
                  file=sys.stderr)

    print(f"# tokenizer speed, {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}")
    print(f"# machine: {machine()}")
    print(f"# text: {len(data) / 1e6:.2f} MB ({len(lines)} lines), tokenizers {tokenizers.__version__} "
          f"(RAYON_NUM_THREADS=1), Tachyon: {args.tachyon} (one thread), median of {args.repeat} runs")
    print()
    print("MB/s from wall time, and in brackets from CPU time (which a loaded machine does not distort).")
    print()
    print("| tokenizer | mode | tokens | same ids | Tachyon MB/s | HF tokenizers MB/s | ratio |")
    print("|---|---|---|---|---|---|---|")
    try:
        for name, path in paths:
            tok = Tokenizer.from_file(path)
            for mode in args.modes:
                cmd = [args.tachyon, "tokenize", "--tokenizer", path, "--bench", tmp.name, "--repeat", str(args.repeat)]
                if mode == "lines":
                    cmd.append("--lines")
                ours = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
                hf_seconds, hf_cpu, hf_ids = bench_hf(tok, text, lines, args.repeat, mode)
                hf_mbps, hf_mbps_cpu = len(data) / 1e6 / hf_seconds, len(data) / 1e6 / hf_cpu
                same = ours["tokens"] == len(hf_ids) and ours["ids_fnv1a"] == fnv1a_ids(hf_ids)
                print(f"| {name} | {mode} | {len(hf_ids)} | {'yes' if same else 'NO'} | "
                      f"{ours['mb_per_s']:.1f} ({ours['mb_per_s_cpu']:.1f}) | {hf_mbps:.2f} ({hf_mbps_cpu:.2f}) | "
                      f"{ours['mb_per_s'] / hf_mbps:.1f}x ({ours['mb_per_s_cpu'] / hf_mbps_cpu:.1f}x) |", flush=True)
    finally:
        for path in [tmp.name] + trained:
            os.unlink(path)


if __name__ == "__main__":
    main()

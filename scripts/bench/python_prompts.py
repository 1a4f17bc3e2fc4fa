#!/usr/bin/env python3
"""Writes a Tachyon JSONL prompt file of code-completion requests cut from the Python sources under a directory
(for scripts/bench/spec_vs_plain.sh; the embedded default pair was trained on the Python standard library, so
the standard library of the machine's Python gives in-distribution prompts: label results that way).

Each request is one .py file's code from its first top-level `def` or `class` line on (whole lines, at most --chars
characters, at least --min-lines lines: past the license header and module docstring, as a completion in an editor
would start), by path order, skipping files with too little of it; greedy, --max-tokens tokens.

  python3 scripts/bench/python_prompts.py --root /usr/lib/python3.12 --count 64 --out prompts.jsonl
"""
import argparse
import json
import pathlib
import sysconfig


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default=sysconfig.get_paths()["stdlib"], help="directory searched for *.py (default: this Python's stdlib)")
    ap.add_argument("--count", type=int, default=64)
    ap.add_argument("--chars", type=int, default=600)
    ap.add_argument("--min-lines", type=int, default=8)
    ap.add_argument("--max-tokens", type=int, default=256)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    written = 0
    with open(args.out, "w") as out:
        for path in sorted(pathlib.Path(args.root).rglob("*.py")):
            if written == args.count:
                break
            try:
                lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
            except (UnicodeDecodeError, OSError):
                continue
            first = next((i for i, line in enumerate(lines) if line.startswith(("def ", "class "))), len(lines))
            prompt = ""
            for line in lines[first:]:
                if len(prompt) + len(line) > args.chars:
                    break
                prompt += line
            if prompt.count("\n") < args.min_lines:
                continue
            out.write(json.dumps({"id": str(path.relative_to(args.root)), "prompt": prompt,
                                  "max_tokens": args.max_tokens, "temperature": 0}) + "\n")
            written += 1
    if written < args.count:
        raise SystemExit(f"python_prompts: only {written} of {args.count} files under {args.root} could be cut")


if __name__ == "__main__":
    main()

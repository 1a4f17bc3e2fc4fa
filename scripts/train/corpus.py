"""The training corpus: the Python standard library sources of the running interpreter.

Nothing of the corpus is stored in the repository; it is found at run time (`sysconfig`), so the
text differs with the Python version (3.11 here, 3.12 on the GPU machine), but for one interpreter
the file list, the split and every derived sample are deterministic.

  modules = list_modules()                 # sorted by path; generated tables and data files left out
  train, heldout = split_modules(modules)  # by a hash of the module name, ~5 % held out
  prompts = code_prompts(heldout, n)       # signatures / docstrings / partial code, for evaluation

A module is one .py file; its name is the dotted path (`email._header_value_parser`,
`test.test_json.test_dump`). The split hashes that name (SHA-256 with a fixed salt), so a module is
on the same side of the split on every machine that has it.
"""

from __future__ import annotations

import ast
import hashlib
import os
import random
import sysconfig
from dataclasses import dataclass

SPLIT_SALT = "tachyon-train-v1"
# Directories that are not code someone wrote by hand, or not the standard library:
SKIP_DIRS = {
    "site-packages", "dist-packages", "__pycache__", "lib-dynload",
    "encodings",        # generated charmap tables (cp1252.py, ...)
    "pydoc_data",       # one large string (topics.py)
    "_bundled",         # ensurepip's wheels
}
TEST_DIRS = {"test", "tests", "idle_test"}


@dataclass
class Module:
    name: str      # dotted module name
    path: str      # path relative to the stdlib root
    text: str


def stdlib_root() -> str:
    root = sysconfig.get_paths()["stdlib"]
    if not os.path.isdir(root):
        raise SystemExit(f"the standard library directory {root} does not exist")
    return root


def module_name(rel: str) -> str:
    parts = rel[:-3].split(os.sep)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts) or "__init__"


def keep_text(text: str) -> bool:
    """Leaves out data files dressed as code: very long lines, mostly non-ASCII, or tiny files."""
    if len(text) < 200 or len(text) > 600_000:
        return False
    lines = text.split("\n")
    if max(len(line) for line in lines) > 3000:
        return False
    if sum(len(line) > 200 for line in lines) > 0.02 * len(lines):
        return False
    non_ascii = sum(ord(c) > 127 for c in text)
    return non_ascii <= 0.05 * len(text)


def list_modules(include_tests: bool = True, root: str | None = None) -> list[Module]:
    root = root or stdlib_root()
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames
                             if d not in SKIP_DIRS and not d.startswith("config-")
                             and (include_tests or d not in TEST_DIRS))
        for fn in sorted(filenames):
            if not fn.endswith(".py"):
                continue
            rel = os.path.relpath(os.path.join(dirpath, fn), root)
            try:
                with open(os.path.join(root, rel), "rb") as f:
                    text = f.read().decode("utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            text = text.replace("\r\n", "\n").replace("\r", "\n")
            if keep_text(text):
                out.append(Module(module_name(rel), rel, text))
    out.sort(key=lambda m: m.path)
    return out


def split_hash(name: str) -> float:
    """A uniform number in [0, 1) from the module name."""
    h = hashlib.sha256(f"{SPLIT_SALT}:{name}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2.0 ** 64


def split_modules(modules: list[Module], heldout_fraction: float = 0.05) -> tuple[list[Module], list[Module]]:
    train = [m for m in modules if split_hash(m.name) >= heldout_fraction]
    heldout = [m for m in modules if split_hash(m.name) < heldout_fraction]
    return train, heldout


def limit_bytes(modules: list[Module], max_bytes: int | None) -> list[Module]:
    """A deterministic subset of about `max_bytes` (modules taken in hash order), returned in path order."""
    if not max_bytes:
        return modules
    chosen, total = [], 0
    for m in sorted(modules, key=lambda m: hashlib.sha256(f"subset:{m.name}".encode()).digest()):
        if total >= max_bytes:
            break
        chosen.append(m)
        total += len(m.text.encode())
    return sorted(chosen, key=lambda m: m.path)


def total_bytes(modules: list[Module]) -> int:
    return sum(len(m.text.encode()) for m in modules)


# ---------------------------------------------------------------------------------------------
# Held-out prompts
# ---------------------------------------------------------------------------------------------

@dataclass
class Prompt:
    kind: str      # "signature", "docstring" or "partial"
    module: str
    line: int      # 1-based line the prompt ends after
    text: str


def _line_offsets(text: str) -> list[int]:
    offs, pos = [0], 0
    for line in text.split("\n"):
        pos += len(line) + 1
        offs.append(pos)
    return offs


def _cut(text: str, offs: list[int], end_line: int, context_chars: int) -> str:
    """The text up to the end of line `end_line` (1-based, newline included), starting at a line
    boundary no more than `context_chars` characters before."""
    end = min(offs[end_line], len(text))
    start = max(0, end - context_chars)
    if start > 0:
        nl = text.find("\n", start)
        start = nl + 1 if 0 <= nl < end - 1 else start
    return text[start:end]


def candidate_cuts(m: Module) -> list[tuple[str, int]]:
    """(kind, line) pairs where a prompt can end, found with `ast` (modules that do not parse: none)."""
    try:
        tree = ast.parse(m.text)
    except (SyntaxError, ValueError):
        return []
    lines = m.text.split("\n")
    cuts = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or not node.body:
            continue
        first = node.body[0]
        # the line of the signature that ends with ':' (decorators and multi-line signatures included)
        sig_end = first.lineno - 1
        while sig_end > node.lineno and not lines[sig_end - 1].rstrip().endswith(":"):
            sig_end -= 1
        if lines[sig_end - 1].rstrip().endswith(":") and sig_end < first.lineno:
            cuts.append(("signature", sig_end))
        body = node.body
        if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str) and first.end_lineno and len(body) > 1):
            cuts.append(("docstring", first.end_lineno))
            body = body[1:]
        end = node.end_lineno or body[-1].lineno
        start = body[0].lineno
        if end - start >= 3:
            # a line inside the body, chosen by a hash of the position (deterministic)
            h = int(hashlib.sha256(f"{m.name}:{node.lineno}".encode()).hexdigest()[:8], 16)
            cuts.append(("partial", start + h % (end - start - 1)))
    return sorted(set(cuts), key=lambda c: (c[1], c[0]))


def code_prompts(modules: list[Module], n: int, seed: int = 0, context_chars: int = 600,
                    kinds: tuple[str, ...] = ("signature", "docstring", "partial")) -> list[Prompt]:
    """`n` prompts, as evenly as possible over the kinds, cut from the given (held-out) modules.

    Each prompt is the source before a cut point: right after a function signature (the model writes
    the body), right after a docstring, or at a line inside a function body. At most `context_chars`
    characters of preceding source are kept, starting at a line boundary. Deterministic for a seed.
    """
    rng = random.Random(seed)
    by_kind: dict[str, list[Prompt]] = {k: [] for k in kinds}
    for m in modules:
        offs = _line_offsets(m.text)
        for kind, line in candidate_cuts(m):
            if kind in by_kind:
                text = _cut(m.text, offs, line, context_chars)
                if len(text.strip()) >= 20:
                    by_kind[kind].append(Prompt(kind, m.name, line, text))
    out: list[Prompt] = []
    per = [n // len(kinds) + (1 if i < n % len(kinds) else 0) for i in range(len(kinds))]
    for kind, k in zip(kinds, per):
        pool = by_kind[kind]
        rng.shuffle(pool)
        out.extend(pool[:k])
    if len(out) < n:  # top up from whatever is left
        rest = [p for kind in kinds for p in by_kind[kind] if p not in out]
        out.extend(rest[: n - len(out)])
    return out

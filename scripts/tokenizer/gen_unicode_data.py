#!/usr/bin/env python3
"""Generates the Unicode tables of Tachyon's tokenizer, calibrated to Hugging Face `tokenizers`.

Writes
  model/tokenizer/unicode_data.cpp          canonical decompositions, combining classes and compositions
                                            (NFC/NFD), and the code points that Oniguruma's Unicode
                                            classes hold beyond PCRE2's (Unicode 14) ones
                                            and the stand-ins that let PCRE2's own classes match as
                                            Oniguruma's (regex_translate.h)
  tests/fixtures/tokenizer/onig_classes.json  Oniguruma's sets for the regex classes, as ranges, so that a
                                            unit test can check our PCRE2 translation code point by code point

Why calibrate: exact parity means matching the tables that `tokenizers` was built with, not the newest
Unicode. Its NFC (crate unicode-normalization-alignments) predates Unicode 11, and its regexes
(Oniguruma) know Unicode 16, while Debian 12's PCRE2 10.42 and Python 3.11 know Unicode 14. So the
normalization tables start from Python's unicodedata and drop what `tokenizers` does not know; for the
regexes, code points whose category changed after Unicode 14 get stand-ins (or, for patterns that
cannot use them, classes get the extra ranges). Every table is verified against `tokenizers` itself,
here or by the unit tests (tests/unit/test_tokenizer_unicode.cpp, on every code point).

Run: python3 scripts/tokenizer/gen_unicode_data.py   (needs `tokenizers`; takes a few minutes)
"""
import json
import os
import random
import sys
import unicodedata

import tokenizers
from tokenizers import Regex, normalizers, pre_tokenizers

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
ALL_CPS = [c for c in range(1, 0x110000) if not (0xD800 <= c < 0xE000)]
HANGUL_S0, HANGUL_SCOUNT = 0xAC00, 11172

# Regex classes we translate. For each: the PCRE2 class items we start from (Unicode 14 in PCRE2 10.42)
# and the same set computed from Python's unicodedata (also Unicode 14), so that extras can be computed
# here without PCRE2; the unit test then checks PCRE2 itself against Oniguruma's sets.
CATEGORY_CLASSES = ["L", "Lu", "Ll", "Lt", "Lm", "Lo", "M", "Mn", "Mc", "Me", "N", "Nd", "Nl", "No",
                    "P", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "S", "Sm", "Sc", "Sk", "So"]
# Oniguruma's \w is Alphabetic | M | Nd | Pc (Alphabetic = L | Nl | Other_Alphabetic); unlike UTS #18 it
# leaves out Join_Control (U+200C, U+200D).
WORD_BASE_CATEGORIES = ["L", "Nl", "M", "Nd", "Pc"]
# Classes written to the test fixture (the ones the supported families' regexes use, and \w, \d, \s).
FIXTURE_CLASSES = ["s", "w", "d", "L", "Lu", "Ll", "Lt", "Lm", "Lo", "M", "N", "P", "S"]


ALL_TEXT = "".join(chr(c) for c in ALL_CPS)


def onig_set(pattern):
    """The code points that Oniguruma (inside `tokenizers`) matches with `pattern` (one code point)."""
    kept = pre_tokenizers.Split(Regex(pattern), "removed").pre_tokenize_str(ALL_TEXT)
    unmatched = {ord(ch) for piece, _ in kept for ch in piece}
    return set(ALL_CPS) - unmatched


def python_category_set(cat):
    return {c for c in ALL_CPS if unicodedata.category(chr(c)).startswith(cat)}


def to_ranges(cps):
    out = []
    for c in sorted(cps):
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


LEAF_CATEGORIES = ["Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No", "Pc", "Pd", "Ps", "Pe",
                   "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So", "Zs", "Zl", "Zp", "Cc", "Cf", "Co"]
WHITE_SPACE = {0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B),
               0x2028, 0x2029, 0x202F, 0x205F, 0x3000}


def utf8_len(c):
    return 1 if c < 0x80 else 2 if c < 0x800 else 3 if c < 0x10000 else 4


def substitutions(onig_w):
    """Code points whose general category differs between Oniguruma (Unicode 16) and PCRE2/Python
    (Unicode 14), each with a stand-in: a code point that PCRE2 classifies as Oniguruma classifies the
    original (same category, same \\w, not white space), with the same UTF-8 length so that match
    offsets are unchanged, and that folds to nothing ASCII (for (?i) literals). Plus U+180E, which
    PCRE2's \\s takes and Oniguruma's does not."""
    onig_gc = {}
    for cat in LEAF_CATEGORIES:
        for c in onig_set(r"\p{%s}" % cat):
            onig_gc[c] = cat
    changed = {c: onig_gc.get(c, "Cn") for c in ALL_CPS if onig_gc.get(c, "Cn") != unicodedata.category(chr(c))}

    def ascii_fold(c):
        ch = chr(c)
        return any(ord(x) < 0x80 for x in ch.lower() + ch.upper() + ch.casefold())

    stand_in = {}
    for c, cat in sorted(changed.items()):
        key = (cat, utf8_len(c), c in onig_w)
        if key not in stand_in:
            stand_in[key] = next(
                (s for s in ALL_CPS
                 if unicodedata.category(chr(s)) == cat and utf8_len(s) == key[1] and (s in onig_w) == key[2]
                 and s not in changed and s not in WHITE_SPACE and s != 0x180E and not ascii_fold(s)), None)
            assert stand_in[key] is not None, f"no stand-in for U+{c:04X} ({key})"
    table = {c: stand_in[(cat, utf8_len(c), c in onig_w)] for c, cat in changed.items()}
    table[0x180E] = next(s for s in ALL_CPS if unicodedata.category(chr(s)) == "Cf" and utf8_len(s) == 3
                         and s not in changed and s not in WHITE_SPACE and s != 0x180E and s not in onig_w)
    ranges = []
    for c in sorted(table):
        if ranges and ranges[-1][1] == c - 1 and ranges[-1][2] == table[c]:
            ranges[-1][1] = c
        else:
            ranges.append([c, c, table[c]])
    print(f"{len(table)} code points get a stand-in for regex matching ({len(ranges)} ranges)", file=sys.stderr)
    return ranges


def regex_tables():
    extras, fixture = {}, {}
    for cat in CATEGORY_CLASSES:
        onig = onig_set(r"\p{%s}" % cat)
        base = python_category_set(cat)
        if cat in FIXTURE_CLASSES:
            fixture[cat] = to_ranges(onig)
        if not base <= onig:
            # A general category changed since Unicode 14 (e.g. U+1171E Mn -> Mc): adding ranges cannot
            # fix it; the stand-ins do, for patterns that allow them (see regex_translate.h).
            print(f"note: \\p{{{cat}}} has no extras table; PCRE2 has {len(base - onig)} code points "
                  f"Oniguruma lacks: {[hex(c) for c in sorted(base - onig)[:8]]}", file=sys.stderr)
            continue
        extras[cat] = to_ranges(onig - base)
    onig_w = onig_set(r"\w")
    base_w = set().union(*(python_category_set(c) for c in WORD_BASE_CATEGORIES))
    assert base_w <= onig_w, f"\\w: base has code points Oniguruma lacks: {sorted(base_w - onig_w)[:10]}"
    extras["w"] = to_ranges(onig_w - base_w)
    fixture["w"] = to_ranges(onig_w)
    # Inside a bracket class Oniguruma's \w leaves out a few Latin-1 numbers (¹²³¼½¾) that it takes
    # outside one: a separate table, "wc".
    onig_wc = onig_set(r"[\w]")
    assert base_w <= onig_wc <= onig_w
    extras["wc"] = to_ranges(onig_wc - base_w)
    onig_d = onig_set(r"\d")
    base_d = python_category_set("Nd")
    assert base_d <= onig_d
    extras["d"] = to_ranges(onig_d - base_d)
    fixture["d"] = to_ranges(onig_d)
    onig_s = onig_set(r"\s")
    assert onig_s == WHITE_SPACE, f"Oniguruma's \\s is not White_Space: {sorted(onig_s ^ WHITE_SPACE)}"
    fixture["s"] = to_ranges(onig_s)
    return extras, fixture, substitutions(onig_w)


def normalization_tables():
    """Canonical decompositions, combining classes and compositions, as `tokenizers` applies them."""
    nfd_hf, nfc_hf = normalizers.NFD(), normalizers.NFC()
    # Combining classes: Python's, less the marks that `tokenizers` treats as starters (assigned after
    # its Unicode version). A mark between U+0300 (230) and U+0316 (220) shows whether it is reordered.
    ccc = {}
    for c in ALL_CPS:
        k = unicodedata.combining(chr(c))
        if k:
            probe = "a\u0300" + chr(c) + "\u0316"
            if nfd_hf.normalize_str(probe) == unicodedata.normalize("NFD", probe):
                ccc[c] = k
    # Full canonical decompositions, except those `tokenizers` does not know. Hangul is algorithmic.
    decomp = {}
    for c in ALL_CPS:
        if HANGUL_S0 <= c < HANGUL_S0 + HANGUL_SCOUNT:
            continue
        d = unicodedata.normalize("NFD", chr(c))
        if d == chr(c):
            continue
        hf = nfd_hf.normalize_str(chr(c))
        if hf == chr(c):
            continue  # unknown to tokenizers
        assert hf == d, f"U+{c:04X}: tokenizers decomposes to {hf!r}, Python to {d!r}"
        decomp[c] = [ord(x) for x in d]
    # Primary composites: two-code-point canonical decompositions that NFC recomposes.
    comp = []
    for c in ALL_CPS:
        if c not in decomp:
            continue
        raw = unicodedata.decomposition(chr(c))
        if not raw or raw.startswith("<"):
            continue
        parts = [int(x, 16) for x in raw.split()]
        if len(parts) == 2 and unicodedata.normalize("NFC", chr(c)) == chr(c) \
                and nfc_hf.normalize_str("".join(map(chr, parts))) == chr(c):
            comp.append((parts[0], parts[1], c))
    comp.sort()
    verify_normalization(ccc, decomp, comp, nfd_hf, nfc_hf)
    return ccc, decomp, comp


def py_normalize(s, ccc, decomp, comp, compose):
    """The algorithm model/tokenizer/unicode_normalize.cpp implements, on these tables."""
    out = []
    for ch in s:
        c = ord(ch)
        if HANGUL_S0 <= c < HANGUL_S0 + HANGUL_SCOUNT:
            i = c - HANGUL_S0
            out += [0x1100 + i // 588, 0x1161 + (i % 588) // 28] + ([0x11A7 + i % 28] if i % 28 else [])
        else:
            out += decomp.get(c, [c])
    i = 0  # canonical ordering: stable sort of each run of non-starters
    while i < len(out):
        if ccc.get(out[i], 0) == 0:
            i += 1
            continue
        j = i
        while j < len(out) and ccc.get(out[j], 0):
            j += 1
        out[i:j] = sorted(out[i:j], key=lambda x: ccc[x])
        i = j
    if not compose:
        return "".join(map(chr, out))
    pairs = {(a, b): c for a, b, c in comp}
    res, starter, last_ccc = [], None, 0
    for c in out:
        k = ccc.get(c, 0)
        if starter is not None:
            s = res[starter]
            composite = None
            if 0x1100 <= s < 0x1113 and 0x1161 <= c < 0x1176 and starter == len(res) - 1:
                composite = HANGUL_S0 + ((s - 0x1100) * 21 + (c - 0x1161)) * 28
            elif HANGUL_S0 <= s < HANGUL_S0 + HANGUL_SCOUNT and (s - HANGUL_S0) % 28 == 0 \
                    and 0x11A8 <= c < 0x11C3 and starter == len(res) - 1:
                composite = s + (c - 0x11A7)
            elif (last_ccc < k or (last_ccc == 0 and starter == len(res) - 1)) and (s, c) in pairs:
                composite = pairs[(s, c)]
            if composite is not None:
                res[starter] = composite
                continue
        if k == 0:
            starter = len(res)
            last_ccc = 0
        else:
            last_ccc = k
        res.append(c)
    return "".join(map(chr, res))


def verify_normalization(ccc, decomp, comp, nfd_hf, nfc_hf):
    tests = [chr(c) for c in ALL_CPS]
    rng = random.Random(4)
    marks = sorted(ccc)
    bases = [0x41, 0x61, 0x45, 0x65, 0x4F, 0x6F, 0x55, 0x3B1, 0x3C9, 0x438, 0x1100, 0x1161, 0x11A8, 0xAC00,
             0xAC01, 0x928, 0x93C, 0x9C7, 0x9BE, 0xB47, 0xB3E, 0x1025, 0x102E, 0x110A5, 0x11131, 0x304B,
             0x3099, 0x309A, 0x1E36, 0x212B, 0xC5, 0x2ADC, 0xFB2A]
    pool = bases + marks + [c for c, _, _ in comp] + [b for _, b, _ in comp]
    for _ in range(60000):
        tests.append("".join(chr(rng.choice(pool)) for _ in range(rng.randint(2, 7))))
    bad = 0
    for s in tests:
        for compose, hf in ((False, nfd_hf), (True, nfc_hf)):
            want = hf.normalize_str(s)
            got = py_normalize(s, ccc, decomp, comp, compose)
            if got != want:
                bad += 1
                if bad < 10:
                    print(f"mismatch ({'NFC' if compose else 'NFD'}) {s!r}: ours {got!r}, tokenizers {want!r}")
    assert bad == 0, f"{bad} normalization mismatches against tokenizers"
    print(f"normalization tables verified on {len(tests)} strings", file=sys.stderr)


def write_cpp(path, ccc, decomp, comp, extras, subs):
    lines = [
        "// Unicode tables of the tokenizer: canonical combining classes, canonical decompositions and",
        "// compositions (NFC/NFD), and the code points Oniguruma's regex classes hold beyond PCRE2's.",
        f"// Generated by scripts/tokenizer/gen_unicode_data.py against tokenizers {tokenizers.__version__}",
        f"// and Python's unicodedata {unicodedata.unidata_version}; do not edit by hand.",
        '#include "model/tokenizer/unicode_data.h"',
        "",
        "namespace tachyon::unicode_data {",
        "",
    ]

    def table(decl, items, per_line):
        lines.append(decl + " = {")
        for i in range(0, len(items), per_line):
            lines.append("    " + ", ".join(items[i:i + per_line]) + ",")
        lines.append("};")

    table("const CombiningClass kCombiningClasses[]",
          [f"{{0x{c:X}, {k}}}" for c, k in sorted(ccc.items())], 6)
    lines.append(f"const size_t kCombiningClassCount = {len(ccc)};")
    chars, entries = [], []
    for c, d in sorted(decomp.items()):
        entries.append(f"{{0x{c:X}, {len(chars)}, {len(d)}}}")
        chars += [f"0x{x:X}" for x in d]
    table("const char32_t kDecompositionChars[]", chars, 10)
    table("const Decomposition kDecompositions[]", entries, 5)
    lines.append(f"const size_t kDecompositionCount = {len(entries)};")
    table("const Composition kCompositions[]", [f"{{0x{a:X}, 0x{b:X}, 0x{c:X}}}" for a, b, c in comp], 4)
    lines.append(f"const size_t kCompositionCount = {len(comp)};")
    lines.append("")
    names = []
    for name, rs in extras.items():
        ident = f"kExtra_{name}"
        if rs:
            table(f"static const CodeRange {ident}[]", [f"{{0x{a:X}, 0x{b:X}}}" for a, b in rs], 5)
        names.append(f'{{"{name}", {ident if rs else "nullptr"}, {len(rs)}}}')
    table("const RegexClassExtra kRegexClassExtras[]", names, 2)
    lines.append(f"const size_t kRegexClassExtraCount = {len(names)};")
    table("const Substitution kRegexSubstitutions[]", [f"{{0x{a:X}, 0x{b:X}, 0x{c:X}}}" for a, b, c in subs], 3)
    lines.append(f"const size_t kRegexSubstitutionCount = {len(subs)};")
    lines += ["", "}  // namespace tachyon::unicode_data", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def main():
    extras, fixture, subs = regex_tables()
    ccc, decomp, comp = normalization_tables()
    write_cpp(os.path.join(ROOT, "model/tokenizer/unicode_data.cpp"), ccc, decomp, comp, extras, subs)
    fixture_path = os.path.join(ROOT, "tests/fixtures/tokenizer/onig_classes.json")
    os.makedirs(os.path.dirname(fixture_path), exist_ok=True)
    with open(fixture_path, "w") as f:
        json.dump({"tokenizers_version": tokenizers.__version__, "classes": fixture}, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote unicode_data.cpp ({len(ccc)} combining classes, {len(decomp)} decompositions, "
          f"{len(comp)} compositions) and onig_classes.json", file=sys.stderr)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
r"""Builds the tokenizer parity fixtures with Hugging Face `tokenizers`.

For each configuration below it trains a small byte-level BPE (vocab ~1500-2500) on this machine's
Python standard library sources (found at run time; nothing of them is committed), with that family's
pre-tokenizer regex, normalizer, special tokens and post-processor, and writes
  tests/fixtures/tokenizer/<config>/tokenizer.json
  tests/fixtures/tokenizer/<config>/expected.json   ids and decodes of the golden corpus, by `tokenizers`
and, for all configurations,
  tests/fixtures/tokenizer/corpus.json              the golden corpus (scripts/tokenizer/corpus.py)
  tests/fixtures/tokenizer/regex_cases.json         matches of Oniguruma (inside `tokenizers`) for assorted
                                                     patterns and texts: anchors, \b, \s, \w, \h, (?i),
                                                     lookahead, empty matches, Unicode 16 letters
  tests/fixtures/tokenizer/sweep.json               per-chunk hashes of the ids of a text that holds
                                                     every code point of planes 0-3 and 14 (and samples of
                                                     the others) in several contexts

Every expected id comes from `tokenizers` itself; nothing is hand-written. The C++ tests
(tests/unit/test_tokenizer_parity.cpp) compare against these files and need no Python.

Run: python3 scripts/tokenizer/make_fixtures.py [--only regex]   (needs `tokenizers`; about two minutes)
"""
import glob
import json
import os
import random
import sys
import sysconfig

import tokenizers
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402
import sweep  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(ROOT, "tests", "fixtures", "tokenizer")

QWEN2_PATTERN = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
LLAMA3_PATTERN = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
O200K_PATTERN = "|".join([
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""\p{N}{1,3}""",
    r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
    r"""\s*[\r\n]+""",
    r"""\s+(?!\S)""",
    r"""\s+""",
])


def special(content, **kw):
    return AddedToken(content, special=True, normalized=False, **kw)


def plain(content, **kw):
    kw.setdefault("normalized", False)
    return AddedToken(content, special=False, **kw)


def split_then_byte_level(pattern):
    return pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])


# name -> how to build it. "post" gets a function from token to id, since special ids are known only
# after the tokens are added.
CONFIGS = {
    # Qwen2/Qwen3: NFC, Qwen's regex (single digits), ChatML specials, <think> as non-special added tokens.
    "qwen3": dict(
        vocab_size=2000, ignore_merges=False,
        normalizer=lambda: normalizers.NFC(),
        pre_tokenizer=lambda: split_then_byte_level(QWEN2_PATTERN),
        added=[special("<|endoftext|>"), special("<|im_start|>"), special("<|im_end|>"),
               special("<|object_ref_start|>"), special("<|vision_pad|>"),
               plain("<tool_call>"), plain("</tool_call>"), plain("<think>"), plain("</think>")],
        post=lambda tid: processors.ByteLevel(trim_offsets=False)),
    # Llama 3: no normalizer, digits by three, ignore_merges, BOS by a template after ByteLevel; extra
    # whole-word vocabulary entries that merges cannot reach, so that ignore_merges matters.
    "llama3": dict(
        vocab_size=2500, ignore_merges=True, extra_vocab=True,
        normalizer=lambda: None,
        pre_tokenizer=lambda: split_then_byte_level(LLAMA3_PATTERN),
        added=[special("<|begin_of_text|>"), special("<|end_of_text|>"), special("<|reserved_special_token_0|>"),
               special("<|start_header_id|>"), special("<|end_header_id|>"), special("<|eot_id|>"),
               special("<|python_tag|>")],
        post=lambda tid: processors.Sequence([
            processors.ByteLevel(trim_offsets=False),
            processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|> $B",
                                          special_tokens=[("<|begin_of_text|>", tid("<|begin_of_text|>"))])])),
    # gpt-oss (o200k_harmony): o200k's case-aware regex, harmony specials, merges in the legacy "a b" form.
    "gpt_oss": dict(
        vocab_size=2200, ignore_merges=False, legacy_merges=True,
        normalizer=lambda: None,
        pre_tokenizer=lambda: split_then_byte_level(O200K_PATTERN),
        added=[special("<|startoftext|>"), special("<|endoftext|>"), special("<|reserved_200000|>"),
               special("<|return|>"), special("<|constrain|>"), special("<|channel|>"), special("<|start|>"),
               special("<|end|>"), special("<|message|>"), special("<|call|>"), special("<|endofprompt|>")],
        post=lambda tid: processors.ByteLevel(trim_offsets=False)),
    # GPT-2/RoBERTa style: ByteLevel with its own regex and a prefix space, NFC in a Sequence, added tokens
    # with lstrip/rstrip/single_word/normalized, one already in the model vocabulary, BOS+EOS template.
    "gpt2_added": dict(
        vocab_size=1500, ignore_merges=False,
        normalizer=lambda: normalizers.Sequence([normalizers.NFC()]),
        pre_tokenizer=lambda: pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True),
        added=[special("<s>"), special("</s>"), special("<|endoftext|>"), special("<mask>", lstrip=True),
               special("[SEP]", rstrip=True), plain("<sp>", lstrip=True, rstrip=True, normalized=True),
               plain("hello world", single_word=True, normalized=True), plain("token", single_word=True),
               plain("cafe\u0301", normalized=True), plain("ñandú"), plain("def")],
        post=lambda tid: processors.TemplateProcessing(single="<s> $A </s>", pair="<s> $A </s> $B </s>",
                                                       special_tokens=[("<s>", tid("<s>")), ("</s>", tid("</s>"))])),
    # Every Split behavior, invert, a String pattern, NFD, Roberta post-processing, ignore_merges.
    "splits_nfd": dict(
        vocab_size=1200, ignore_merges=True,
        normalizer=lambda: normalizers.Sequence([normalizers.NFD()]),
        pre_tokenizer=lambda: pre_tokenizers.Sequence([
            pre_tokenizers.Split("--", behavior="merged_with_next"),
            pre_tokenizers.Split(Regex(r"\d"), behavior="contiguous"),
            pre_tokenizers.Split(Regex(r"[,;]"), behavior="removed"),
            pre_tokenizers.Split(Regex(r"\w+|\s+"), behavior="merged_with_previous", invert=True),
            pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True)]),
        added=[special("<s>"), special("</s>"), special("<mask>", lstrip=True)],
        post=lambda tid: processors.RobertaProcessing(("</s>", tid("</s>")), ("<s>", tid("<s>")), trim_offsets=False)),
}


def training_files():
    """Python standard library sources of this machine (no site-packages), and its CJK test texts."""
    stdlib = sysconfig.get_paths()["stdlib"]
    files = sorted(f for f in glob.glob(os.path.join(stdlib, "**", "*.py"), recursive=True)
                   if "site-packages" not in f and "dist-packages" not in f)
    files += sorted(glob.glob(os.path.join(stdlib, "test", "cjkencodings", "*-utf8.txt")))
    if not files:
        sys.exit(f"no Python sources found under {stdlib}")
    return files


def training_text(limit_bytes=6_000_000):
    files = training_files()
    rng = random.Random(7)
    rng.shuffle(files)
    texts, total = [], 0
    for f in files:
        try:
            with open(f, encoding="utf-8") as fh:
                t = fh.read()
        except (UnicodeDecodeError, OSError):
            continue
        texts.append(t)
        total += len(t)
        if total > limit_bytes:
            break
    return texts


def build(name, cfg, texts):
    tok = Tokenizer(models.BPE(ignore_merges=cfg["ignore_merges"]))
    norm = cfg["normalizer"]()
    if norm is not None:
        tok.normalizer = norm
    tok.pre_tokenizer = cfg["pre_tokenizer"]()
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=cfg["vocab_size"], min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer)
    data = json.loads(tok.to_str())
    vocab = data["model"]["vocab"]
    if cfg.get("extra_vocab"):
        # Whole words as tokens of their own, without merges that build them (as in tiktoken-derived
        # vocabularies): only ignore_merges can produce them.
        byte_level = {b: c for b, c in zip(range(256), _byte_chars())}
        for w in [" hello", " world", "hello", " the", " function", " tokenizer", " über", "你好", " Hello",
                  "123", " 2024", " café", " import", "ing", " return", " self"]:
            s = "".join(byte_level[b] for b in w.encode())
            if s not in vocab:
                vocab[s] = len(vocab)
    if cfg.get("legacy_merges"):
        data["model"]["merges"] = [" ".join(m) for m in data["model"]["merges"]]
    tok = Tokenizer.from_str(json.dumps(data))
    tok.add_special_tokens([t for t in cfg["added"] if t.special])
    tok.add_tokens([t for t in cfg["added"] if not t.special])
    tok.post_processor = cfg["post"](lambda t: tok.token_to_id(t))
    return tok


def _byte_chars():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    table = dict(zip(bs, cs))
    return [chr(table[b]) for b in range(256)]


def expected(tok, lines, rng):
    enc = [tok.encode(x).ids for x in lines]
    out = {"tokenizers_version": tokenizers.__version__, "encode": enc}
    # Without the post-processor's tokens, for a part of the corpus (the rest only differs by them).
    out["encode_no_special"] = [tok.encode(x, add_special_tokens=False).ids for x in lines[:60]]
    out["decode"], out["decode_skip_special"] = {}, {}
    for i, (x, ids) in enumerate(zip(lines, enc)):
        d = tok.decode(ids, skip_special_tokens=False)
        if d != x:
            out["decode"][str(i)] = d
        ds = tok.decode(ids, skip_special_tokens=True)
        if ds != d:
            out["decode_skip_special"][str(i)] = ds
    # Random id sequences: byte tokens that split characters, special tokens, unknown ids.
    n = tok.get_vocab_size(with_added_tokens=True)
    specials = [tok.token_to_id(t.content) for t in tok.get_added_tokens_decoder().values()]
    rand = []
    for _ in range(50):
        ids = [rng.choice(specials) if rng.random() < 0.1 else rng.randrange(0, n + 3) for _ in range(rng.randint(1, 16))]
        rand.append({"ids": ids, "text": tok.decode(ids, skip_special_tokens=False),
                     "text_skip_special": tok.decode(ids, skip_special_tokens=True)})
    out["random_decode"] = rand
    out["vocab_size_with_added"] = n
    return out


REGEX_PATTERNS = [
    r"$", r"^", r"b$", r"^b", r".+", r"\A.", r"\z", r"\bb", r"\Bb", r"\s+", r"\S+", r"\w+", r"\W+", r"\d+",
    r"\D+", r"\h+", r"a*", r"x*", r"(?i:'s|'t|'re|'ve|'m|'ll|'d)", r"\s+(?!\S)", r"[^\s\p{L}\p{N}]+",
    r"\p{L}+", r"\P{L}+", r"\p{Lu}\p{Ll}*", r"\p{N}{1,3}", r"[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+", r"é+|ñ",
    r"[а-я]+", r"\x{1F600}|\p{So}", r"[[:alpha:]]+", r"(?=a)", r"\p{Han}+", r"[\w\d]+",
]
REGEX_TEXTS = [
    "a\nb\nab b", "Hello, World! it's THE 'LL 1234567 ab_cd", "café naïve Ελληνικά русский 中文 日本語 한국어",
    "x\u0301 e\u0301 \u0915\u093c\u093f a\u0300b", "\u1c89\u1c8a \U00010d50\U00010d70 \U00031350 \u1171e\U0001171e",
    "tabs\t\tand\r\nnewlines\n\n  \u00a0\u3000\u180e\u2028|", "😀 👍🏽 ①②③ ²³ ٣٤ Ⅻ ¼ ＡＢＣ１２３ dead_beef 0xFF",
    "", "\n", "aaa",
]


def regex_cases():
    """Matches (byte offsets) of each pattern on each text, as `tokenizers`' Split finds them."""
    cases = []
    for pattern in REGEX_PATTERNS:
        for text in REGEX_TEXTS:
            to_byte = lambda k: len(text[:k].encode())  # noqa: E731
            # Non-empty matches, and the pieces of an Isolated split (where empty matches cut too).
            matched = pre_tokenizers.Split(Regex(pattern), "removed", invert=True).pre_tokenize_str(text)
            isolated = pre_tokenizers.Split(Regex(pattern), "isolated").pre_tokenize_str(text)
            cases.append({"pattern": pattern, "text": text,
                          "matches": [[to_byte(a), to_byte(b)] for _, (a, b) in matched],
                          "isolated": [[to_byte(a), to_byte(b)] for _, (a, b) in isolated]})
    return cases


def main():
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "regex_cases.json"), "w", encoding="utf-8") as f:
        json.dump({"tokenizers_version": tokenizers.__version__, "cases": regex_cases()}, f, ensure_ascii=False,
                  separators=(",", ":"))
        f.write("\n")
    if sys.argv[1:] == ["--only", "regex"]:
        return
    lines = corpus.corpus()
    with open(os.path.join(OUT, "corpus.json"), "w", encoding="utf-8") as f:
        json.dump(lines, f, ensure_ascii=False, indent=0)
        f.write("\n")
    texts = training_text()
    print(f"training on {len(texts)} files, {sum(map(len, texts)) / 1e6:.1f} M characters", file=sys.stderr)
    sweep_out = {"tokenizers_version": tokenizers.__version__, "chunk_code_points": sweep.CHUNK, "configs": {}}
    for name, cfg in CONFIGS.items():
        tok = build(name, cfg, texts)
        d = os.path.join(OUT, name)
        os.makedirs(d, exist_ok=True)
        tok.save(os.path.join(d, "tokenizer.json"), pretty=False)
        tok = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))  # test what was written
        with open(os.path.join(d, "expected.json"), "w", encoding="utf-8") as f:
            json.dump(expected(tok, lines, random.Random(name)), f, ensure_ascii=False, separators=(",", ":"))
            f.write("\n")
        sweep_out["configs"][name] = sweep.hashes(tok)
        print(f"{name}: vocab {tok.get_vocab_size()} (+{len(tok.get_added_tokens_decoder())} added)", file=sys.stderr)
    with open(os.path.join(OUT, "sweep.json"), "w") as f:
        json.dump(sweep_out, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()

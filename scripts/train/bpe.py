"""Byte-level BPE for the default model, trained with Hugging Face `tokenizers`.

Qwen2/Qwen3 layout, which Tachyon's tokenizer loads (model/tokenizer/tokenizer.h): NFC normalizer, Split
with Qwen's regex (single digits) then ByteLevel without its own regex, BPE over the 256 byte symbols,
ByteLevel decoder and post-processor (no BOS/EOS added). Two special tokens after the learned vocabulary:
  <|endoftext|>  document separator and end of sequence (the config's eos_token_id)
  <|mask|>       DFlash's mask token: never in the training text; its (target) embedding row fills the
                 drafter's masked block slots
"""

from __future__ import annotations

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

QWEN2_PATTERN = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
EOT = "<|endoftext|>"
MASK = "<|mask|>"
SPECIALS = [EOT, MASK]


def train_tokenizer(texts: list[str], vocab_size: int) -> Tokenizer:
    """A tokenizer with exactly `vocab_size` ids: vocab_size - 2 learned (bytes + merges), then the specials."""
    tok = Tokenizer(models.BPE(ignore_merges=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size - len(SPECIALS), min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=[])
    tok.train_from_iterator(texts, trainer=trainer, length=len(texts))
    learned = tok.get_vocab_size()
    if learned != vocab_size - len(SPECIALS):
        raise RuntimeError(f"BPE learned {learned} tokens, wanted {vocab_size - len(SPECIALS)} (corpus too small?)")
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in SPECIALS])
    assert tok.get_vocab_size() == vocab_size
    return tok


def special_ids(tok: Tokenizer) -> dict[str, int]:
    return {"eot": tok.token_to_id(EOT), "mask": tok.token_to_id(MASK)}

// Unicode canonical normalization (NFC, NFD) as Hugging Face `tokenizers` applies it, on the tables of
// unicode_data.cpp (calibrated to its Unicode version; see scripts/tokenizer/gen_unicode_data.py).
#pragma once

#include <string>
#include <string_view>

namespace tachyon {

// True when `s` (valid UTF-8) is certainly unchanged by NFC: it holds no combining mark, no code point
// that may compose with the one before it, and no code point that NFC replaces. Fast on ASCII.
bool nfc_quick_check(std::string_view s);

// Canonical decomposition followed by canonical ordering. `s` must be valid UTF-8.
std::string to_nfd(std::string_view s);
// NFD followed by canonical composition. `s` must be valid UTF-8.
std::string to_nfc(std::string_view s);

}  // namespace tachyon

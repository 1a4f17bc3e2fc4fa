// Unicode canonical normalization (NFC, NFD) as Hugging Face `tokenizers` applies it, on the tables of
// unicode_data.cpp (calibrated to its Unicode version; see scripts/tokenizer/gen_unicode_data.py).
#pragma once

#include <string>
#include <string_view>

namespace tachyon {

// True when `s` (valid UTF-8) is certainly unchanged by NFC: it holds no combining mark, no code point
// that may compose with the one before it, and no code point that NFC replaces. Fast on ASCII.
bool nfc_quick_check(std::string_view s);

// NFC of `s` (valid UTF-8), working only on the stretches that need it: text is cut before every code
// point that nothing can combine with or reorder across (combining class 0 and NFC_Quick_Check=Yes),
// and only stretches holding a flagged code point go through to_nfc. Returns `s` itself when nothing
// changes, else a view of `storage`.
std::string_view nfc(std::string_view s, std::string& storage);

// Canonical decomposition followed by canonical ordering. `s` must be valid UTF-8.
std::string to_nfd(std::string_view s);
// NFD followed by canonical composition. `s` must be valid UTF-8.
std::string to_nfc(std::string_view s);

}  // namespace tachyon

// The GPT-2 byte-level alphabet: each of the 256 byte values stands for one printable code point
// (printable ASCII and most of Latin-1 stand for themselves, the rest map to U+0100..U+0143).
//
// Vocabularies of byte-level BPE store tokens in that alphabet ("Ġthe" for " the"). The tokenizer works
// on raw bytes internally, so these tables convert at load time and when a token string is asked for.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace tachyon::byte_level {

// Code point that byte b stands for.
char32_t byte_to_char(unsigned char b);

// The bytes a token string in the byte-level alphabet stands for, or nullopt when a character of it is
// outside the alphabet (such a token cannot come out of byte-level BPE). `token` must be valid UTF-8.
std::optional<std::string> decode_token(std::string_view token);

// The byte-level spelling of raw bytes ("Ġthe" for " the").
std::string encode_bytes(std::string_view bytes);

}  // namespace tachyon::byte_level

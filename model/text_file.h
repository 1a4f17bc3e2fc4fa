// Reading a whole (small) file into memory: configs, tokenizer.json, index files, prompts for tools.
#pragma once

#include <string>

namespace tachyon {

// The file's bytes; throws tachyon::Error naming the path and the system's reason when it cannot be read.
std::string read_text_file(const std::string& path);

}  // namespace tachyon

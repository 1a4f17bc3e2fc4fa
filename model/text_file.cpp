#include "model/text_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "model/error.h"

namespace tachyon {

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  TACHYON_REQUIRE(in.good(), "cannot read '{}': {}", path, std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  TACHYON_REQUIRE(!in.bad(), "reading '{}' failed: {}", path, std::strerror(errno));
  return ss.str();
}

}  // namespace tachyon

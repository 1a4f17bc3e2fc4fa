#include "model/error.h"

namespace tachyon::detail {

void throw_internal(const char* file, int line, const char* expr, const std::string& msg) {
  throw Error(fmt::format("internal error at {}:{}: check `{}` failed{}{}", file, line, expr, msg.empty() ? "" : ": ", msg));
}

}  // namespace tachyon::detail

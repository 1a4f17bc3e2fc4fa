#include "runtime/fault_injection.h"

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "model/error.h"

namespace tachyon {

namespace {
struct Fault {
  std::string kind;
  int rank = -1;
  uint64_t step = 0;
};

Fault parse_fault() {
  Fault f;
  const char* env = std::getenv("TACHYON_INJECT_FAULT");
  if (!env) return f;
  const std::string s(env);
  const size_t a = s.find(':'), b = s.find(':', a + 1);
  TACHYON_REQUIRE(a != std::string::npos && b != std::string::npos, "TACHYON_INJECT_FAULT='{}': expected KIND:RANK:STEP", s);
  f.kind = s.substr(0, a);
  f.rank = std::stoi(s.substr(a + 1, b - a - 1));
  f.step = std::stoull(s.substr(b + 1));
  TACHYON_REQUIRE(f.kind == "throw" || f.kind == "hang", "TACHYON_INJECT_FAULT: unknown kind '{}'", f.kind);
  return f;
}
}  // namespace

void inject_fault_if_requested(int rank, uint64_t step) {
  static const Fault fault = parse_fault();
  if (fault.rank != rank || fault.step != step) return;
  if (fault.kind == "throw") throw Error(fmt::format("injected fault at step {} (TACHYON_INJECT_FAULT)", step));
  for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
}

}  // namespace tachyon

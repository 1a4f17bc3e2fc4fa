// tachyon: decode large Mixture-of-Experts models fast on one 8-GPU node.
//   tachyon <command> [options]      tachyon <command> --help
#include <cstdio>
#include <cstring>
#include <exception>

#include "apps/command.h"
#include "model/error.h"

namespace tachyon::apps {
std::map<std::string, CommandEntry>& command_registry() {
  static std::map<std::string, CommandEntry> registry;
  return registry;
}
}  // namespace tachyon::apps

namespace {
void print_usage() {
  std::printf("usage: tachyon <command> [options]\n\ncommands:\n");
  for (const auto& [name, entry] : tachyon::apps::command_registry())
    std::printf("  %-12s %s\n", name.c_str(), entry.summary.c_str());
  std::printf("\nRun `tachyon <command> --help` for the options of a command.\n");
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    print_usage();
    return argc < 2 ? 2 : 0;
  }
  const auto& registry = tachyon::apps::command_registry();
  auto it = registry.find(argv[1]);
  if (it == registry.end()) {
    std::fprintf(stderr, "tachyon: unknown command '%s'\n\n", argv[1]);
    print_usage();
    return 2;
  }
  try {
    return it->second.run(argc - 1, argv + 1);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tachyon %s: error: %s\n", argv[1], e.what());
    return 1;
  }
}

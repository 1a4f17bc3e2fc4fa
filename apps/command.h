// Subcommands of `tachyon`. Each apps/cmd_<name>.cpp defines one and registers it with
// TACHYON_COMMAND(name, summary, function); main.cpp dispatches on argv[1].
#pragma once

#include <map>
#include <string>

namespace tachyon::apps {

using CommandFn = int (*)(int argc, char** argv);  // argv[0] is the subcommand name

struct CommandEntry {
  std::string summary;
  CommandFn run;
};

std::map<std::string, CommandEntry>& command_registry();

struct CommandRegistration {
  CommandRegistration(const char* name, const char* summary, CommandFn run) {
    command_registry()[name] = CommandEntry{summary, run};
  }
};

}  // namespace tachyon::apps

#define TACHYON_COMMAND(name, summary, fn) \
  static const ::tachyon::apps::CommandRegistration tachyon_command_registration_##fn{name, summary, fn}

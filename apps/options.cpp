#include "apps/options.h"

#include <iostream>

#include "model/error.h"

namespace tachyon::apps {

bool parse_options(int argc, char** argv, const std::string& usage, const po::options_description& options,
                   po::variables_map& vm, const po::positional_options_description* positional) {
  po::options_description all(options);
  all.add_options()("help,h", "show this help");
  try {
    po::command_line_parser parser(argc, argv);
    parser.options(all);
    if (positional) parser.positional(*positional);
    po::store(parser.run(), vm);
    if (vm.count("help")) {
      std::cout << usage << "\n\n" << all << "\n";
      return false;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    throw Error(fmt::format("{} (see `tachyon {} --help`)", e.what(), argv[0]));
  }
  return true;
}

}  // namespace tachyon::apps

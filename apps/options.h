// Shared command-line handling for subcommands: parse with Boost.Program_options, print `--help`, and
// turn parse errors into messages that name the option and point at --help.
#pragma once

#include <boost/program_options.hpp>

#include <string>

namespace tachyon::apps {

namespace po = boost::program_options;

// Returns false when --help was printed (the command should exit 0). Throws tachyon::Error on bad input.
bool parse_options(int argc, char** argv, const std::string& usage, const po::options_description& options,
                   po::variables_map& vm, const po::positional_options_description* positional = nullptr);

}  // namespace tachyon::apps

// Helpers shared by the tests: temporary directories, running the `tachyon` binary, fixture paths.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tachyon::test {

// A fresh directory under the build tree, removed when the object goes away.
class TempDir {
 public:
  explicit TempDir(const std::string& tag);
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Runs a shell command; returns its exit status (the process's exit code, or 128+signal).
int run(const std::string& command);
// Runs `tachyon <args>`, with stdout and stderr captured into `output` (when given).
int run_tachyon(const std::string& args, std::string* output = nullptr);

// Starts `command` under /bin/sh in the background (its own process group); returns its pid.
int spawn(const std::string& command);
// Waits up to `timeout_s` for a spawned process; returns its exit status (as run()), or -1 on timeout.
int wait_for(int pid, double timeout_s);
// `mpirun` with the flags the tests need (oversubscription, root allowed), e.g. mpirun("-np 3 ...").
std::string mpirun(int ranks);

std::string fixture(const std::string& relative);  // tests/fixtures/<relative>
std::string default_model(const std::string& file);  // model/default/<file>: the embedded default pair
std::string read_file(const std::string& path);
std::vector<std::string> lines_of(const std::string& path);  // the file's lines, without newlines
std::vector<nlohmann::json> read_jsonl(const std::string& path);  // one parsed object per line

// A parity fixture's expected.safetensors (tests/fixtures/parity/<name>): transformers' prompt, greedy
// continuation and logits (scripts/parity/make_fixtures.py).
struct ParityExpected {
  std::vector<int32_t> prompt, generated;
  std::vector<float> prefill_logits, generated_logits;
};
ParityExpected load_parity_expected(const std::string& name);

// One of the random drafters of tests/fixtures/dflash (<variant>: base, swa, mimo) converted into `tmp`
// with its config fitted to a target of this vocabulary and layer count (vocabulary, tapped layers,
// mask id: a DFlash drafter borrows the target's embedding and LM head, so nothing else depends on the
// target); returns the drafter's HDF5 path. Throws, with the converter's output, if conversion fails.
std::string fitted_drafter(const TempDir& tmp, const std::string& variant, const std::string& target_name, int vocab_size,
                           int num_layers);

}  // namespace tachyon::test

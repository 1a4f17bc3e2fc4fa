#include "test_util.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "model/safetensors.h"

namespace tachyon::test {

namespace fs = std::filesystem;

TempDir::TempDir(const std::string& tag) {
  static std::atomic<int> counter{0};
  path_ = fs::path(TACHYON_BINARY_DIR) / "test-tmp" / (tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  fs::remove_all(path_);
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

int run(const std::string& command) {
  const int status = std::system(command.c_str());
  if (status == -1) return -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return status;
}

int run_tachyon(const std::string& args, std::string* output) {
  if (!output) return run(std::string(TACHYON_EXE) + " " + args);
  TempDir tmp("cmd");
  const std::string log = tmp.file("output.txt");
  const int code = run(std::string(TACHYON_EXE) + " " + args + " > " + log + " 2>&1");
  *output = read_file(log);
  return code;
}

int spawn(const std::string& command) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

int wait_for(int pid, double timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return status;
    }
    if (std::chrono::steady_clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

std::string mpirun(int ranks) {
  ::setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
  ::setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
  return std::string(TACHYON_MPIEXEC) + " --oversubscribe -np " + std::to_string(ranks) + " ";
}

std::string fixture(const std::string& relative) { return std::string(TACHYON_SOURCE_DIR) + "/tests/fixtures/" + relative; }

std::string default_model(const std::string& file) { return std::string(TACHYON_SOURCE_DIR) + "/model/default/" + file; }

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> lines_of(const std::string& path) {
  std::vector<std::string> out;
  std::istringstream in(read_file(path));
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::vector<nlohmann::json> out;
  for (const auto& line : lines_of(path)) out.push_back(nlohmann::json::parse(line));
  return out;
}

ParityExpected load_parity_expected(const std::string& name) {
  SafetensorsFile f(fixture("parity/" + name) + "/expected.safetensors");
  auto ints = [&](const char* n) {
    const StTensor& t = f.tensors().at(n);
    const auto* p = reinterpret_cast<const int32_t*>(t.data);
    return std::vector<int32_t>(p, p + t.numel());
  };
  auto floats = [&](const char* n) {
    const StTensor& t = f.tensors().at(n);
    const auto* p = reinterpret_cast<const float*>(t.data);
    return std::vector<float>(p, p + t.numel());
  };
  return {ints("prompt_ids"), ints("generated_ids"), floats("prefill_logits"), floats("generated_logits")};
}

std::string fitted_drafter(const TempDir& tmp, const std::string& variant, const std::string& target_name, int vocab_size,
                           int num_layers) {
  namespace fs = std::filesystem;
  const fs::path from = fixture("dflash/" + variant + "/drafter");
  const fs::path dir = tmp.path() / ("drafter-for-" + target_name);
  fs::create_directories(dir);
  for (const auto& e : fs::directory_iterator(from))
    if (e.path().extension() == ".safetensors") fs::copy_file(e.path(), dir / e.path().filename());
  nlohmann::json c = nlohmann::json::parse(read_file((from / "config.json").string()));
  c["vocab_size"] = vocab_size;
  c["num_target_layers"] = num_layers;
  nlohmann::json& d = c["dflash_config"];
  if (d.value("mask_token_id", 0) >= vocab_size) d["mask_token_id"] = vocab_size - 1;
  for (auto& id : d["target_layer_ids"]) id = std::min(id.get<int>(), num_layers - 1);
  std::ofstream(dir / "config.json") << c.dump(2);
  const std::string out = dir.string() + ".h5";
  std::string log;
  if (run_tachyon("convert --drafter --from " + dir.string() + " --to " + out, &log) != 0)
    throw std::runtime_error("converting the " + variant + " drafter for " + target_name + " failed:\n" + log);
  return out;
}

}  // namespace tachyon::test

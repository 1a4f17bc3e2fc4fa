// `tachyon convert` and `tachyon inspect`: Hugging Face directories in, checkpoints out; bad inputs
// give errors that name the tensor.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "model/checkpoint.h"
#include "model/mxfp4.h"
#include "model/safetensors.h"
#include "test_util.h"

using namespace tachyon;
namespace fs = std::filesystem;

namespace {
// A copy of a fixture's HF directory with the tensors passing `keep` and an edited config.
void copy_fixture(const std::string& name, const fs::path& dst, const std::function<bool(const std::string&)>& keep,
                  const std::function<void(nlohmann::json&)>& edit_config = {}) {
  const std::string src = test::fixture("parity/" + name);
  fs::create_directories(dst);
  nlohmann::json cfg = nlohmann::json::parse(test::read_file(src + "/config.json"));
  if (edit_config) edit_config(cfg);
  std::ofstream(dst / "config.json") << cfg.dump();
  SafetensorsDir dir(src);
  std::vector<StTensorData> tensors;
  for (const auto& n : dir.names()) {
    if (!keep(n)) continue;
    const StTensor& t = dir.get(n);
    tensors.push_back({n, t.dtype, t.shape, std::vector<uint8_t>(t.data, t.data + t.nbytes)});
  }
  write_safetensors((dst / "model.safetensors").string(), tensors);
}
}  // namespace

TEST_CASE("convert: a missing tensor is named") {
  test::TempDir tmp("convert-missing");
  copy_fixture("qwen3_moe", tmp.path() / "hf", [](const std::string& n) { return n != "model.layers.1.self_attn.k_proj.weight"; });
  std::string out;
  CHECK(test::run_tachyon("convert --from " + tmp.file("hf") + " --to " + tmp.file("m.h5"), &out) != 0);
  CHECK_MESSAGE(out.find("model.layers.1.self_attn.k_proj.weight") != std::string::npos, out);
}

TEST_CASE("convert: a shape that disagrees with the config is named with both shapes") {
  test::TempDir tmp("convert-shape");
  copy_fixture("qwen3_moe", tmp.path() / "hf", [](const std::string&) { return true; },
               [](nlohmann::json& c) { c["intermediate_size"] = 80; });
  std::string out;
  CHECK(test::run_tachyon("convert --from " + tmp.file("hf") + " --to " + tmp.file("m.h5"), &out) != 0);
  CHECK_MESSAGE(out.find("model.layers.0.mlp.gate_proj.weight") != std::string::npos, out);
  CHECK_MESSAGE(out.find("[96, 64]") != std::string::npos, out);
  CHECK_MESSAGE(out.find("[80, 64]") != std::string::npos, out);
}

TEST_CASE("convert: bad arguments say what to do") {
  std::string out;
  CHECK(test::run_tachyon("convert --to x.h5", &out) != 0);
  CHECK(out.find("--from") != std::string::npos);
  CHECK(test::run_tachyon("convert --from /nonexistent --to x.h5", &out) != 0);
  CHECK(out.find("not a directory") != std::string::npos);
  CHECK(test::run_tachyon("convert --from /tmp --to x.h5 --dense mxfp4", &out) != 0);
  CHECK(out.find("experts") != std::string::npos);
  CHECK(test::run_tachyon("convert --from /tmp --to x.h5 --bogus", &out) != 0);
  CHECK(out.find("--help") != std::string::npos);
  for (const char* cmd : {"convert", "inspect", "generate"}) {
    CHECK(test::run_tachyon(std::string(cmd) + " --help", &out) == 0);
    CHECK(out.find("usage") != std::string::npos);
  }
  CHECK(test::run_tachyon("frobnicate", &out) == 2);
  CHECK(out.find("unknown command") != std::string::npos);
}

TEST_CASE("convert: gpt-oss MXFP4 experts pass through bit for bit, gate and up rows split") {
  test::TempDir tmp("convert-oss");
  std::string out;
  REQUIRE(test::run_tachyon("convert --from " + test::fixture("parity/gpt_oss") + " --to " + tmp.file("m.h5"), &out) == 0);
  SafetensorsDir src(test::fixture("parity/gpt_oss"));
  const StTensor& blocks = src.get("model.layers.1.mlp.experts.gate_up_proj_blocks");  // [8, 128, 2, 16]
  const StTensor& scales = src.get("model.layers.1.mlp.experts.gate_up_proj_scales");  // [8, 128, 2]
  CheckpointReader r(tmp.file("m.h5"));
  const HostWeight up = r.read("layers.1.moe.up", {.expert_begin = 3, .expert_end = 4});
  REQUIRE(up.format == WeightFormat::MXFP4);
  for (size_t row = 0; row < 64; ++row) {
    const size_t src_row = 3 * 128 + 2 * row + 1;  // expert 3, interleaved row 2j+1 = up j
    CHECK(std::equal(up.data.begin() + row * 32, up.data.begin() + (row + 1) * 32, blocks.data + src_row * 32));
    CHECK(std::equal(up.scales.begin() + row * 2, up.scales.begin() + (row + 1) * 2, scales.data + src_row * 2));
  }
}

TEST_CASE("convert: random models are deterministic in the seed; inspect reports them") {
  test::TempDir tmp("convert-random");
  const std::string cfg = test::fixture("parity/qwen3_moe/config.json");
  std::string out;
  REQUIRE(test::run_tachyon("convert --random-config " + cfg + " --seed 5 --to " + tmp.file("a.h5"), &out) == 0);
  REQUIRE(test::run_tachyon("convert --random-config " + cfg + " --seed 5 --to " + tmp.file("b.h5"), &out) == 0);
  REQUIRE(test::run_tachyon("convert --random-config " + cfg + " --seed 6 --to " + tmp.file("c.h5"), &out) == 0);
  CheckpointReader a(tmp.file("a.h5")), b(tmp.file("b.h5")), c(tmp.file("c.h5"));
  CHECK(a.read("layers.2.moe.down").data == b.read("layers.2.moe.down").data);
  CHECK(a.read("layers.2.moe.down").data != c.read("layers.2.moe.down").data);
  CHECK(a.read("layers.2.moe.down").format == WeightFormat::MXFP4);
  REQUIRE(test::run_tachyon("inspect " + tmp.file("a.h5") + " --tensors", &out) == 0);
  CHECK(out.find("qwen3_moe") != std::string::npos);
  CHECK(out.find("layers.2.moe.gate") != std::string::npos);
  CHECK(out.find("parameters") != std::string::npos);
}

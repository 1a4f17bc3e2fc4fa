// `tachyon convert` and `tachyon inspect`: Hugging Face directories in, checkpoints out; bad inputs
// give errors that name the tensor.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "comm/collectives.h"
#include "model/checkpoint.h"
#include "model/config.h"
#include "model/mxfp4.h"
#include "model/safetensors.h"
#include "runtime/cpu_target_step.h"
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

namespace {
// Runs the CPU reference on a converted fixture and compares with transformers' prefill logits.
double max_prefill_error(const std::string& model, const std::string& fixture_name) {
  CheckpointReader reader(model);
  const ModelConfig c = parse_model_config(reader.config_json(), model);
  SafetensorsFile expected(test::fixture("parity/" + fixture_name + "/expected.safetensors"));
  const StTensor& ids = expected.tensors().at("prompt_ids");
  const StTensor& logits = expected.tensors().at("prefill_logits");
  StepBatch batch;
  batch.tokens.assign(reinterpret_cast<const int32_t*>(ids.data), reinterpret_cast<const int32_t*>(ids.data) + ids.numel());
  batch.seqs.push_back({0, 0, static_cast<int32_t>(batch.tokens.size()), 0});
  comm::SingleProcess comm;
  const ShardPlan plan = make_shard_plan(c, 0, 1, MoeParallel::Tp);
  CpuTargetStep step(c, plan, load_target_weights(reader, c, plan), comm, 1, 64);
  StepOutput out;
  step.run(batch, out);
  REQUIRE(out.logits.size() == static_cast<size_t>(logits.numel()));
  const auto* ref = reinterpret_cast<const float*>(logits.data);
  double worst = 0;
  for (size_t i = 0; i < out.logits.size(); ++i) worst = std::max(worst, double(std::fabs(out.logits[i] - ref[i])));
  return worst;
}

std::vector<uint8_t> f32_bytes(const std::vector<float>& v) {
  std::vector<uint8_t> b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}
}  // namespace

TEST_CASE("convert: fused 3-D Qwen3-MoE experts (gate_up_proj [E, 2I, H], gate half first) give transformers' logits") {
  test::TempDir tmp("convert-fused-qwen");
  const std::string src = test::fixture("parity/qwen3_moe");
  fs::create_directories(tmp.path() / "hf");
  fs::copy_file(src + "/config.json", tmp.path() / "hf/config.json");
  SafetensorsDir dir(src);
  const int64_t E = 8, I = 32, H = 64;
  std::vector<StTensorData> tensors;
  for (const auto& n : dir.names()) {
    if (n.find(".mlp.experts.") != std::string::npos) continue;
    const StTensor& t = dir.get(n);
    tensors.push_back({n, t.dtype, t.shape, std::vector<uint8_t>(t.data, t.data + t.nbytes)});
  }
  for (int l : {2, 3}) {
    std::vector<float> gate_up, down;
    for (int e = 0; e < E; ++e) {
      const std::string p = fmt::format("model.layers.{}.mlp.experts.{}.", l, e);
      for (const char* part : {"gate_proj", "up_proj"}) {
        const auto v = dir.read_f32(p + part + ".weight");
        gate_up.insert(gate_up.end(), v.begin(), v.end());
      }
      const auto d = dir.read_f32(p + "down_proj.weight");
      down.insert(down.end(), d.begin(), d.end());
    }
    tensors.push_back({fmt::format("model.layers.{}.mlp.experts.gate_up_proj", l), StDtype::F32, {E, 2 * I, H}, f32_bytes(gate_up)});
    tensors.push_back({fmt::format("model.layers.{}.mlp.experts.down_proj", l), StDtype::F32, {E, H, I}, f32_bytes(down)});
  }
  write_safetensors((tmp.path() / "hf/model.safetensors").string(), tensors);
  std::string out;
  REQUIRE_MESSAGE(test::run_tachyon("convert --from " + tmp.file("hf") + " --to " + tmp.file("m.h5"), &out) == 0, out);
  const double err = max_prefill_error(tmp.file("m.h5"), "qwen3_moe");
  MESSAGE("fused Qwen3-MoE experts: max |logit difference| vs transformers ", err);
  CHECK(err < 2e-4);
}

TEST_CASE("convert: unquantized gpt-oss experts (gate_up_proj [E, H, 2I], columns interleaved) give transformers' logits") {
  test::TempDir tmp("convert-fused-oss");
  const std::string src = test::fixture("parity/gpt_oss");
  fs::create_directories(tmp.path() / "hf");
  fs::copy_file(src + "/config.json", tmp.path() / "hf/config.json");
  SafetensorsDir dir(src);
  const int64_t E = 8, I = 64, H = 64;
  std::vector<StTensorData> tensors;
  for (const auto& n : dir.names()) {
    if (n.find("_blocks") != std::string::npos || n.find("_scales") != std::string::npos) continue;
    const StTensor& t = dir.get(n);
    tensors.push_back({n, t.dtype, t.shape, std::vector<uint8_t>(t.data, t.data + t.nbytes)});
  }
  // Dequantize the shipped MXFP4 blocks and store them the way transformers' unquantized model holds them.
  auto dequantized = [&](const std::string& name, int64_t rows, int64_t cols) {
    const StTensor& b = dir.get(name + "_blocks");
    const StTensor& s = dir.get(name + "_scales");
    std::vector<float> v(E * rows * cols);
    for (int64_t r = 0; r < E * rows; ++r)
      dequantize_mxfp4_row(b.data + r * cols / 2, s.data + r * cols / 32, cols, v.data() + r * cols);
    return v;  // [E, rows, cols]
  };
  for (int l = 0; l < 4; ++l) {
    const std::string p = fmt::format("model.layers.{}.mlp.experts.", l);
    const auto w1 = dequantized(p + "gate_up_proj", 2 * I, H), w2 = dequantized(p + "down_proj", H, I);
    std::vector<float> gate_up(E * H * 2 * I), down(E * I * H);  // transposed: [E, H, 2I] and [E, I, H]
    for (int64_t e = 0; e < E; ++e) {
      for (int64_t r = 0; r < 2 * I; ++r)
        for (int64_t c = 0; c < H; ++c) gate_up[(e * H + c) * 2 * I + r] = w1[(e * 2 * I + r) * H + c];
      for (int64_t r = 0; r < H; ++r)
        for (int64_t c = 0; c < I; ++c) down[(e * I + c) * H + r] = w2[(e * H + r) * I + c];
    }
    tensors.push_back({p + "gate_up_proj", StDtype::F32, {E, H, 2 * I}, f32_bytes(gate_up)});
    tensors.push_back({p + "down_proj", StDtype::F32, {E, I, H}, f32_bytes(down)});
  }
  write_safetensors((tmp.path() / "hf/model.safetensors").string(), tensors);
  std::string out;
  // Re-quantizing values that are already on an MXFP4 grid reproduces them exactly.
  REQUIRE_MESSAGE(test::run_tachyon("convert --from " + tmp.file("hf") + " --to " + tmp.file("m.h5") + " --experts mxfp4", &out) == 0, out);
  const double err = max_prefill_error(tmp.file("m.h5"), "gpt_oss");
  MESSAGE("unquantized gpt-oss experts: max |logit difference| vs transformers ", err);
  CHECK(err < 2e-4);
}

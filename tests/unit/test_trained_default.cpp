// The embedded default drafts for real. model/default holds the pair that
// `python3 scripts/train/train_default.py --scale full` trained on one GPU (an 8-layer Qwen3-MoE trained
// on Python standard library code, shipped with MXFP4 experts and FP8 dense matrices, and its DFlash
// drafter, trained on the target's own generations; see model/default/README.md). With greedy decoding
// on a few hand-written code prompts:
//   - speculative output equals plain output token for token (with the real drafter and a broken one);
//   - the real drafter's acceptance length is above a floor;
//   - the same drafter with `fc` zeroed (so the target's hidden states carry nothing: a drafter that
//     ignores its context) stays well below that floor.
// The random drafters of test_drafter.cpp check the drafter's arithmetic against the PyTorch reference;
// this test checks that the whole loop (taps, context cache, block layout, verify, acceptance) makes a
// trained drafter useful, which a wrong-but-consistent implementation would not.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "model/hdf5.h"
#include "test_util.h"

using namespace tachyon;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// Measured on model/default (x86-64, GCC 12, Release): 2.83 with the drafter, 1.09 with fc zeroed. The
// floor sits between, with room for other compilers' rounding flipping a few near-tie tokens; a drafter
// that drafts without the target's context (fc zeroed) or random drafts stay near 1.
constexpr double kFloor = 2.0;
constexpr int kMaxTokens = 64;

const char* const kPrompts[] = {
    "import os\nimport sys\n\n\ndef main():\n",
    "class Stack:\n    def __init__(self):\n        self.items = []\n\n    def push(self, item):\n",
    "    def __repr__(self):\n        return ",
    "def read_lines(path):\n    \"\"\"Return the lines of a file.\"\"\"\n",
    "        if not isinstance(value, str):\n            raise TypeError(",
    "    def test_basic(self):\n        self.assertEqual(",
    "for i in range(10):\n",
    "    @property\n    def name(self):\n",
};

struct Outcome {
  double acceptance = 0.0;  // generated tokens / target passes, over all prompts (Tachyon's definition)
  std::vector<std::vector<int32_t>> tokens;
};

Outcome generate(const test::TempDir& tmp, const std::string& target, const std::string& drafter,
                 const std::string& name) {
  const std::string in = tmp.file("prompts.jsonl"), out = tmp.file(name + ".jsonl");
  if (!fs::exists(in)) {
    std::ofstream p(in);
    int id = 0;
    for (const char* prompt : kPrompts)
      p << json{{"id", id++}, {"prompt", prompt}, {"max_tokens", kMaxTokens}, {"temperature", 0}}.dump() << "\n";
  }
  std::string args = "generate --model " + target + " --prompts " + in + " --out " + out + " --max-batch 4";
  if (!drafter.empty()) args += " --drafter " + drafter + " --block-size 8";
  std::string log;
  REQUIRE_MESSAGE(test::run_tachyon(args, &log) == 0, log);
  Outcome o;
  double tokens = 0.0, passes = 0.0;
  std::istringstream lines(test::read_file(out));
  for (std::string line; std::getline(lines, line);) {
    const json r = json::parse(line);
    REQUIRE_MESSAGE(!r.contains("error"), line);
    o.tokens.push_back(r["token_ids"].get<std::vector<int32_t>>());
    const double n = static_cast<double>(o.tokens.back().size());
    tokens += n;
    passes += n / r["metrics"]["accept_len"].get<double>();
  }
  REQUIRE(o.tokens.size() == std::size(kPrompts));
  o.acceptance = tokens / passes;
  return o;
}

// A copy of the default drafter whose fc weight is all zeros (code 0 is +0 in every stored format), so
// that the context features are RMSNorm(0) = 0.
std::string zero_fc_drafter(const test::TempDir& tmp, const std::string& drafter) {
  const std::string copy = tmp.file("drafter_zero_fc.h5");
  fs::copy_file(drafter, copy);
  h5::File file(H5Fopen(copy.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
  REQUIRE(file.valid());
  h5::Dataset data(H5Dopen2(file.id(), "/tensors/fc/data", H5P_DEFAULT));
  REQUIRE(data.valid());
  h5::Datatype type(H5Dget_type(data.id()));
  h5::Dataspace space(H5Dget_space(data.id()));
  const size_t bytes = H5Tget_size(type.id()) * static_cast<size_t>(H5Sget_simple_extent_npoints(space.id()));
  const std::vector<uint8_t> zeros(bytes, 0);
  REQUIRE(H5Dwrite(data.id(), type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, zeros.data()) >= 0);
  return copy;
}

}  // namespace

TEST_CASE("default pair: acceptance length above a floor that a drafter ignoring the target's context cannot reach") {
  test::TempDir tmp("trained-default");
  const std::string target = test::default_model("target.h5"), drafter = test::default_model("drafter.h5");
  const std::string blind = zero_fc_drafter(tmp, drafter);

  const Outcome plain = generate(tmp, target, "", "plain");
  const Outcome good = generate(tmp, target, drafter, "dflash");
  const Outcome broken = generate(tmp, target, blind, "zero-fc");
  MESSAGE("acceptance length: trained drafter ", good.acceptance, ", fc zeroed ", broken.acceptance, " (floor ", kFloor,
          ")");
  CHECK(plain.acceptance == doctest::Approx(1.0));
  CHECK(good.tokens == plain.tokens);    // lossless: greedy speculative output is the plain output
  CHECK(broken.tokens == plain.tokens);  // even with useless drafts
  CHECK(good.acceptance >= kFloor);
  CHECK(broken.acceptance < kFloor);
  CHECK(broken.acceptance < good.acceptance - 1.0);
}

// tachyon convert: a Hugging Face model directory (or a config with random weights, or with --drafter a
// DFlash drafter directory) -> a Tachyon checkpoint (docs/checkpoint-format.md).
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "apps/command.h"
#include "apps/options.h"
#include "model/convert.h"
#include "model/drafter_convert.h"
#include "model/error.h"
#include "model/text_file.h"

namespace tachyon::apps {
namespace {

int run_convert(int argc, char** argv) {
  po::options_description opts("options");
  std::string from, to, random_config, experts, dense, tokenizer, rule;
  uint64_t seed = 0;
  bool drafter = false;
  opts.add_options()
      ("from", po::value(&from), "Hugging Face model directory (config.json, *.safetensors, tokenizer.json)")
      ("to", po::value(&to)->required(), "output checkpoint (.h5)")
      ("drafter", po::bool_switch(&drafter), "--from is a DFlash drafter directory (z-lab layout); writes a drafter checkpoint")
      ("experts", po::value(&experts), "expert format: mxfp4, bf16, f32 or fp8 (default: as shipped: mxfp4 for gpt-oss, else bf16)")
      ("dense", po::value(&dense)->default_value("bf16"), "format of the other matrices: bf16, fp8 (128x128 block scales) or f32")
      ("mxfp4-rule", po::value(&rule)->default_value("floor"), "MXFP4 scale rule when quantizing: floor (OCP) or ceil (no clipping)")
      ("random-config", po::value(&random_config), "instead of --from: a config.json to fill with random weights")
      ("seed", po::value(&seed)->default_value(0), "seed for --random-config")
      ("tokenizer", po::value(&tokenizer), "a tokenizer.json to store (with --random-config)");
  po::variables_map vm;
  if (!parse_options(argc, argv,
                     "usage: tachyon convert --from HF_DIR --to model.h5 [--experts mxfp4|bf16] [--dense bf16|fp8]\n"
                     "       tachyon convert --drafter --from DRAFTER_DIR --to drafter.h5 [--dense bf16|fp8|f32]\n"
                     "       tachyon convert --random-config config.json --seed N --to model.h5",
                     opts, vm))
    return 0;
  TACHYON_REQUIRE(from.empty() != random_config.empty(), "give exactly one of --from and --random-config");
  TACHYON_REQUIRE(!drafter || random_config.empty(), "--drafter converts a directory: give --from, not --random-config");
  ConvertOptions options;
  options.dense = parse_weight_format(dense);
  TACHYON_REQUIRE(options.dense != WeightFormat::MXFP4, "--dense mxfp4 is not supported: MXFP4 is for experts");
  if (!experts.empty()) options.experts = parse_weight_format(experts);
  TACHYON_REQUIRE(rule == "floor" || rule == "ceil", "--mxfp4-rule must be floor or ceil, not '{}'", rule);
  options.mxfp4_rule = rule == "floor" ? Mxfp4ScaleRule::Floor : Mxfp4ScaleRule::Ceil;
  auto progress = [](const std::string& m) { spdlog::info("convert: {}", m); };
  ConvertSummary s;
  if (drafter) {
    s = convert_drafter_directory(from, to, options, progress);
  } else if (!from.empty()) {
    s = convert_hf_directory(from, to, options, progress);
  } else {
    std::optional<std::string> tok;
    if (!tokenizer.empty()) tok = read_text_file(tokenizer);
    s = write_random_checkpoint(read_text_file(random_config), to, seed, options, tok, progress);
  }
  std::cout << fmt::format("wrote {}: {} tensors, {:.2f} MB", to, s.tensors, s.bytes / 1e6);
  for (const auto& [fmt_name, n] : s.by_format) std::cout << fmt::format(", {} {}", n, fmt_name);
  std::cout << "\n";
  for (const auto& name : s.ignored) spdlog::warn("convert: source tensor '{}' was not used", name);
  return 0;
}

}  // namespace
TACHYON_COMMAND("convert", "convert a Hugging Face model (or random weights) to a Tachyon checkpoint", run_convert);
}  // namespace tachyon::apps

// tachyon inspect: what a checkpoint holds: config, tensors with formats and sizes, parameter counts.
#include <iostream>
#include <optional>

#include <fmt/ranges.h>

#include "apps/command.h"
#include "apps/options.h"
#include "model/checkpoint.h"
#include "model/config.h"
#include "model/drafter_config.h"
#include "model/fp8.h"
#include "model/mxfp4.h"

namespace tachyon::apps {
namespace {

// Bytes a tensor occupies in the file (data and scales), from its format and shape.
uint64_t stored_bytes(const TensorInfo& t) {
  const uint64_t cols = t.shape.back();
  const uint64_t rows = t.shape.size() >= 2 ? t.shape[t.shape.size() - 2] : 1;
  const uint64_t experts = t.shape.size() == 3 ? t.shape[0] : 1;
  uint64_t b = weight_data_bytes(t.format, experts * rows, cols);
  if (t.format == WeightFormat::FP8) b += experts * fp8_scale_rows(rows) * fp8_scale_cols(cols) * sizeof(float);
  if (t.format == WeightFormat::MXFP4) b += experts * rows * cols / kMxfp4BlockSize;
  return b;
}

int run_inspect(int argc, char** argv) {
  po::options_description opts("options");
  std::string path;
  bool tensors = false;
  opts.add_options()
      ("model", po::value(&path)->required(), "checkpoint (.h5)")
      ("tensors", po::bool_switch(&tensors), "list every tensor");
  po::positional_options_description pos;
  pos.add("model", 1);
  po::variables_map vm;
  if (!parse_options(argc, argv, "usage: tachyon inspect model.h5 [--tensors]", opts, vm, &pos)) return 0;
  CheckpointReader reader(path);
  // A DFlash drafter's config is a Qwen3 config plus DFlash fields; its layers print like a target's.
  const bool drafter = reader.kind() == "drafter";
  const std::optional<DrafterConfig> d =
      drafter ? std::optional(parse_drafter_config(reader.config_json(), path + ": config.json")) : std::nullopt;
  const ModelConfig c = d ? d->model : parse_model_config(reader.config_json(), path + ": config.json");
  uint64_t bytes = 0;
  std::map<std::string, size_t> formats;
  const auto infos = reader.tensors();
  for (const auto& t : infos) {
    ++formats[std::string(format_name(t.format))];
    bytes += stored_bytes(t);
  }
  std::cout << fmt::format("{}: {} checkpoint, family {}\n", path, reader.kind(), family_name(c.family));
  std::cout << fmt::format("  layers {}, hidden {}, vocab {}, heads {} q / {} kv x {} (v {})\n", c.num_layers,
                           c.hidden_size, c.vocab_size, c.num_q_heads(), c.max_kv_heads(), c.head_dim, c.v_head_dim);
  if (c.has_moe())
    std::cout << fmt::format("  experts {} top-{} x intermediate {}; dense intermediate {}\n", c.num_experts, c.top_k,
                             c.moe_intermediate_size, c.dense_intermediate_size);
  int sliding = 0, moe = 0;
  for (const auto& l : c.layers) {
    sliding += l.sliding;
    moe += l.moe;
  }
  std::cout << fmt::format("  {} MoE layers, {} dense; {} sliding-window layers\n", moe, c.num_layers - moe, sliding);
  if (d) {
    std::cout << fmt::format("  DFlash: block {}, mask token {}, target layers tapped [{}], causal per layer [{}]\n",
                             d->block_size, d->mask_token_id, fmt::join(d->target_layer_ids, ", "), fmt::join(d->causal, ", "));
  } else {
    std::cout << fmt::format("  parameters: {:.4g} total, {:.4g} active per token\n", double(c.total_parameters()),
                             double(c.active_parameters()));
  }
  std::cout << fmt::format("  tokenizer: {}\n", reader.tokenizer_json() ? "stored" : "none");
  std::cout << fmt::format("  tensors: {:.2f} MB in {}", bytes / 1e6, infos.size());
  for (const auto& [f, n] : formats) std::cout << fmt::format(", {} {}", n, f);
  std::cout << "\n";
  if (tensors)
    for (const auto& t : infos)
      std::cout << fmt::format("  {:<40} {:<6} {:>12} B  [{}]\n", t.name, format_name(t.format), stored_bytes(t),
                               fmt::join(t.shape, ", "));
  return 0;
}

}  // namespace
TACHYON_COMMAND("inspect", "show what a Tachyon checkpoint holds", run_inspect);
}  // namespace tachyon::apps

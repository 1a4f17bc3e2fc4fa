// write_random_checkpoint (model/convert.h): a model of the given config with random weights, for the
// demo until a trained default exists, for tests on shapes no fixture has, and for benchmarks.
// Deterministic: every tensor's values depend only on the seed and the tensor's name. Scales keep
// activations of order one (matrices ~ N(0, 1/fan_in), embeddings ~ N(0, 1), norms 1), so that greedy
// choices are not near-ties.
//
// Speed (issue 9's ~130 GB checkpoint on a 128-core machine): the values are made straight into an
// uninitialised array by every core (a zero-filled std::vector was a single-threaded memset of every
// tensor's FP32 copy, 11% of the CPU time on 2 cores and the whole serial part on 128), and each tensor is
// written to the file by one background thread while the next one is made (HDF5 is called from one
// thread at a time: the main thread makes no HDF5 call until it has waited for the previous write).
#include <cmath>
#include <future>
#include <memory>

#include "model/checkpoint.h"
#include "model/config.h"
#include "model/convert.h"
#include "model/error.h"
#include "model/fnv1a.h"
#include "model/parallel_for.h"
#include "model/tensor_names.h"

namespace tachyon {

namespace {

uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Normal(0, std) values from a counter-based generator (Box-Muller), the same on every machine and for
// any number of threads (each pair of values depends on its index alone).
std::unique_ptr<float[]> normal(uint64_t seed, const std::string& name, size_t n, double stddev, double mean = 0.0) {
  std::unique_ptr<float[]> v(new float[n]);  // not value-initialised: every element is written below
  const uint64_t key = mix(seed ^ fnv1a64(name));
  parallel_for(n, size_t(1) << 16, [&](size_t begin, size_t end) {  // even grain: chunks start on a pair
    for (size_t i = begin; i < end; i += 2) {
      const double u1 = (static_cast<double>(mix(key + 2 * i + 1) >> 11) + 0.5) * 0x1.0p-53;
      const double u2 = static_cast<double>(mix(key + 2 * i + 2) >> 11) * 0x1.0p-53;
      const double r = std::sqrt(-2.0 * std::log(u1));
      v[i] = static_cast<float>(mean + stddev * r * std::cos(2 * M_PI * u2));
      if (i + 1 < n) v[i + 1] = static_cast<float>(mean + stddev * r * std::sin(2 * M_PI * u2));
    }
  });
  return v;
}

}  // namespace

ConvertSummary write_random_checkpoint(const std::string& config_json, const std::string& out_path, uint64_t seed,
                                       const ConvertOptions& options, const std::optional<std::string>& tokenizer_json,
                                       const ConvertProgress& progress) {
  const ModelConfig c = parse_model_config(config_json, "random model config");
  const WeightFormat dense = options.dense;
  const WeightFormat small = dense == WeightFormat::F32 ? WeightFormat::F32 : WeightFormat::BF16;
  const WeightFormat experts = options.experts.value_or(WeightFormat::MXFP4);
  ConvertSummary summary;
  CheckpointWriter writer(out_path, "target", config_json, tokenizer_json);
  std::future<void> writing;  // the previous tensor's write, on its own thread
  auto put = [&](const std::string& name, std::vector<int64_t> shape, WeightFormat f, double stddev, double mean = 0.0) {
    size_t n = 1;
    for (int64_t d : shape) n *= static_cast<size_t>(d);
    auto w = std::make_shared<HostWeight>(make_host_weight(normal(seed, name, n, stddev, mean).get(), std::move(shape), f));
    ++summary.tensors;
    ++summary.by_format[std::string(format_name(f))];
    summary.bytes += w->data.size() + w->scales.size();
    if (writing.valid()) writing.get();  // rethrows the write's error, if any
    writing = std::async(std::launch::async, [&writer, name, w] { writer.write(name, *w); });
  };
  const int64_t V = c.vocab_size, H = c.hidden_size, D = c.head_dim, Dv = c.v_head_dim, E = c.num_experts;
  const int64_t Im = c.moe_intermediate_size, Id = c.dense_intermediate_size;
  const double inv_h = 1.0 / std::sqrt(static_cast<double>(H));
  put(names::kEmbed, {V, H}, small, 1.0);
  if (!c.tie_word_embeddings) put(names::kLmHead, {V, H}, dense, inv_h);
  put(names::kFinalNorm, {H}, WeightFormat::F32, 0.05, 1.0);
  for (int l = 0; l < c.num_layers; ++l) {
    const LayerConfig& lc = c.layers[l];
    const int64_t q = lc.num_q_heads * D, k = lc.num_kv_heads * D, v = lc.num_kv_heads * Dv, o_in = lc.num_q_heads * Dv;
    auto n = [l](const char* what) { return names::layer(l, what); };
    put(n("attn_norm"), {H}, WeightFormat::F32, 0.05, 1.0);
    put(n("mlp_norm"), {H}, WeightFormat::F32, 0.05, 1.0);
    put(n("attn.q"), {q, H}, dense, inv_h);
    put(n("attn.k"), {k, H}, dense, inv_h);
    put(n("attn.v"), {v, H}, dense, inv_h);
    put(n("attn.o"), {H, o_in}, dense, 1.0 / std::sqrt(static_cast<double>(o_in)));
    if (c.attention_bias) {
      put(n("attn.q_bias"), {q}, WeightFormat::F32, 0.1);
      put(n("attn.k_bias"), {k}, WeightFormat::F32, 0.1);
      put(n("attn.v_bias"), {v}, WeightFormat::F32, 0.1);
      put(n("attn.o_bias"), {H}, WeightFormat::F32, 0.1);
    }
    if (c.qk_norm) {
      put(n("attn.q_norm"), {D}, WeightFormat::F32, 0.05, 1.0);
      put(n("attn.k_norm"), {D}, WeightFormat::F32, 0.05, 1.0);
    }
    if (lc.sinks) put(n("attn.sinks"), {lc.num_q_heads}, WeightFormat::F32, 1.0);
    if (!lc.moe) {
      put(n("mlp.gate"), {Id, H}, dense, inv_h);
      put(n("mlp.up"), {Id, H}, dense, inv_h);
      put(n("mlp.down"), {H, Id}, dense, 1.0 / std::sqrt(static_cast<double>(Id)));
    } else {
      TACHYON_REQUIRE(experts != WeightFormat::MXFP4 || (H % 32 == 0 && Im % 32 == 0),
                      "mxfp4 experts need hidden ({}) and moe_intermediate_size ({}) to be multiples of 32", H, Im);
      put(n("moe.router"), {E, H}, small, inv_h);
      if (c.router_bias) put(n("moe.router_bias"), {E}, WeightFormat::F32, 0.1);
      if (c.router_correction_bias) put(n("moe.correction_bias"), {E}, WeightFormat::F32, 0.1);
      put(n("moe.gate"), {E, Im, H}, experts, inv_h);
      put(n("moe.up"), {E, Im, H}, experts, inv_h);
      put(n("moe.down"), {E, H, Im}, experts, 1.0 / std::sqrt(static_cast<double>(Im)));
      if (c.expert_bias) {
        put(n("moe.gate_bias"), {E, Im}, WeightFormat::F32, 0.1);
        put(n("moe.up_bias"), {E, Im}, WeightFormat::F32, 0.1);
        put(n("moe.down_bias"), {E, H}, WeightFormat::F32, 0.1);
      }
    }
    if (progress) progress(fmt::format("layer {}/{}", l + 1, c.num_layers));
  }
  if (writing.valid()) writing.get();
  writer.close();
  return summary;
}

}  // namespace tachyon

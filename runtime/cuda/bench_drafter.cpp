#include "runtime/cuda/bench_drafter.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "kernels/cuda/bench.h"
#include "kernels/cuda/random_fill.h"
#include "model/median.h"
#include "runtime/bench_report.h"
#include "runtime/cuda/cuda_drafter.h"

namespace tachyon {

namespace {

constexpr int kLayers = 5, kHidden = 4096, kHeads = 64, kKvHeads = 8, kHeadDim = 128, kFfn = 16384, kTaps = 5;
constexpr int kVocab = 152064, kBlock = 8, kContext = 1024, kMaxBatch = 8;
constexpr const char* kModel = "MiMo-V2.5 drafter size";

// z-lab's config.json layout (tests/fixtures/dflash/base/drafter/config.json) at the benchmark's shape.
DrafterConfig bench_config() {
  nlohmann::json j = {{"architectures", {"DFlashDraftModel"}},
                      {"model_type", "qwen3"},
                      {"hidden_size", kHidden},
                      {"intermediate_size", kFfn},
                      {"num_hidden_layers", kLayers},
                      {"num_attention_heads", kHeads},
                      {"num_key_value_heads", kKvHeads},
                      {"head_dim", kHeadDim},
                      {"hidden_act", "silu"},
                      {"rms_norm_eps", 1e-6},
                      {"rope_theta", 1000000},
                      {"max_position_embeddings", 65536},
                      {"vocab_size", kVocab},
                      {"tie_word_embeddings", false},
                      {"attention_bias", false},
                      {"num_target_layers", 48},
                      {"dtype", "bfloat16"},
                      {"block_size", kBlock},
                      {"dflash_config", {{"mask_token_id", kVocab - 1}, {"target_layer_ids", {0, 11, 23, 35, 47}}}},
                      {"layer_types", std::vector<std::string>(kLayers, "full_attention")},
                      {"sliding_window", nullptr}};
  return parse_drafter_config(j, "bench drafter config");
}

cuda::DeviceWeight random_matrix(int64_t rows, int64_t cols, uint32_t seed, cudaStream_t s) {
  cuda::DeviceWeight w(WeightFormat::BF16, {rows, cols});
  cuda::fill_random_weight(WeightFormat::BF16, w.data().get(), w.data().bytes(), nullptr, 0, 0.0f,
                           1.0f / std::sqrt(static_cast<float>(cols)), seed, s);
  return w;
}

cuda::DeviceWeight ones(int64_t n) {
  const std::vector<float> v(n, 1.0f);
  return cuda::DeviceWeight(make_host_weight(v.data(), {n}, WeightFormat::F32));
}

DeviceDrafterWeights random_weights(cudaStream_t s) {
  const int64_t H = kHidden, q = kHeads * kHeadDim, kv = kKvHeads * kHeadDim;
  uint32_t seed = 1;
  DeviceDrafterWeights w;
  w.fc = random_matrix(H, kTaps * H, seed++, s);
  w.hidden_norm = ones(H);
  w.final_norm = ones(H);
  for (int l = 0; l < kLayers; ++l) {
    DrafterLayerWeightsT<cuda::DeviceWeight> lw;
    lw.attn_norm = ones(H);
    lw.mlp_norm = ones(H);
    lw.attn.q = random_matrix(q, H, seed++, s);
    lw.attn.k = random_matrix(kv, H, seed++, s);
    lw.attn.v = random_matrix(kv, H, seed++, s);
    lw.attn.o = random_matrix(H, q, seed++, s);
    lw.attn.q_norm = ones(kHeadDim);
    lw.attn.k_norm = ones(kHeadDim);
    lw.mlp.gate = random_matrix(kFfn, H, seed++, s);
    lw.mlp.up = random_matrix(kFfn, H, seed++, s);
    lw.mlp.down = random_matrix(H, kFfn, seed++, s);
    w.layers.push_back(std::move(lw));
  }
  w.embed = random_matrix(kVocab, H, seed++, s);
  w.lm_head = random_matrix(kVocab, H, seed++, s);
  w.mask_embedding = ones(H);
  CUDA_CHECK(cudaStreamSynchronize(s));
  return w;
}

}  // namespace

std::vector<cuda::KernelTiming> bench_drafter() {
  cuda::Stream fill;
  CudaDrafterOptions o;
  o.num_slots = kMaxBatch;
  o.capacity = kContext + kMaxDraftBlock;
  o.return_logits = false;  // as in generate
  CudaDrafter d(bench_config(), random_weights(fill.get()), o);

  // 1024 positions of context in every slot (the taps' values do not change the timing).
  const size_t row = static_cast<size_t>(kTaps) * kHidden;
  std::vector<float> taps(kContext * row);
  for (size_t i = 0; i < taps.size(); ++i) taps[i] = static_cast<float>((i * 2654435761u) % 2001) / 1000.0f - 1.0f;
  for (int slot = 0; slot < kMaxBatch; ++slot) d.add_context({{slot, 0, kContext, taps.data()}});

  // Bytes every draft reads regardless of the batch, and per sequence (its context's K/V, its block's
  // K/V written and read).
  const double layer_weights = 2.0 * kHidden * (2.0 * kHeads * kHeadDim + 2.0 * kKvHeads * kHeadDim + 3.0 * kFfn);
  const double draft_weights = kLayers * layer_weights + 2.0 * kVocab * kHidden;
  const double kv_row = kLayers * 2.0 * kKvHeads * kHeadDim * 2.0;  // k and v, BF16, every layer
  const double per_seq = (kContext + kBlock) * kv_row + kBlock * kv_row;
  const double context_weights = 2.0 * kHidden * kTaps * kHidden + kLayers * 2.0 * kHidden * 2.0 * kKvHeads * kHeadDim;

  std::vector<cuda::KernelTiming> rows;
  for (int batch : {1, 2, 4, 8}) {
    std::vector<DraftRequest> reqs;
    for (int s = 0; s < batch; ++s) reqs.push_back({s, 1000 + s, kContext, kBlock});
    d.draft(reqs);  // runs directly; the first warm-up of the replays below captures the graph of this shape
    const std::string shape = fmt::format("{} layers H={} heads {}/{}x{} FFN {} V={}, block {}, context {}, batch {}",
                                          kLayers, kHidden, kHeads, kKvHeads, kHeadDim, kFfn, kVocab, kBlock, kContext, batch);
    const double replay_us = cuda::median_time_us([&](cudaStream_t) { d.enqueue_last_draft(); }, d.stream(), 5, 100);
    rows.push_back({"drafter draft (graph replay)", kModel, shape, draft_weights + batch * per_seq, replay_us});

    std::vector<double> call_us;
    for (int i = 0; i < 50; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      d.draft(reqs);
      call_us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
    rows.push_back({"drafter draft() call (host, tokens back)", kModel, shape, draft_weights + batch * per_seq,
                    median(call_us)});

    // One round's context: B rows per sequence, appended after the context, then rolled back.
    std::vector<DraftContext> chunks;
    for (int s = 0; s < batch; ++s) chunks.push_back({s, kContext, kBlock, taps.data()});
    std::vector<double> ctx_us;
    for (int i = 0; i < 30; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      d.add_context(chunks);
      CUDA_CHECK(cudaStreamSynchronize(d.stream()));  // add_context does not wait for its work
      ctx_us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
      for (int s = 0; s < batch; ++s) d.rollback(s, kContext);
    }
    rows.push_back({"drafter add_context (host, B rows a sequence)", kModel,
                    fmt::format("fc {}x{} + {} layers' k/v, {} rows, batch {}", kHidden, kTaps * kHidden, kLayers, kBlock, batch),
                    context_weights + batch * kBlock * (row * 4.0 + kv_row), median(ctx_us)});
  }
  return rows;
}

}  // namespace tachyon

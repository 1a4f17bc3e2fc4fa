// Benchmark rows for the dense linear kernel: BF16 and FP8 weights at the per-GPU dense shapes of 8-GPU
// tensor-parallel deployments (q_proj slice, o_proj slice, LM-head vocabulary slice) of MiMo-V2.5-Pro,
// Qwen3-235B-A22B and gpt-oss-120b, for m = 1 and 2 (decode), 8 and 9 (verify blocks), 64 and 72 rows (72: a verify
// step of 8 sequences) (one and two rows on both paths, the row stream and the K-split clusters, linear_stream.h); the
// DFlash drafter's matrices (BF16, whole) at its block's rows; the routers (FP32 activations).
// Weights are random but valid values (no NaN codes; timing does not depend on the values, but zeros
// could hide work), with enough copies of each matrix that the set is well over the L2 size: every
// timed launch streams its weight from HBM, as in a real step. Each sample times all copies back to back
// in one CUDA graph and divides (graph launch gaps, as in a captured step; no host launch overhead).
#include <cuda_bf16.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "kernels/cuda/bench.h"
#include "kernels/cuda/random_fill.h"
#include "kernels/cuda/bench_random.cuh"
#include "kernels/cuda/device_buffer.h"
#include "kernels/cuda/linear.h"
#include "kernels/cuda/linear_stream.h"
#include "model/fp8.h"

namespace tachyon::cuda {

namespace {

// A weight matrix of the given format with `copies` independent copies in device memory.
struct WeightSet {
  std::vector<DeviceBuffer<uint8_t>> data, scales;
  std::vector<DeviceMatrix> views;
  double bytes = 0;  // one copy: data + scales
};

WeightSet make_weights(WeightFormat f, int rows, int cols, cudaStream_t stream) {
  WeightSet s;
  const size_t data_bytes = static_cast<size_t>(rows) * cols * (f == WeightFormat::BF16 ? 2 : 1);
  const size_t grid_cols = fp8_scale_cols(cols), grid_rows = fp8_scale_rows(rows);
  const size_t scale_bytes = f == WeightFormat::FP8 ? grid_rows * grid_cols * sizeof(float) : 0;
  s.bytes = static_cast<double>(data_bytes + scale_bytes);
  // At least 512 MB in all (L2 is 50-60 MB), at least 2 copies.
  const int copies = static_cast<int>(std::clamp<size_t>((size_t(512) << 20) / (data_bytes + scale_bytes) + 1, 2, 96));
  for (int c = 0; c < copies; ++c) {
    s.data.emplace_back(data_bytes);
    if (f == WeightFormat::FP8) s.scales.emplace_back(scale_bytes);
    fill_random_weight(f, s.data.back().get(), data_bytes, f == WeightFormat::FP8 ? s.scales.back().get() : nullptr,
                       scale_bytes, 0.0f, 1.0f / std::sqrt(static_cast<float>(cols)), 1000 + c, stream);
    DeviceMatrix m;
    m.format = f;
    m.rows = rows;
    m.cols = cols;
    m.data = s.data.back().get();
    m.data_row_stride = static_cast<size_t>(cols) * (f == WeightFormat::BF16 ? 2 : 1);
    if (f == WeightFormat::FP8) {
      m.scales = s.scales.back().get();
      m.scale_row_stride = grid_cols * sizeof(float);
    }
    s.views.push_back(m);
  }
  return s;
}

// A plan's cost-model inputs as key=value words (LinearPlanTerms), for a refit of the model's constants.
std::string plan_terms_text(const LinearPlanTerms& t) {
  char buf[512];
  std::snprintf(buf, sizeof(buf),
                "ran (%d, %d, %d) groups=%d ctas=%ld waves=%ld per_sm=%d mma=%d decode=%d wbytes=%.0f cta_bytes=%.0f "
                "in_flight=%.0f cta_elems=%.0f x_bytes=%.0f red_bytes=%.0f model_us=%.2f",
                t.plan.splits, t.plan.tiles_per_warp, t.plan.tile_rows, t.plan.token_groups, t.ctas, t.waves, t.ctas_per_sm,
                t.mma ? 1 : 0, t.decode_bound ? 1 : 0, t.weight_bytes, t.cta_bytes, t.cta_in_flight, t.cta_elems, t.x_bytes,
                t.red_bytes, t.model_us);
  return buf;
}

}  // namespace

std::vector<KernelTiming> bench_linear_kernels(cudaStream_t stream) {
  struct Shape {
    const char* model;
    const char* name;
    int rows, cols;
  };
  // Per-GPU slices under 8-way tensor parallelism.
  const Shape shapes[] = {
      {"MiMo-V2.5-Pro", "q_proj", 16 * 192, 6144},     {"MiMo-V2.5-Pro", "o_proj", 6144, 16 * 128},
      {"MiMo-V2.5-Pro", "lm_head", 152576 / 8, 6144},  {"Qwen3-235B-A22B", "q_proj", 8 * 128, 4096},
      {"Qwen3-235B-A22B", "o_proj", 4096, 8 * 128},    {"Qwen3-235B-A22B", "lm_head", 151936 / 8, 4096},
      {"gpt-oss-120b", "q_proj", 8 * 64, 2880},        {"gpt-oss-120b", "o_proj", 2880, 8 * 64},
      {"gpt-oss-120b", "lm_head", 201088 / 8, 2880},
  };
  constexpr int kMaxM = 72;
  const char* sweep_env = std::getenv("TACHYON_BENCH_LINEAR_PLANS");
  // Tuning aid: TACHYON_BENCH_LINEAR_PLANS=1 times every row under every plan too; =drafter only the drafter's.
  const bool sweep_plans = sweep_env && sweep_env[0] == '1';
  const bool sweep_drafter = sweep_plans || (sweep_env && std::string(sweep_env) == "drafter");
  const char* profile_env = std::getenv("TACHYON_BENCH_PROFILE");
  const bool profile = profile_env && profile_env[0] == '1';
  std::vector<KernelTiming> out;
  // At one or two rows, row t's matrix once more on the path t did not take (linear_stream.h: the row stream or the
  // K-split clusters), in the same run; head is t's shape without its path, clusters the clusters' plan (or "").
  auto add_other_path = [&](const KernelTiming& t, const float* x, int m, const DeviceMatrix& w, const std::string& head,
                            const std::string& clusters, const std::function<double()>& time) {
    if (!linear_stream_applies(x, m, w)) return;
    const bool streamed = linear_stream_chosen(x, m, w), enabled = linear_stream_enabled();
    set_linear_stream(!streamed);
    KernelTiming other = t;
    other.kernel += streamed ? " (clusters)" : " (row stream)";
    other.shape = head + (streamed ? clusters : " (row stream)");
    other.median_us = time();
    set_linear_stream(enabled);
    out.push_back(other);
  };
  // One row: w's copies at m rows of x under the cost model's plan; with `sweep`, one more row under every
  // (splits, tiles a warp) plan.
  auto add_rows = [&](const Shape& sh, WeightFormat f, const WeightSet& ws, const float* x, float* y, int m, bool sweep) {
    auto time_plan = [&](const LinearPlan& plan) {
      return graph_time_us(stream, static_cast<int>(ws.views.size()), [&](cudaStream_t s) {
        for (const DeviceMatrix& w : ws.views) linear(x, m, w, y, {}, plan, s);
      });
    };
    const LinearPlan plan = linear_plan(m, ws.views[0]);
    const bool streamed = linear_stream_chosen(x, m, ws.views[0]);
    KernelTiming t;
    t.kernel = std::string("linear ") + (f == WeightFormat::BF16 ? "bf16" : "fp8");
    t.model = sh.model;
    const std::string head = std::string(sh.name) + " [" + std::to_string(sh.rows) + ", " + std::to_string(sh.cols) + "] m=" +
                             std::to_string(m);
    const std::string clusters = " (splits " + std::to_string(plan.splits) + ", tiles/warp " + std::to_string(plan.tiles_per_warp) +
                                 (plan.token_groups > 1 ? ", token groups " + std::to_string(plan.token_groups) : "") + ")";
    t.shape = head + (streamed ? " (row stream)" : clusters);
    t.bytes = ws.bytes + 4.0 * m * (sh.cols + sh.rows);
    t.median_us = time_plan({});
    // The last copy's output (every copy writes y): the same bits for the same build whatever the timing.
    if (bench_digest_enabled()) t.shape += " digest " + output_digest(y, sizeof(float) * m * sh.rows, stream);
    if (sweep && !streamed) t.shape += " " + plan_terms_text(linear_plan_terms(m, ws.views[0], {}));
    out.push_back(t);
    add_other_path(t, x, m, ws.views[0], head, clusters, [&] { return time_plan({}); });
    if (!sweep) return;
    for (int splits : {1, 2, 4, 8})
      for (int tpw : {1, 2, 4}) {
        KernelTiming ft = t;
        ft.kernel += " forced";
        // The plan that ran: one that does not fit in shared memory falls back to the cheapest.
        const LinearPlanTerms ran = linear_plan_terms(m, ws.views[0], {splits, tpw});
        ft.shape = std::string(sh.name) + " m=" + std::to_string(m) + " plan (" + std::to_string(splits) + ", " +
                   std::to_string(tpw) + ") " + plan_terms_text(ran);
        ft.median_us = time_plan({splits, tpw});
        out.push_back(ft);
      }
  };
  for (const Shape& sh : shapes) {
    if (profile && sh.rows != 152576 / 8) continue;
    DeviceBuffer<float> x(static_cast<size_t>(kMaxM) * sh.cols), y(static_cast<size_t>(kMaxM) * sh.rows);
    fill_random_weight(WeightFormat::F32, reinterpret_cast<uint8_t*>(x.get()), x.bytes(), nullptr, 0, 0.0f, 0.5f, 77, stream);
    for (WeightFormat f : {WeightFormat::BF16, WeightFormat::FP8}) {
      WeightSet ws = make_weights(f, sh.rows, sh.cols, stream);
      // 2: two sequences; 8: a step of a block of 8 or of 8 sequences (one n-tile); 72: 8 sequences x 9. A plan sweep
      // also takes the row counts of 2-4 sequences' blocks of 8 or 9 (the cost model's fit covers them).
      const std::vector<int> ms = sweep_plans ? std::vector<int>{1, 2, 8, 9, 16, 18, 24, 27, 32, 36, 64, 72}
                                              : std::vector<int>{1, 2, 8, 9, 64, 72};
      for (int m : ms) {
        if (profile) {  // one launch each, for a profiler (TACHYON_BENCH_PROFILE=1)
          if (m >= 64 || sh.rows != 152576 / 8) continue;
          linear(x.get(), m, ws.views[0], y.get(), {}, stream);
          CUDA_CHECK(cudaStreamSynchronize(stream));
          continue;
        }
        add_rows(sh, f, ws, x.get(), y.get(), m, sweep_plans);
      }
    }
  }
  // The DFlash drafter at the MiMo-V2.5 drafter's size (runtime/cuda/bench_drafter.cpp: hidden 4096, 64 / 8
  // heads of 128, FFN 16384, the target's 152,064-row LM head), BF16 and whole on rank 0, as its forward
  // launches them: q/k/v and gate/up grouped (one launch over the stacked rows), at the rows of a block of 8
  // for 1, 2 and 8 sequences (the LM head takes the block's 7 drafted rows a sequence).
  const Shape drafter[] = {{"MiMo-V2.5 drafter", "qkv", 8192 + 2 * 1024, 4096}, {"MiMo-V2.5 drafter", "o_proj", 4096, 8192},
                           {"MiMo-V2.5 drafter", "gate_up", 2 * 16384, 4096}, {"MiMo-V2.5 drafter", "down", 4096, 16384},
                           {"MiMo-V2.5 drafter", "lm_head", 152064, 4096}};
  for (const Shape& sh : profile ? std::span<const Shape>() : std::span<const Shape>(drafter)) {
    const bool head = std::string(sh.name) == "lm_head";
    DeviceBuffer<float> x(static_cast<size_t>(kMaxM) * sh.cols), y(static_cast<size_t>(kMaxM) * sh.rows);
    fill_random_weight(WeightFormat::F32, reinterpret_cast<uint8_t*>(x.get()), x.bytes(), nullptr, 0, 0.0f, 0.5f, 79, stream);
    WeightSet ws = make_weights(WeightFormat::BF16, sh.rows, sh.cols, stream);
    for (int seqs : {1, 2, 8}) add_rows(sh, WeightFormat::BF16, ws, x.get(), y.get(), (head ? 7 : 8) * seqs, sweep_drafter);
  }
  // Routers: BF16 weights against FP32 activations, as the step runs them (a BF16-rounded input could flip
  // the top-k): linear_split_x at 3-128 rows, the FMA path otherwise. Whole on every GPU.
  const Shape routers[] = {{"MiMo-V2.5-Pro", "router", 384, 6144}, {"Qwen3-235B-A22B", "router", 128, 4096},
                           {"gpt-oss-120b", "router", 128, 2880}};
  for (const Shape& sh : profile ? std::span<const Shape>() : std::span<const Shape>(routers)) {
    DeviceBuffer<float> x(static_cast<size_t>(kMaxM) * sh.cols), y(static_cast<size_t>(kMaxM) * sh.rows);
    fill_random_weight(WeightFormat::F32, reinterpret_cast<uint8_t*>(x.get()), x.bytes(), nullptr, 0, 0.0f, 0.5f, 78, stream);
    WeightSet ws = make_weights(WeightFormat::BF16, sh.rows, sh.cols, stream);
    for (int m : {1, 2, 8, 9, 16, 64, 72}) {  // 8: the step's router at a block of 8 or at 8 sequences; 72: 8 x 9
      auto time_router = [&] {
        return graph_time_us(stream, static_cast<int>(ws.views.size()), [&](cudaStream_t s) {
          for (const DeviceMatrix& w : ws.views) linear(x.get(), m, w, y.get(), {nullptr, false, true}, s);
        });
      };
      const double us = time_router();
      KernelTiming t;
      t.kernel = "linear bf16, fp32 x";
      t.model = sh.model;
      const std::string head =
          std::string(sh.name) + " [" + std::to_string(sh.rows) + ", " + std::to_string(sh.cols) + "] m=" + std::to_string(m);
      t.shape = head + (linear_stream_chosen(x.get(), m, ws.views[0]) ? " (row stream)" : "");
      t.bytes = ws.bytes + 4.0 * m * (sh.cols + sh.rows);
      t.median_us = us;
      out.push_back(t);
      add_other_path(t, x.get(), m, ws.views[0], head, "", time_router);
    }
  }
  return out;
}

}  // namespace tachyon::cuda

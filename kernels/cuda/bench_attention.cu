// Benchmark rows for attention over the BF16 KV cache: 4k contexts, batches of 1, 8 and 32 sequences,
// decode (1 query) and 9-query verify blocks, with the per-GPU heads of 8-GPU deployments: MiMo-V2.5-Pro
// (16 query heads on 1 KV head, dims 192/128; sliding-window layers: window 128 with sinks; global
// layers: full), Qwen3-235B-A22B (8 on 1, 128) and gpt-oss-120b (8 on 1, 64, sinks; its full layers).
// The cache is random BF16 and holds enough slots that the sets of sequences the timed launches rotate
// over are well beyond L2, so every launch reads its KV from HBM. Bytes = the visible keys' K and V once
// per (sequence, KV head) + q + out. Each sample replays a CUDA graph of one launch per slot set, each
// launched as the step launches it (an AttentionWorkspace, prefetch_old_keys); the shape names the split.
#include <cuda_bf16.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "kernels/cuda/attention.h"
#include "kernels/cuda/bench.h"
#include "kernels/cuda/bench_random.cuh"
#include "kernels/cuda/device_buffer.h"

namespace tachyon::cuda {

namespace {

// BF16 values in [-2, 2) (kind 0) or FP32 values in [-1, 1) (kind 1).
__global__ void fill_kernel(void* p, size_t n, int kind, uint32_t seed) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n; i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    const float u = static_cast<float>(bench_hash32(i, seed) >> 8) * (1.0f / 16777216.0f) * 2.0f - 1.0f;
    if (kind == 0) static_cast<__nv_bfloat16*>(p)[i] = __float2bfloat16_rn(2.0f * u);
    else static_cast<float*>(p)[i] = u;
  }
}

void fill(void* p, size_t n, int kind, uint32_t seed, cudaStream_t stream) {
  const int blocks = static_cast<int>(std::min<size_t>((n + 255) / 256, 8192));
  fill_kernel<<<blocks, 256, 0, stream>>>(p, n, kind, seed);
  CUDA_CHECK_LAUNCH();
}

// ", split C x N": N clusters of C CTAs per (sequence, KV head, row block).
std::string split_label(const AttentionSplit& sp) {
  return ", split " + std::to_string(sp.cluster) + "x" + std::to_string(sp.clusters);
}

}  // namespace

std::vector<KernelTiming> bench_attention_kernels(cudaStream_t stream) {
  struct Config {
    const char* model;
    const char* layer;
    int q_heads, head_dim, v_head_dim, window;
    bool sinks;
  };
  const Config configs[] = {
      {"MiMo-V2.5-Pro", "SWA layer (window 128, sinks)", 16, 192, 128, 128, true},
      {"MiMo-V2.5-Pro", "global layer", 16, 192, 128, 0, false},
      {"Qwen3-235B-A22B", "layer", 8, 128, 128, 0, false},
      {"gpt-oss-120b", "full layer (sinks)", 8, 64, 64, 0, true},
  };
  constexpr int kContext = 4096;
  const char* profile_env = std::getenv("TACHYON_BENCH_PROFILE");
  const bool profile = profile_env && profile_env[0] == '1';
  std::vector<KernelTiming> out;
  AttentionWorkspace workspace;  // as the step uses: small batches split their keys over several clusters
  for (const Config& cf : configs) {
    const size_t key_bytes = static_cast<size_t>(cf.head_dim + cf.v_head_dim) * 2;  // K + V, one KV head
    for (int batch : {1, 8, 32}) {
      // Rotations: enough distinct slot sets that a full pass covers >= 512 MB of cache.
      const size_t slot_bytes = static_cast<size_t>(kContext) * key_bytes;
      const int rotations = static_cast<int>(std::clamp<size_t>((size_t(512) << 20) / (slot_bytes * batch) + 1, 2, 128));
      const int slots = rotations * batch;
      DeviceBuffer<__nv_bfloat16> kc(static_cast<size_t>(slots) * kContext * cf.head_dim),
          vc(static_cast<size_t>(slots) * kContext * cf.v_head_dim);
      fill(kc.get(), kc.size(), 0, 1, stream);
      fill(vc.get(), vc.size(), 0, 2, stream);
      KvCacheView cache{kc.get(), vc.get(), kContext, 1, cf.head_dim, cf.v_head_dim};
      std::vector<int32_t> head_map(cf.q_heads, 0);
      auto dmap = DeviceBuffer<int32_t>::from(head_map);
      std::vector<float> sink_values(cf.q_heads, 0.5f);
      auto dsinks = DeviceBuffer<float>::from(sink_values);
      for (int count : {1, 9}) {
        const int m = batch * count;
        DeviceBuffer<float> q(static_cast<size_t>(m) * cf.q_heads * cf.head_dim), o(static_cast<size_t>(m) * cf.q_heads * cf.v_head_dim);
        fill(q.get(), q.size(), 1, 3, stream);
        std::vector<int32_t> start(batch, kContext - count), cnt(batch, count), first(batch);
        for (int s = 0; s < batch; ++s) first[s] = s * count;
        auto dstart = DeviceBuffer<int32_t>::from(start), dcount = DeviceBuffer<int32_t>::from(cnt),
             dfirst = DeviceBuffer<int32_t>::from(first);
        std::vector<DeviceBuffer<int32_t>> slot_sets;
        for (int r = 0; r < rotations; ++r) {
          std::vector<int32_t> sl(batch);
          for (int s = 0; s < batch; ++s) sl[s] = r * batch + s;
          slot_sets.push_back(DeviceBuffer<int32_t>::from(sl));
        }
        AttentionParams p;
        p.workspace = &workspace;
        p.num_q_heads = cf.q_heads;
        p.kv_head_of = dmap.get();
        p.scale = 1.0f / 16.0f;
        p.window = cf.window;
        p.sinks = cf.sinks ? dsinks.get() : nullptr;
        // As the step calls it: every key before the block was written long before this launch, so
        // the kernel streams those keys before it waits for the launch before it.
        p.prefetch_old_keys = true;
        auto enqueue = [&](cudaStream_t s) {
          for (int r = 0; r < rotations; ++r) {
            AttentionBatch b{slot_sets[r].get(), dstart.get(), dcount.get(), dfirst.get(), batch, count};
            attention(q.get(), b, cache, p, o.get(), s);
          }
        };
        if (profile) {  // one launch, for a profiler (TACHYON_BENCH_PROFILE=1)
          if (!((cf.window == 0 && cf.head_dim == 192 && batch == 32 && count == 1) ||
                (cf.head_dim == 128 && batch == 8 && count == 9) || (cf.head_dim == 128 && batch == 32 && count == 1)))
            continue;
          AttentionBatch b{slot_sets[0].get(), dstart.get(), dcount.get(), dfirst.get(), batch, count};
          attention(q.get(), b, cache, p, o.get(), stream);
          CUDA_CHECK(cudaStreamSynchronize(stream));
          continue;
        }
        const double us = graph_time_us(stream, rotations, enqueue);
        const int keys = cf.window > 0 ? std::min(kContext, cf.window + count - 1) : kContext;
        KernelTiming t;
        t.kernel = count == 1 ? "attention decode" : "attention verify-9";
        t.model = cf.model;
        t.shape = std::string(cf.layer) + ", " + std::to_string(cf.q_heads) + " q / 1 kv heads, dims " +
                  std::to_string(cf.head_dim) + "/" + std::to_string(cf.v_head_dim) + ", ctx 4096, batch " +
                  std::to_string(batch) + split_label(attention_split({slot_sets[0].get(), dstart.get(), dcount.get(), dfirst.get(), batch, count}, cache, p));
        t.bytes = static_cast<double>(batch) * keys * key_bytes + 4.0 * m * cf.q_heads * (cf.head_dim + cf.v_head_dim);
        t.median_us = us;
        // The last rotation's output: the same bits for the same build whatever the timing.
        if (bench_digest_enabled()) t.shape += " digest " + output_digest(o.get(), o.bytes(), stream);
        out.push_back(t);
      }
    }
  }
  return out;
}

}  // namespace tachyon::cuda

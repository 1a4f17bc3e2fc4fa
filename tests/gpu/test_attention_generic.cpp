// The generic attention kernel (head dims the tuned kernel is not built for) against kernels/cpu/attention,
// fed the same BF16-rounded K/V so that only FP32 summation order differs.
#include <doctest/doctest.h>

#include <cuda_bf16.h>

#include <cmath>

#include "gpu_test_util.h"
#include "kernels/cpu/attention.h"
#include "kernels/cuda/attention.h"
#include "model/bf16.h"

using namespace tachyon;
using cuda::DeviceBuffer;

TEST_CASE("gpu generic attention equals the CPU reference (head dims 16-80, GQA, windows, sinks, verify blocks, "
          "causal and non-causal)") {
  struct Case { int d, dv, hq, hkv, window; bool sinks; };
  for (bool causal : {true, false})
  for (const Case& k : {Case{16, 16, 4, 2, 0, false}, Case{16, 16, 4, 2, 6, true}, Case{32, 32, 8, 2, 0, true},
                        Case{48, 80, 6, 3, 10, false}, Case{80, 48, 2, 1, 0, false}}) {
    const int slots = 3, capacity = 64;
    const std::vector<int32_t> slot = {2, 0, 1}, start = {0, 17, 40}, count = {5, 1, 16};
    std::vector<int32_t> first_row = {0, 5, 6};
    const int rows = 22;
    auto q = test::random_floats(static_cast<size_t>(rows) * k.hq * k.d, 1);
    auto kc = test::random_floats(static_cast<size_t>(slots) * capacity * k.hkv * k.d, 2);
    auto vc = test::random_floats(static_cast<size_t>(slots) * capacity * k.hkv * k.dv, 3);
    std::vector<__nv_bfloat16> kb(kc.size()), vb(vc.size());
    for (size_t i = 0; i < kc.size(); ++i) { kc[i] = bf16_to_float(float_to_bf16(kc[i])); kb[i] = __float2bfloat16(kc[i]); }
    for (size_t i = 0; i < vc.size(); ++i) { vc[i] = bf16_to_float(float_to_bf16(vc[i])); vb[i] = __float2bfloat16(vc[i]); }
    const auto sinks = test::random_floats(k.hq, 4);
    std::vector<int> kv_head_of(k.hq);
    for (int h = 0; h < k.hq; ++h) kv_head_of[h] = h / (k.hq / k.hkv);
    // CPU reference per sequence.
    std::vector<float> ref(static_cast<size_t>(rows) * k.hq * k.dv, 0.0f);
    for (int s = 0; s < 3; ++s) {
      std::vector<int32_t> pos(count[s]);
      for (int i = 0; i < count[s]; ++i) pos[i] = start[s] + i;
      const size_t base = static_cast<size_t>(slot[s]) * capacity;
      cpu::attention(&q[static_cast<size_t>(first_row[s]) * k.hq * k.d], count[s], pos.data(), &kc[base * k.hkv * k.d],
                     &vc[base * k.hkv * k.dv], start[s] + count[s], kv_head_of.data(), {k.hq, k.hkv, k.d, k.dv},
                     1.0f / std::sqrt(float(k.d)), {causal, k.window}, k.sinks ? sinks.data() : nullptr,
                     &ref[static_cast<size_t>(first_row[s]) * k.hq * k.dv]);
    }
    auto dq = DeviceBuffer<float>::from(q), dsinks = DeviceBuffer<float>::from(sinks);
    auto dk = DeviceBuffer<__nv_bfloat16>::from(kb), dv = DeviceBuffer<__nv_bfloat16>::from(vb);
    auto dslot = DeviceBuffer<int32_t>::from(slot), dstart = DeviceBuffer<int32_t>::from(start),
         dcount = DeviceBuffer<int32_t>::from(count), dfirst = DeviceBuffer<int32_t>::from(first_row),
         dmap = DeviceBuffer<int32_t>::from(std::vector<int32_t>(kv_head_of.begin(), kv_head_of.end()));
    DeviceBuffer<float> out(ref.size());
    test::poison(out.get(), out.size());
    const cuda::KvCacheView cache{dk.get(), dv.get(), capacity, k.hkv, k.d, k.dv};
    const cuda::AttentionBatch batch{dslot.get(), dstart.get(), dcount.get(), dfirst.get(), 3, 16};
    cuda::AttentionParams p;
    p.num_q_heads = k.hq;
    p.kv_head_of = dmap.get();
    p.scale = 1.0f / std::sqrt(float(k.d));
    p.window = k.window;
    p.causal = causal;
    p.sinks = k.sinks ? dsinks.get() : nullptr;
    cuda::attention(dq.get(), batch, cache, p, out.get(), nullptr);
    const auto c = test::compare(out.download(), ref, 1e-5, 1e-4);
    CHECK_MESSAGE(c.ok, "d ", k.d, " dv ", k.dv, " window ", k.window, " causal ", causal, ": ", c.report);
  }
}

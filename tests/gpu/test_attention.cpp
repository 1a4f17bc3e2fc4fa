// GPU attention and KV-cache write (kernels/cuda/attention) against the CPU twin (kernels/cpu/attention):
// decode and verify blocks, batches of sequences with different lengths and slots, GQA groups 1/4/8/16,
// sliding window on/off, sinks on/off, head dims 64/128/192, long contexts (cluster splits); the exact
// bytes kv_write puts in the cache; and the benchmark rows (skipped by default).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "gpu_test_util.h"
#include "kernels/cpu/attention.h"
#include "kernels/cuda/attention.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/qkv_prepare.h"
#include "model/bf16.h"

using namespace tachyon;
using cuda::DeviceBuffer;

namespace {

struct Seq {
  int slot, start, count;
};

struct AttnCase {
  int head_dim, v_head_dim, kv_heads, group;
  int window;
  bool sinks;
  bool interleaved_heads;  // kv_head_of[h] = h % kv_heads instead of h / group
  int capacity;
  std::vector<Seq> seqs;
  bool causal = true;  // false: every query of a block sees the whole block (the DFlash drafter's)
};

std::vector<uint16_t> to_bf16(const std::vector<float>& v) {
  std::vector<uint16_t> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = float_to_bf16(v[i]);
  return out;
}

// Returns how the launch with a workspace was split (attention_split).
cuda::AttentionSplit check_attention(const AttnCase& c, uint64_t seed) {
  const int slots = 6, D = c.head_dim, DV = c.v_head_dim, H = c.kv_heads * c.group;
  const size_t k_row = static_cast<size_t>(c.kv_heads) * D, v_row = static_cast<size_t>(c.kv_heads) * DV;
  // The cache holds BF16; the reference reads the same BF16 values as floats, so that the comparison
  // isolates the kernel from the cache's rounding.
  const auto k16 = to_bf16(test::random_floats(static_cast<size_t>(slots) * c.capacity * k_row, seed));
  const auto v16 = to_bf16(test::random_floats(static_cast<size_t>(slots) * c.capacity * v_row, seed + 1));
  std::vector<int32_t> kv_head_of(H);
  for (int h = 0; h < H; ++h) kv_head_of[h] = c.interleaved_heads ? h % c.kv_heads : h / c.group;
  std::vector<float> sinks = test::random_floats(H, seed + 2, 1.0f, 0.5f);

  // Rows: sequence blocks one after the other, with one padding row after each (never written).
  std::vector<int32_t> slot, start, count, first_row;
  int m = 0, max_count = 0;
  for (const Seq& s : c.seqs) {
    slot.push_back(s.slot), start.push_back(s.start), count.push_back(s.count), first_row.push_back(m);
    m += s.count + 1;
    max_count = std::max(max_count, s.count);
  }
  const auto q = test::random_floats(static_cast<size_t>(m) * H * D, seed + 3);
  const float scale = 1.3f / std::sqrt(static_cast<float>(D));  // scores of std ~1.3: a peaked softmax

  // Reference: q rounded to BF16 as the kernel feeds it to the tensor cores.
  std::vector<float> ref(static_cast<size_t>(m) * H * DV, NAN);
  for (const Seq& s : c.seqs) {
    const int n_keys = s.start + s.count;
    std::vector<float> k(static_cast<size_t>(n_keys) * k_row), v(static_cast<size_t>(n_keys) * v_row);
    for (size_t i = 0; i < k.size(); ++i) k[i] = bf16_to_float(k16[static_cast<size_t>(s.slot) * c.capacity * k_row + i]);
    for (size_t i = 0; i < v.size(); ++i) v[i] = bf16_to_float(v16[static_cast<size_t>(s.slot) * c.capacity * v_row + i]);
    const int row0 = first_row[&s - c.seqs.data()];
    std::vector<float> qs(q.begin() + static_cast<size_t>(row0) * H * D, q.begin() + static_cast<size_t>(row0 + s.count) * H * D);
    for (float& x : qs) x = bf16_to_float(float_to_bf16(x));
    std::vector<int32_t> pos(s.count);
    for (int i = 0; i < s.count; ++i) pos[i] = s.start + i;
    const std::vector<int> heads(kv_head_of.begin(), kv_head_of.end());
    cpu::attention(qs.data(), s.count, pos.data(), k.data(), v.data(), n_keys, heads.data(), {H, c.kv_heads, D, DV},
                   scale, {c.causal, c.window}, c.sinks ? sinks.data() : nullptr, ref.data() + static_cast<size_t>(row0) * H * DV);
  }

  DeviceBuffer<uint16_t> dk(k16.size()), dv(v16.size());
  dk.upload(k16);
  dv.upload(v16);
  auto dq = DeviceBuffer<float>::from(q);
  auto dsinks = DeviceBuffer<float>::from(sinks);
  auto dmap = DeviceBuffer<int32_t>::from(kv_head_of);
  auto dslot = DeviceBuffer<int32_t>::from(slot), dstart = DeviceBuffer<int32_t>::from(start);
  auto dcount = DeviceBuffer<int32_t>::from(count), dfirst = DeviceBuffer<int32_t>::from(first_row);
  DeviceBuffer<float> dout(ref.size());
  test::poison(dout.get(), dout.size());

  cuda::KvCacheView cache;
  cache.k = reinterpret_cast<__nv_bfloat16*>(dk.get());
  cache.v = reinterpret_cast<__nv_bfloat16*>(dv.get());
  cache.capacity = c.capacity;
  cache.kv_heads = c.kv_heads;
  cache.head_dim = D;
  cache.v_head_dim = DV;
  cuda::AttentionBatch batch;
  batch.slot = dslot.get();
  batch.start = dstart.get();
  batch.count = dcount.get();
  batch.first_row = dfirst.get();
  batch.num_seqs = static_cast<int>(c.seqs.size());
  batch.max_count = max_count;
  cuda::AttentionParams p;
  p.num_q_heads = H;
  p.kv_head_of = dmap.get();
  p.scale = scale;
  p.window = c.window;
  p.causal = c.causal;
  p.sinks = c.sinks ? dsinks.get() : nullptr;
  auto run = [&] {
    test::poison(dout.get(), dout.size());
    cuda::attention(dq.get(), batch, cache, p, dout.get(), nullptr);
    CUDA_CHECK(cudaDeviceSynchronize());
    return dout.download();
  };
  auto same_bits = [](const std::vector<float>& x, const std::vector<float>& y) {
    size_t differ = 0;
    for (size_t i = 0; i < x.size(); ++i) differ += std::memcmp(&x[i], &y[i], sizeof(float)) != 0;
    return differ;
  };
  INFO("D=", D, " DV=", DV, " kv_heads=", c.kv_heads, " group=", c.group, " window=", c.window, " sinks=", c.sinks,
       " interleaved=", c.interleaved_heads, " causal=", c.causal, " capacity=", c.capacity, " seqs=", c.seqs.size(), " max_count=", max_count);
  // Without a workspace (one cluster per row block), then with one (small batches split their keys over
  // several clusters, combined through it).
  cuda::AttentionWorkspace workspace;
  for (cuda::AttentionWorkspace* ws : {static_cast<cuda::AttentionWorkspace*>(nullptr), &workspace}) {
    INFO("workspace=", ws != nullptr);
    p.workspace = ws;
    p.prefetch_old_keys = false;
    const auto got = run();

    // Padding rows must stay untouched (NaN); the others must match. Tolerance: the softmax weights enter
    // the P.V product as BF16 (relative rounding 2^-9 each), so an output moves by up to ~2^-9 * max|v|
    // in the worst case and far less on average; scores, exp and sums are FP32 (~1e-6).
    std::vector<float> got_rows, ref_rows;
    size_t untouched_bad = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
      if (std::isnan(ref[i])) {
        untouched_bad += !std::isnan(got[i]);
      } else {
        got_rows.push_back(got[i]);
        ref_rows.push_back(ref[i]);
      }
    }
    const auto cmp = test::compare(got_rows, ref_rows, 3e-3, 1e-2);
    CHECK_MESSAGE(cmp.ok, cmp.report);
    CHECK(untouched_bad == 0);

    // The same call again gives the same bits (with a workspace: its arrival counters reset themselves,
    // and the clusters' records are combined in a fixed order whichever finishes last).
    const size_t differ_again = same_bits(got, run());
    CHECK_MESSAGE(differ_again == 0, differ_again, " outputs differ on a second call");

    // Streaming the keys before each start ahead of the wait for the previous kernel changes when they are
    // read, not what is computed: the same bits.
    p.prefetch_old_keys = true;
    const size_t differ = same_bits(got, run());
    CHECK_MESSAGE(differ == 0, differ, " outputs differ with prefetch_old_keys");
  }
  return cuda::attention_split(batch, cache, p);
}

}  // namespace

TEST_CASE("gpu attention equals the CPU reference: decode and verify, GQA 1/4/8, window, sinks, dims 64/128/192") {
  uint64_t seed = 7000;
  for (auto [D, DV] : {std::pair{64, 64}, std::pair{128, 128}, std::pair{192, 128}})
    for (int group : {1, 4, 8})
      for (int window : {0, 20})
        for (bool sinks : {false, true})
          for (bool verify : {false, true}) {
            AttnCase c{D, DV, 2, group, window, sinks, group == 4 && sinks, 300, {}};
            // Different lengths and slots, a sequence at its very first token, one near the capacity.
            if (verify) c.seqs = {{3, 37, 9}, {0, 0, 16}, {5, 270, 13}, {1, 150, 1}};
            else c.seqs = {{3, 37, 1}, {0, 0, 1}, {5, 290, 1}, {2, 140, 1}};
            check_attention(c, seed++);
          }
}

TEST_CASE("gpu attention: MiMo-like head (192/128, 16 query heads per KV head), long contexts split over a cluster") {
  uint64_t seed = 8000;
  // 16 heads x 16 queries = 256 rows per KV head: four CTA row blocks.
  check_attention({192, 128, 1, 16, 0, false, false, 300, {{2, 100, 16}, {4, 3, 9}}}, seed++);
  check_attention({192, 128, 1, 16, 128, true, false, 300, {{2, 200, 16}, {4, 3, 9}, {1, 250, 1}}}, seed++);
  // 4k contexts: many 64-key tiles per CTA and every rank of a cluster busy.
  for (bool verify : {false, true}) {
    const int n = verify ? 9 : 1;
    const cuda::AttentionSplit gqa8 =
        check_attention({128, 128, 1, 8, 0, false, false, 4200, {{0, 4096 - n, n}, {1, 1500, n}}}, seed++);
    CHECK(gqa8.clusters > 1);
    // 9 queries x 8 heads = 72 rows: three 32-row blocks of two key groups (plan_attention).
    CHECK(gqa8.key_groups == (verify ? 2 : 4));
    CHECK(gqa8.row_blocks == (verify ? 3 : 1));
    // 8 queries x 8 heads = 64 rows: one whole block of one key group (the drafter's block).
    if (verify) {
      const cuda::AttentionSplit block8 = check_attention({128, 128, 1, 8, 0, false, false, 4200, {{0, 4000, 8}}}, seed++);
      CHECK(block8.key_groups == 1);
      CHECK(block8.row_blocks == 1);
    }
    check_attention({64, 64, 2, 8, 0, true, false, 4200, {{1, 4100 - n, n}}}, seed++);
    check_attention({192, 128, 1, 16, 128, true, false, 4200, {{0, 4000, n}, {1, 77, n}}}, seed++);
    check_attention({64, 64, 1, 8, 128, true, false, 4200, {{1, 4100 - n, n}}}, seed++);
  }
  // Contexts of 1-2k (keys split over 2 and 4 clusters with a workspace), and a 16-query verify block of
  // 16 heads (4 row blocks per KV head, each split over clusters).
  CHECK(check_attention({128, 128, 1, 8, 0, true, false, 1100, {{0, 1000, 1}, {1, 1090, 9}}}, seed++).clusters > 1);
  CHECK(check_attention({128, 128, 2, 4, 0, false, false, 2100, {{0, 2000, 1}, {3, 700, 1}}}, seed++).clusters > 1);
  const cuda::AttentionSplit verify16 = check_attention({192, 128, 1, 16, 0, true, false, 4200, {{0, 4000, 16}}}, seed++);
  CHECK(verify16.row_blocks == 4);
  CHECK(verify16.clusters > 1);
  // A window leaves too few keys to split further (2-CTA clusters): one sequence's 8-query verify block
  // (128 rows) takes 8 row blocks of 16 rows (4 key groups a CTA) instead of 2 of 64, and 8 sequences'
  // blocks take smaller row blocks too, within one CTA an SM; 32 sequences keep 64-row blocks.
  // At decode the same window's 128 keys take a 2-CTA cluster (one key tile a rank).
  CHECK(check_attention({192, 128, 1, 16, 128, true, false, 4200, {{0, 4000, 1}}}, seed++).cluster == 2);
  const cuda::AttentionSplit swa1 = check_attention({192, 128, 1, 16, 128, true, false, 4200, {{0, 4000, 8}}}, seed++);
  CHECK(swa1.key_groups == 4);
  CHECK(swa1.row_blocks == 8);
  CHECK(swa1.cluster == 2);
  std::vector<Seq> eight, thirty_two;
  for (int s = 0; s < 32; ++s) (s < 8 ? eight : thirty_two).push_back({s % 6, 300 + 23 * s, 8});
  for (int s = 0; s < 8; ++s) thirty_two.push_back({s % 6, 200 + 11 * s, 8});
  const cuda::AttentionSplit swa8 = check_attention({192, 128, 1, 16, 128, true, false, 1200, eight}, seed++);
  int sms = 0;
  REQUIRE(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0) == cudaSuccess);
  CHECK(swa8.key_groups > 1);
  CHECK(8L * swa8.row_blocks * swa8.cluster <= sms);
  CHECK(check_attention({192, 128, 1, 16, 128, true, false, 1200, thirty_two}, seed++).key_groups == 1);
  // v head dim different from the q/k head dim in the other direction, and an odd group.
  check_attention({128, 64, 3, 2, 0, true, false, 300, {{0, 100, 5}, {2, 7, 1}}}, seed++);
}

// (The generic kernel's non-causal blocks: test_attention_generic.cpp, whose reference keeps q in FP32 as
// that kernel does.)
TEST_CASE("gpu attention, non-causal blocks (the drafter's): dims 64/128/192, GQA 1/8, windows, sinks") {
  uint64_t seed = 9000;
  for (auto [D, DV] : {std::pair{64, 64}, std::pair{128, 128}, std::pair{192, 128}})
    for (int group : {1, 8})
      for (int window : {0, 5, 20})
        for (bool sinks : {false, true}) {
          // Blocks of 2..16 queries; one at position 0 (no context), one whose window starts inside the block.
          AttnCase c{D, DV, 2, group, window, sinks, false, 300, {{3, 37, 9}, {0, 0, 16}, {5, 270, 13}, {1, 150, 2}}};
          c.causal = false;
          check_attention(c, seed++);
        }
  // Long contexts split over a cluster: each rank's key range includes part of the block.
  AttnCase c{128, 128, 1, 8, 0, true, false, 4200, {{0, 4000, 8}, {1, 70, 16}}};
  c.causal = false;
  check_attention(c, seed++);
}

TEST_CASE("gpu kv_write stores BF16 (nearest even) of k and v at (slot, position), skipping padding rows") {
  const int slots = 3, capacity = 50, kv_heads = 2;
  for (auto [D, DV] : {std::pair{128, 128}, std::pair{192, 128}, std::pair{64, 64}}) {
    const size_t k_row = static_cast<size_t>(kv_heads) * D, v_row = static_cast<size_t>(kv_heads) * DV;
    const std::vector<int32_t> row_slot = {0, 2, 2, -1, 1, 0, 2}, row_pos = {0, 49, 10, 5, 33, 7, 50};
    const int m = static_cast<int>(row_slot.size());
    const auto k = test::random_floats(m * k_row, 11, 3.0f), v = test::random_floats(m * v_row, 12, 3.0f);
    std::vector<uint16_t> kc(slots * capacity * k_row, 0x1234), vc(slots * capacity * v_row, 0x4321);
    DeviceBuffer<uint16_t> dk(kc.size()), dv(vc.size());
    dk.upload(kc);
    dv.upload(vc);
    auto dks = DeviceBuffer<float>::from(k), dvs = DeviceBuffer<float>::from(v);
    auto dslot = DeviceBuffer<int32_t>::from(row_slot), dpos = DeviceBuffer<int32_t>::from(row_pos);
    cuda::KvCacheView cache{reinterpret_cast<__nv_bfloat16*>(dk.get()), reinterpret_cast<__nv_bfloat16*>(dv.get()), capacity,
                            kv_heads, D, DV};
    cuda::kv_write(dks.get(), dvs.get(), dslot.get(), dpos.get(), m, cache, nullptr);
    CUDA_CHECK(cudaDeviceSynchronize());
    for (int r = 0; r < m; ++r) {
      if (row_slot[r] < 0 || row_pos[r] >= capacity) continue;  // padding rows: skipped
      const size_t at = static_cast<size_t>(row_slot[r]) * capacity + row_pos[r];
      for (size_t e = 0; e < k_row; ++e) kc[at * k_row + e] = float_to_bf16(k[r * k_row + e]);
      for (size_t e = 0; e < v_row; ++e) vc[at * v_row + e] = float_to_bf16(v[r * v_row + e]);
    }
    CHECK(dk.download() == kc);
    CHECK(dv.download() == vc);
  }
}

TEST_CASE("gpu qkv_prepare equals rmsnorm (QK-norm) + rope + scale + kv_write, bit for bit") {
  // The fused kernel shares row_ops.cuh's arithmetic with the separate kernels, so q and the cache
  // must match exactly: qwen3-like (QK-norm, full RoPE), MiMo-like (192/128 dims, partial RoPE, value
  // scale, YaRN factor, no QK-norm), gpt-oss-like (64/64); one padding row (slot -1), one out of range.
  struct Case {
    int D, DV, rotary, hq, hkv;
    bool qk_norm;
    float value_scale, af;
  };
  const int slots = 3, capacity = 50;
  const std::vector<int32_t> row_slot = {0, 2, 2, -1, 1, 0, 2}, row_pos = {0, 49, 10, 5, 33, 7, 50};
  const int m = static_cast<int>(row_slot.size());
  for (const Case& c : {Case{128, 128, 128, 4, 2, true, 1.0f, 1.0f}, Case{192, 128, 64, 8, 1, false, 0.612f, 1.2f},
                        Case{64, 64, 64, 2, 2, true, 1.0f, 1.0f}}) {
    CAPTURE(c.D);
    const size_t qn = static_cast<size_t>(m) * c.hq * c.D, kn = static_cast<size_t>(m) * c.hkv * c.D,
                 vn = static_cast<size_t>(m) * c.hkv * c.DV;
    const auto q = test::random_floats(qn, 21, 3.0f), k = test::random_floats(kn, 22, 3.0f), v = test::random_floats(vn, 23, 3.0f);
    const auto qw = test::random_floats(c.D, 24, 0.1f, 1.0f), kw = test::random_floats(c.D, 25, 0.1f, 1.0f);
    std::vector<float> inv_freq(c.rotary / 2);
    for (size_t i = 0; i < inv_freq.size(); ++i) inv_freq[i] = std::pow(10000.0f, -2.0f * i / c.rotary);
    auto d_qw = DeviceBuffer<float>::from(qw), d_kw = DeviceBuffer<float>::from(kw), d_f = DeviceBuffer<float>::from(inv_freq);
    auto d_slot = DeviceBuffer<int32_t>::from(row_slot), d_pos = DeviceBuffer<int32_t>::from(row_pos);
    struct Out {
      std::vector<float> q;
      std::vector<uint16_t> k, v;
    };
    auto run = [&](bool fused) {
      auto dq = DeviceBuffer<float>::from(q), dk = DeviceBuffer<float>::from(k), dv = DeviceBuffer<float>::from(v);
      DeviceBuffer<uint16_t> kc(slots * capacity * kn / m), vc(slots * capacity * vn / m);
      kc.upload(std::vector<uint16_t>(kc.size(), 0x1234));
      vc.upload(std::vector<uint16_t>(vc.size(), 0x4321));
      const cuda::KvCacheView cache{reinterpret_cast<__nv_bfloat16*>(kc.get()), reinterpret_cast<__nv_bfloat16*>(vc.get()),
                                    capacity, c.hkv, c.D, c.DV};
      if (fused) {
        cuda::QkvPrepareParams p;
        p.m = m;
        p.q_heads = c.hq;
        p.kv_heads = c.hkv;
        p.q_norm = c.qk_norm ? d_qw.get() : nullptr;
        p.k_norm = c.qk_norm ? d_kw.get() : nullptr;
        p.eps = 1e-6f;
        p.rotary_dim = c.rotary;
        p.positions = d_pos.get();
        p.inv_freq = d_f.get();
        p.attention_factor = c.af;
        p.value_scale = c.value_scale;
        p.row_slot = d_slot.get();
        cuda::qkv_prepare(dq.get(), dk.get(), dv.get(), p, cache, nullptr);
      } else {
        if (c.qk_norm) {
          cuda::rmsnorm(dq.get(), d_qw.get(), m * c.hq, c.D, 1e-6f, dq.get(), nullptr);
          cuda::rmsnorm(dk.get(), d_kw.get(), m * c.hkv, c.D, 1e-6f, dk.get(), nullptr);
        }
        cuda::rope(dq.get(), m, c.hq, c.D, c.rotary, d_pos.get(), d_f.get(), c.af, nullptr);
        cuda::rope(dk.get(), m, c.hkv, c.D, c.rotary, d_pos.get(), d_f.get(), c.af, nullptr);
        if (c.value_scale != 1.0f) cuda::scale(dv.get(), vn, c.value_scale, nullptr);
        cuda::kv_write(dk.get(), dv.get(), d_slot.get(), d_pos.get(), m, cache, nullptr);
      }
      CUDA_CHECK(cudaDeviceSynchronize());
      return Out{dq.download(), kc.download(), vc.download()};
    };
    const Out fused = run(true), parts = run(false);
    CHECK(fused.q == parts.q);
    CHECK(fused.k == parts.k);
    CHECK(fused.v == parts.v);
  }
}

TEST_CASE("gpu attention, batch invariance: a query's output is the same bits alone, in a verify block and beside "
          "other sequences, and within the CPU's tolerance") {
  // kernels/cuda/batch_invariant.h: 16 rows a CTA and key tiles dealt out by absolute position, with a cluster size set
  // by the cache. Each query of a 9-query verify block of sequence A must give the bits it gives decoding alone at its
  // position, and A's block must give the same bits beside two other sequences (a verify block and a decode). Layouts:
  // the embedded default's (head 64, GQA 3, window 512), Qwen3-30B-A3B's (128, GQA 8, full), gpt-oss-like (64, GQA 8,
  // window 128, sinks), the MiMo-V2.5-Pro slice's global layer (192/128, GQA 16, sinks), at a 2k-key context.
  struct Layout {
    int D, DV, kv_heads, group, window;
    bool sinks;
  };
  const Layout layouts[] = {{64, 64, 2, 3, 512, false}, {128, 128, 1, 8, 0, false}, {64, 64, 2, 8, 128, true},
                            {192, 128, 1, 16, 0, true}};
  const int capacity = 2048, slots = 4, count = 9;
  test::BatchInvariantScope invariant;
  uint64_t seed = 9500;
  for (const Layout& L : layouts) {
    const int H = L.kv_heads * L.group;
    const size_t k_row = static_cast<size_t>(L.kv_heads) * L.D, v_row = static_cast<size_t>(L.kv_heads) * L.DV;
    const size_t q_row = static_cast<size_t>(H) * L.D, o_row = static_cast<size_t>(H) * L.DV;
    const auto k16 = to_bf16(test::random_floats(slots * capacity * k_row, ++seed));
    const auto v16 = to_bf16(test::random_floats(slots * capacity * v_row, ++seed));
    DeviceBuffer<uint16_t> dk(k16.size()), dv(v16.size());
    dk.upload(k16);
    dv.upload(v16);
    std::vector<int32_t> kv_head_of(H);
    for (int h = 0; h < H; ++h) kv_head_of[h] = h / L.group;
    auto dmap = DeviceBuffer<int32_t>::from(kv_head_of);
    auto dsinks = DeviceBuffer<float>::from(test::random_floats(H, ++seed, 1.0f, 0.5f));
    const float scale = 1.3f / std::sqrt(static_cast<float>(L.D));
    cuda::KvCacheView cache{reinterpret_cast<__nv_bfloat16*>(dk.get()), reinterpret_cast<__nv_bfloat16*>(dv.get()), capacity,
                            L.kv_heads, L.D, L.DV};
    cuda::AttentionWorkspace workspace;  // offered, as the step does; batch invariance does not split over clusters
    // Sequence A: slot 1, a verify block at positions 1500..1508; its queries' rows.
    const int a_slot = 1, a_start = 1500;
    const auto qa = test::random_floats(count * q_row, ++seed);
    struct Seq {
      int slot, start, count;
      std::vector<float> q;
    };
    // Runs one call over `seqs` (rows one after the other) and returns the output rows.
    auto run = [&](const std::vector<Seq>& seqs) {
      std::vector<int32_t> slot, start, cnt, first;
      std::vector<float> q;
      int m = 0, max_count = 0;
      for (const Seq& s : seqs) {
        slot.push_back(s.slot), start.push_back(s.start), cnt.push_back(s.count), first.push_back(m);
        q.insert(q.end(), s.q.begin(), s.q.end());
        m += s.count;
        max_count = std::max(max_count, s.count);
      }
      auto dslot = DeviceBuffer<int32_t>::from(slot), dstart = DeviceBuffer<int32_t>::from(start);
      auto dcount = DeviceBuffer<int32_t>::from(cnt), dfirst = DeviceBuffer<int32_t>::from(first);
      auto dq = DeviceBuffer<float>::from(q);
      DeviceBuffer<float> out(static_cast<size_t>(m) * o_row);
      test::poison(out.get(), out.size());
      const cuda::AttentionBatch batch{dslot.get(), dstart.get(), dcount.get(), dfirst.get(), static_cast<int>(seqs.size()),
                                       max_count};
      cuda::AttentionParams p;
      p.num_q_heads = H;
      p.kv_head_of = dmap.get();
      p.scale = scale;
      p.window = L.window;
      p.sinks = L.sinks ? dsinks.get() : nullptr;
      p.workspace = &workspace;
      cuda::attention(dq.get(), batch, cache, p, out.get(), nullptr);
      CUDA_CHECK(cudaDeviceSynchronize());
      return out.download();
    };
    INFO("D=", L.D, " DV=", L.DV, " kv_heads=", L.kv_heads, " group=", L.group, " window=", L.window, " sinks=", L.sinks);
    const auto block = run({{a_slot, a_start, count, qa}});
    for (int i = 0; i < count; ++i) {
      const std::vector<float> qi(qa.begin() + i * q_row, qa.begin() + (i + 1) * q_row);
      const auto alone = run({{a_slot, a_start + i, 1, qi}});
      const std::vector<float> in_block(block.begin() + i * o_row, block.begin() + (i + 1) * o_row);
      const size_t differ = test::differing_bits(alone, in_block, o_row);
      CHECK_MESSAGE(differ == 0, differ, " of ", o_row, " outputs of query ", i, " differ alone and in the block");
    }
    const auto batched = run({{3, 700, count, test::random_floats(count * q_row, seed + 11)},
                              {a_slot, a_start, count, qa},
                              {0, 40, 1, test::random_floats(q_row, seed + 12)}});
    const std::vector<float> a_rows(batched.begin() + count * o_row, batched.begin() + 2 * count * o_row);
    const size_t differ = test::differing_bits(a_rows, block, block.size());
    CHECK_MESSAGE(differ == 0, differ, " of ", block.size(), " outputs of the block differ beside other sequences");

    // The CPU on the same BF16 keys and values, q rounded to BF16 as the tensor cores take it.
    const int n_keys = a_start + count;
    std::vector<float> k(static_cast<size_t>(n_keys) * k_row), v(static_cast<size_t>(n_keys) * v_row);
    for (size_t i = 0; i < k.size(); ++i) k[i] = bf16_to_float(k16[static_cast<size_t>(a_slot) * capacity * k_row + i]);
    for (size_t i = 0; i < v.size(); ++i) v[i] = bf16_to_float(v16[static_cast<size_t>(a_slot) * capacity * v_row + i]);
    std::vector<float> qs = qa;
    for (float& x : qs) x = bf16_to_float(float_to_bf16(x));
    std::vector<int32_t> pos(count);
    for (int i = 0; i < count; ++i) pos[i] = a_start + i;
    const std::vector<int> heads(kv_head_of.begin(), kv_head_of.end());
    std::vector<float> ref(count * o_row);
    const std::vector<float> sinks = dsinks.download();
    cpu::attention(qs.data(), count, pos.data(), k.data(), v.data(), n_keys, heads.data(), {H, L.kv_heads, L.D, L.DV}, scale,
                   {true, L.window}, L.sinks ? sinks.data() : nullptr, ref.data());
    const auto cmp = test::compare(block, ref, 3e-3, 1e-2);
    CHECK_MESSAGE(cmp.ok, cmp.report);
  }
}

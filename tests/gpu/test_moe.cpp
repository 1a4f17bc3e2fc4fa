// GPU MoE kernels (kernels/cuda/moe.h) against their CPU twins: cpu::route for every router kind, the
// invariants of moe_align, moe_gate_up / moe_down per expert against cpu::matmul + cpu::swiglu and
// cpu::gated_mlp in every weight format (ep-style local expert ranges, tp-style intermediate slices,
// 0..64 tokens per expert), and the whole route -> align -> gate_up -> down -> combine pipeline against
// the CPU step's composition. Also the benchmark driver "bench: moe" (skipped unless asked for).
//
// Tolerances. The FP32 kernel (F32, FP8 weights) differs from the CPU only by FP32 summation order:
// atol/rtol 1e-4 on unit-scale outputs. The tensor-core kernel (MXFP4, BF16 weights) feeds the MMAs
// BF16 activations (weights are exact in BF16): against the CPU fed the same BF16-rounded activations
// only the summation order differs (atol/rtol 1e-3, looser than FP32's because the MMA's internal
// accumulation is not IEEE-sequential); against the CPU on the FP32 activations the rounding of the
// activations (2^-9 relative each) shows, ~1e-2 relative: atol 2e-2 x rms(ref), rtol 2e-2.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <string>

#include "gpu_test_util.h"
#include "kernels/cpu/gated_mlp.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/router.h"
#include "kernels/cpu/swiglu.h"
#include "kernels/cuda/device_weight.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/moe.h"
#include "model/bf16.h"
#include "model/fp8.h"
#include "model/mxfp4.h"

using namespace tachyon;
using cuda::DeviceBuffer;

namespace {

constexpr WeightFormat kFormats[] = {WeightFormat::F32, WeightFormat::BF16, WeightFormat::FP8, WeightFormat::MXFP4};

bool uses_tensor_cores(WeightFormat f) { return f == WeightFormat::MXFP4 || f == WeightFormat::BF16; }

// Routing buffers on the device, sized for `max_pairs`.
struct DeviceRouting {
  DeviceBuffer<int32_t> offsets, pairs, count, active;
  cuda::MoeRouting r;
  DeviceRouting(int local_experts, int expert_begin, int max_pairs)
      : offsets(local_experts + 1), pairs(std::max(max_pairs, 1)), count(1), active(local_experts) {
    r.expert_offsets = offsets.get();
    r.pair_index = pairs.get();
    r.active_count = count.get();
    r.active_experts = active.get();
    r.local_experts = local_experts;
    r.expert_begin = expert_begin;
    r.max_pairs = max_pairs;
  }
};

uint64_t lcg(uint64_t& s) {
  s = s * 6364136223846793005ull + 1442695040888963407ull;
  return s >> 33;
}

// expert_ids [m*top_k] in which global expert e appears counts[e] times, in a seeded random order.
std::vector<int32_t> ids_with_counts(const std::vector<int>& counts, uint64_t seed) {
  std::vector<int32_t> ids;
  for (size_t e = 0; e < counts.size(); ++e) ids.insert(ids.end(), counts[e], static_cast<int32_t>(e));
  for (size_t i = ids.size(); i > 1; --i) std::swap(ids[i - 1], ids[lcg(seed) % i]);
  return ids;
}

std::vector<float> bf16_rounded(std::vector<float> v) {
  for (float& x : v) x = bf16_to_float(float_to_bf16(x));
  return v;
}

double rms(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += double(x) * x;
  return v.empty() ? 0.0 : std::sqrt(s / v.size());
}

// The part [e0,e1) x [r0,r1) x [c0,c1) of a 3-D weight, as a checkpoint read of that box would return
// it (fp8: the covering scale blocks, with the box's offset inside its first block).
HostWeight slice_weight(const HostWeight& w, size_t e0, size_t e1, size_t r0, size_t r1, size_t c0, size_t c1) {
  const size_t rows = w.rows(), cols = w.cols();
  HostWeight s;
  s.format = w.format;
  s.shape = {static_cast<int64_t>(e1 - e0), static_cast<int64_t>(r1 - r0), static_cast<int64_t>(c1 - c0)};
  switch (w.format) {
    case WeightFormat::F32:
    case WeightFormat::BF16:
    case WeightFormat::FP8: {
      const size_t es = weight_data_bytes(w.format, 1, 1);
      for (size_t e = e0; e < e1; ++e)
        for (size_t r = r0; r < r1; ++r) {
          const uint8_t* src = w.data.data() + ((e * rows + r) * cols + c0) * es;
          s.data.insert(s.data.end(), src, src + (c1 - c0) * es);
        }
      if (w.format == WeightFormat::FP8) {
        const size_t gr = fp8_scale_rows(rows), gc = fp8_scale_cols(cols);
        const auto* sc = reinterpret_cast<const float*>(w.scales.data());
        std::vector<float> out;
        for (size_t e = e0; e < e1; ++e)
          for (size_t i = r0 / kFp8BlockSize; i < (r1 + kFp8BlockSize - 1) / kFp8BlockSize; ++i)
            for (size_t j = c0 / kFp8BlockSize; j < (c1 + kFp8BlockSize - 1) / kFp8BlockSize; ++j)
              out.push_back(sc[(e * gr + i) * gc + j]);
        s.scales.resize(out.size() * sizeof(float));
        std::memcpy(s.scales.data(), out.data(), s.scales.size());
        s.scale_row0 = r0 % kFp8BlockSize;
        s.scale_col0 = c0 % kFp8BlockSize;
      }
      break;
    }
    case WeightFormat::MXFP4: {
      REQUIRE(c0 % kMxfp4BlockSize == 0);
      REQUIRE(c1 % kMxfp4BlockSize == 0);
      const size_t rb = cols / 2, sb = cols / kMxfp4BlockSize;
      for (size_t e = e0; e < e1; ++e)
        for (size_t r = r0; r < r1; ++r) {
          const uint8_t* d = w.data.data() + (e * rows + r) * rb;
          s.data.insert(s.data.end(), d + c0 / 2, d + c1 / 2);
          const uint8_t* sc = w.scales.data() + (e * rows + r) * sb;
          s.scales.insert(s.scales.end(), sc + c0 / kMxfp4BlockSize, sc + c1 / kMxfp4BlockSize);
        }
      break;
    }
  }
  return s;
}

// [E, n] f32 vectors (biases): experts [e0, e1), columns [c0, c1).
std::vector<float> slice_rows(const std::vector<float>& v, size_t n, size_t e0, size_t e1, size_t c0, size_t c1) {
  std::vector<float> out;
  for (size_t e = e0; e < e1; ++e) out.insert(out.end(), v.begin() + e * n + c0, v.begin() + e * n + c1);
  return out;
}

// Random expert weights W[E, rows, cols] ~ N(0, scale^2) in `format`; the first `big_experts` get weights
// `big_factor` times larger (MXFP4 scale bytes above 128 or 192 take the kernels' slow factor paths).
HostWeight random_experts(WeightFormat format, int E, int rows, int cols, uint64_t seed, float scale,
                          int big_experts = 0, float big_factor = 64.0f) {
  auto v = test::random_floats(static_cast<size_t>(E) * rows * cols, seed, scale);
  for (int e = 0; e < big_experts; ++e)
    for (size_t i = 0; i < static_cast<size_t>(rows) * cols; ++i) v[e * static_cast<size_t>(rows) * cols + i] *= big_factor;
  return make_host_weight(v.data(), {E, rows, cols}, format);
}

// One expert's gate/up output for one token: swiglu(gate . x + gb, up . x + ub) [rows].
std::vector<float> cpu_gate_up(const HostWeight& gate, const HostWeight& up, size_t e, const float* gb, const float* ub,
                               const float* x, const cpu::SwigluParams& act) {
  const size_t I = gate.rows();
  std::vector<float> g(I), u(I), a(I);
  cpu::matmul(x, 1, gate.matrix(e), g.data());
  cpu::matmul(x, 1, up.matrix(e), u.data());
  if (gb) cpu::add_bias(g.data(), 1, I, gb + e * I);
  if (ub) cpu::add_bias(u.data(), 1, I, ub + e * I);
  cpu::swiglu(g.data(), u.data(), I, act, a.data());
  return a;
}

struct ExpertSet {
  HostWeight gate, up, down;
  std::vector<float> gate_bias, up_bias, down_bias;  // [E, I], [E, I], [E, H]
};

ExpertSet random_expert_set(WeightFormat f, int E, int H, int I, uint64_t seed, bool biases, int big_experts = 0,
                            float big_factor = 64.0f) {
  ExpertSet s;
  s.gate = random_experts(f, E, I, H, seed, 1.0f / std::sqrt(float(H)), big_experts, big_factor);
  s.up = random_experts(f, E, I, H, seed + 1, 1.0f / std::sqrt(float(H)), big_experts, big_factor);
  s.down = random_experts(f, E, H, I, seed + 2, 1.0f / std::sqrt(float(I)), big_experts, big_factor);
  if (biases) {
    s.gate_bias = test::random_floats(static_cast<size_t>(E) * I, seed + 3, 0.5f);
    s.up_bias = test::random_floats(static_cast<size_t>(E) * I, seed + 4, 0.5f);
    s.down_bias = test::random_floats(static_cast<size_t>(E) * H, seed + 5, 0.5f);
  }
  return s;
}

const float* ptr_or_null(const std::vector<float>& v) { return v.empty() ? nullptr : v.data(); }

template <typename T>
DeviceBuffer<T> upload_or_empty(const std::vector<T>& v) {
  return v.empty() ? DeviceBuffer<T>() : DeviceBuffer<T>::from(v);
}

const cpu::SwigluParams kStandard{SwigluKind::Standard, 0.0f, 1.0f};
const cpu::SwigluParams kGptOss{SwigluKind::GptOssClamped, 7.0f, 1.702f};

}  // namespace

// ---------------------------------------------------------------------------------------------------
TEST_CASE("gpu moe_route equals cpu::route for every router kind (ties: lower expert id first)") {
  struct Case {
    RouterKind kind;
    bool normalize;
    float scaling;
    bool correction;
    bool logit_bias;  // gpt-oss adds a router bias to the logits before top-k-then-softmax
    int E, k;
  };
  const Case cases[] = {
      {RouterKind::SoftmaxTopK, false, 1.0f, false, false, 128, 8},   // softmax top-k, no renormalisation
      {RouterKind::SoftmaxTopK, true, 1.0f, false, false, 128, 8},    // Qwen3-MoE
      {RouterKind::SoftmaxTopK, true, 1.0f, false, false, 60, 1},
      {RouterKind::TopKSoftmax, false, 1.0f, false, true, 128, 4},    // gpt-oss
      {RouterKind::TopKSoftmax, false, 1.0f, false, true, 32, 4},
      {RouterKind::SigmoidTopK, true, 2.5f, true, false, 384, 8},     // MiMo / DeepSeek-style
      {RouterKind::SigmoidTopK, false, 1.0f, true, false, 256, 8},
  };
  uint64_t seed = 100;
  for (const Case& c : cases) {
    for (int m : {1, 7, 64}) {
      CAPTURE(int(c.kind));
      CAPTURE(c.E);
      CAPTURE(m);
      auto logits = test::random_floats(static_cast<size_t>(m) * c.E, ++seed, 2.0f);
      if (c.logit_bias) {
        const auto bias = test::random_floats(c.E, ++seed, 0.5f);
        for (int t = 0; t < m; ++t)
          for (int e = 0; e < c.E; ++e) logits[t * c.E + e] += bias[e];
      }
      // Exact ties among the winners: two equal maxima in every token, and a tie further down.
      for (int t = 0; t < m; ++t) {
        float* l = &logits[static_cast<size_t>(t) * c.E];
        const float mx = *std::max_element(l, l + c.E) + 1.0f;
        l[(t * 7 + 5) % c.E] = mx;
        l[(t * 7 + 3) % c.E] = mx;
        l[(t * 11 + 9) % c.E] = l[(t * 13 + 1) % c.E];
      }
      std::vector<float> corr;
      if (c.correction) corr = test::random_floats(c.E, ++seed, 0.1f);

      cpu::RouterParams cp{c.kind, c.E, c.k, c.normalize, c.scaling, ptr_or_null(corr)};
      std::vector<int32_t> ref_ids(static_cast<size_t>(m) * c.k);
      std::vector<float> ref_w(ref_ids.size());
      cpu::route(logits.data(), m, cp, ref_ids.data(), ref_w.data());

      auto d_logits = DeviceBuffer<float>::from(logits);
      auto d_corr = upload_or_empty(corr);
      DeviceBuffer<int32_t> d_ids(ref_ids.size());
      DeviceBuffer<float> d_w(ref_w.size());
      test::poison(d_w.get(), d_w.size());
      cuda::RouterDeviceParams dp{c.kind, c.E, c.k, c.normalize, c.scaling, corr.empty() ? nullptr : d_corr.get()};
      cuda::moe_route(d_logits.get(), m, dp, d_ids.get(), d_w.get(), nullptr);
      CHECK(d_ids.download() == ref_ids);
      const auto cmp = test::compare(d_w.download(), ref_w, 1e-6, 1e-5);  // exp in double / expf: ~1 ulp
      CHECK_MESSAGE(cmp.ok, cmp.report);
    }
  }
}

TEST_CASE("gpu moe_route: NaN scores never give an invalid or repeated expert (they rank as -inf)") {
  for (RouterKind kind : {RouterKind::SoftmaxTopK, RouterKind::TopKSoftmax, RouterKind::SigmoidTopK})
    for (int E : {60, 384}) {
      CAPTURE(int(kind));
      CAPTURE(E);
      const int m = 3, k = 8;
      auto logits = test::random_floats(static_cast<size_t>(m) * E, 4242 + E);
      for (int e = 0; e < E; e += 5) logits[e] = NAN;            // token 0: every fifth score
      for (int e = 0; e < E; ++e) logits[2 * E + e] = NAN;        // token 2: all of them
      auto d_logits = DeviceBuffer<float>::from(logits);
      DeviceBuffer<int32_t> d_ids(static_cast<size_t>(m) * k);
      DeviceBuffer<float> d_w(static_cast<size_t>(m) * k);
      const cuda::RouterDeviceParams rp{kind, E, k, true, 1.0f, nullptr};
      cuda::moe_route(d_logits.get(), m, rp, d_ids.get(), d_w.get(), nullptr);
      const auto ids = d_ids.download();
      for (int t = 0; t < m; ++t) {
        std::set<int32_t> seen;
        for (int j = 0; j < k; ++j) {
          const int32_t id = ids[static_cast<size_t>(t) * k + j];
          CHECK((id >= 0 && id < E));
          seen.insert(id);
        }
        CHECK(seen.size() == static_cast<size_t>(k));
      }
      // Token 0 has enough finite scores: NaN experts are never chosen over them (except under a softmax
      // over all experts, where one NaN logit makes every score NaN, as on the CPU).
      if (kind != RouterKind::SoftmaxTopK)
        for (int j = 0; j < k; ++j) CHECK(ids[j] % 5 != 0);
    }
}

// ---------------------------------------------------------------------------------------------------
TEST_CASE("gpu moe_align: offsets, ascending pairs per expert, active list, non-local pairs last") {
  struct Case {
    int E, begin, L, m, k;
  };
  const Case cases[] = {{128, 0, 128, 1, 8}, {128, 0, 128, 64, 8}, {128, 32, 32, 9, 4},
                        {16, 4, 8, 33, 8},   {8, 0, 8, 1000, 8},   {384, 96, 48, 64, 8}};
  uint64_t seed = 7;
  for (const Case& c : cases) {
    CAPTURE(c.E);
    CAPTURE(c.m);
    CAPTURE(c.begin);
    const int n = c.m * c.k;
    std::vector<int32_t> ids(n);
    for (auto& id : ids) id = static_cast<int32_t>(lcg(seed) % c.E);
    if (c.m == 64) ids.back() = -1;  // an invalid id is simply not local
    DeviceRouting dr(c.L, c.begin, n + 5);
    auto d_ids = DeviceBuffer<int32_t>::from(ids);
    cuda::moe_align(d_ids.get(), c.m, c.k, dr.r, nullptr);
    const auto off = dr.offsets.download(), pairs = dr.pairs.download(n);
    const int active = dr.count.download()[0];
    const auto act = dr.active.download(active);

    std::vector<std::vector<int>> expect(c.L);
    std::vector<int> nonlocal;
    for (int i = 0; i < n; ++i) {
      const int l = ids[i] - c.begin;
      if (l >= 0 && l < c.L) expect[l].push_back(i);
      else nonlocal.push_back(i);
    }
    std::vector<int> exp_off(c.L + 1, 0), exp_active, exp_pairs;
    for (int e = 0; e < c.L; ++e) {
      exp_off[e + 1] = exp_off[e] + static_cast<int>(expect[e].size());
      if (!expect[e].empty()) exp_active.push_back(e);
      exp_pairs.insert(exp_pairs.end(), expect[e].begin(), expect[e].end());
    }
    CHECK(std::vector<int>(off.begin(), off.end()) == exp_off);
    CHECK(std::vector<int>(act.begin(), act.end()) == exp_active);
    CHECK(std::vector<int>(pairs.begin(), pairs.begin() + exp_off[c.L]) == exp_pairs);
    std::vector<int> tail(pairs.begin() + exp_off[c.L], pairs.end());
    std::sort(tail.begin(), tail.end());
    CHECK(tail == nonlocal);
  }
}

// ---------------------------------------------------------------------------------------------------
// gate_up and down of local experts [begin, begin + L) of E, with `counts[e]` pairs for global expert e.
namespace {

// Sets a process-wide kernel mode (moe.h's set_moe_* functions) for a scope, and its default, Auto, after it.
template <typename Mode, void (*kSet)(Mode)>
struct ScopedMode {
  explicit ScopedMode(Mode mode) { kSet(mode); }
  ~ScopedMode() { kSet(Mode::Auto); }
  ScopedMode(const ScopedMode&) = delete;
  ScopedMode& operator=(const ScopedMode&) = delete;
};
// Where moe_down takes its several-token kernel, and where gate_up stages its token table.
using FewTokenDownMode = ScopedMode<cuda::FewTokenDown, cuda::set_moe_few_token_down>;
using TokenTableMode = ScopedMode<cuda::GateUpTokenTable, cuda::set_moe_gate_up_token_table>;

// check_experts' comparisons of moe_down_tail against moe_down + combine_add_rmsnorm (steps of one MXFP4 token, rows of
// at least 512).
int down_tail_checks = 0;

// check_experts' steps whose gate_up staged its token table by default (Auto), and at any K (Always); each compared bit
// for bit with every pass staging its own tokens (Never), under both routings where in-kernel routing applies.
int token_table_checks = 0, token_table_any_k_checks = 0;

// gate_up with routing r where it can take the token table: with it (at any K) and without, the bits of `got`, its
// output under the default. Returns 2 where the default took the table, 1 where only Always does, 0 where neither.
int check_token_table(int m, int top_k, const cuda::MoeRouting& r, const float* x, const cuda::DeviceWeight& gate,
                       const cuda::DeviceWeight& up, const float* gb, const float* ub, const cpu::SwigluParams& act,
                       const std::vector<float>& got, DeviceBuffer<float>& d_act) {
  const bool by_default = cuda::moe_gate_up_token_table(m, top_k, r, x, gate.experts(), up.experts());
  auto run = [&](cuda::GateUpTokenTable mode, bool table) {
    const TokenTableMode scope(mode);
    CHECK(cuda::moe_gate_up_token_table(m, top_k, r, x, gate.experts(), up.experts()) == table);
    test::poison(d_act.get(), d_act.size());
    cuda::moe_gate_up(x, m, top_k, r, gate.experts(), up.experts(), gb, ub, act, d_act.get(), nullptr);
    const auto out = d_act.download();
    CHECK_MESSAGE(std::memcmp(out.data(), got.data(), out.size() * sizeof(float)) == 0, "gate_up: token table ", table,
                  " gives other bits than the default (in-kernel routing ", r.expert_ids != nullptr, ")");
  };
  {
    const TokenTableMode always(cuda::GateUpTokenTable::Always);
    if (!cuda::moe_gate_up_token_table(m, top_k, r, x, gate.experts(), up.experts())) return 0;
  }
  run(cuda::GateUpTokenTable::Always, true);
  run(cuda::GateUpTokenTable::Never, false);
  return by_default ? 2 : 1;
}

// one_token: the step is one token whose gate_up, routed in-kernel, must take the one-token kernel
// (moe_one_token.cu): 1 where it must also give the block-column kernel's bits (both split K eight ways),
// 2 where it is checked against the CPU only.
void check_experts(WeightFormat f, const cpu::SwigluParams& act_kind, int E, int begin, int L, int H, int I,
                   const std::vector<int>& counts, int top_k, uint64_t seed, bool biases, int big_experts = 0,
                   float big_factor = 64.0f, int one_token = 0) {
  CAPTURE(format_name(f));
  CAPTURE(int(act_kind.kind));
  CAPTURE(E);
  CAPTURE(begin);
  CAPTURE(H);
  CAPTURE(I);
  const auto ids = ids_with_counts(counts, seed);
  REQUIRE(ids.size() % top_k == 0);
  const int n = static_cast<int>(ids.size()), m = n / top_k;
  const ExpertSet full = random_expert_set(f, E, H, I, seed, biases, big_experts, big_factor);
  const HostWeight gate = slice_weight(full.gate, begin, begin + L, 0, I, 0, H);
  const HostWeight up = slice_weight(full.up, begin, begin + L, 0, I, 0, H);
  const HostWeight down = slice_weight(full.down, begin, begin + L, 0, H, 0, I);
  const auto gb = biases ? slice_rows(full.gate_bias, I, begin, begin + L, 0, I) : std::vector<float>{};
  const auto ub = biases ? slice_rows(full.up_bias, I, begin, begin + L, 0, I) : std::vector<float>{};
  const auto db = biases ? slice_rows(full.down_bias, H, begin, begin + L, 0, H) : std::vector<float>{};
  const auto x = test::random_floats(static_cast<size_t>(m) * H, seed + 10);
  const auto act_in = test::random_floats(static_cast<size_t>(n) * I, seed + 11);
  auto rw = test::random_floats(n, seed + 12, 0.3f, 0.5f);
  const float bias_scale = seed % 2 ? 1.0f : 0.5f;

  // GPU
  const cuda::DeviceWeight dgate(gate), dup(up), ddown(down);
  auto d_ids = DeviceBuffer<int32_t>::from(ids);
  DeviceRouting dr(L, begin, n);
  cuda::moe_align(d_ids.get(), m, top_k, dr.r, nullptr);
  auto d_x = DeviceBuffer<float>::from(x), d_actin = DeviceBuffer<float>::from(act_in), d_rw = DeviceBuffer<float>::from(rw);
  auto d_gb = upload_or_empty(gb), d_ub = upload_or_empty(ub), d_db = upload_or_empty(db);
  DeviceBuffer<float> d_act(static_cast<size_t>(n) * I), d_out(static_cast<size_t>(n) * H);
  test::poison(d_act.get(), d_act.size());
  test::poison(d_out.get(), d_out.size());
  cuda::moe_gate_up(d_x.get(), m, top_k, dr.r, dgate.experts(), dup.experts(), biases ? d_gb.get() : nullptr,
                    biases ? d_ub.get() : nullptr, act_kind, d_act.get(), nullptr);
  cuda::moe_down(d_actin.get(), m, top_k, dr.r, ddown.experts(), biases ? d_db.get() : nullptr, bias_scale, d_rw.get(),
                 d_out.get(), nullptr);
  const auto g_act = d_act.download(), g_out = d_out.download();
  const int token_table = check_token_table(m, top_k, dr.r, d_x.get(), dgate, dup, biases ? d_gb.get() : nullptr,
                                            biases ? d_ub.get() : nullptr, act_kind, g_act, d_act);
  token_table_checks += token_table == 2;
  token_table_any_k_checks += token_table >= 1;

  // In-kernel routing (MoeRouting::expert_ids, no moe_align) gives the same bits, wherever it applies;
  // it must apply to the tensor-core formats at these sizes.
  const bool in_kernel = cuda::moe_routes_in_kernel(m, top_k, dr.r, d_x.get(), dgate.experts(), dup.experts(),
                                                    d_actin.get(), ddown.experts());
  CHECK(in_kernel == (uses_tensor_cores(f) && n <= 512));
  std::vector<float> l_act, l_out;  // in-kernel routing's gate_up / down, where a one-token kernel took it
  bool down_one_token = false, down_few_tokens = false;
  if (in_kernel) {
    cuda::MoeRouting lr = dr.r;
    lr.expert_ids = d_ids.get();
    const bool one_token_kernel = cuda::moe_gate_up_one_token(m, top_k, lr, d_x.get(), dgate.experts(), dup.experts());
    CHECK(one_token_kernel == (one_token > 0));
    // down's one-token kernel (moe_down_one_token.cu) takes every MXFP4 step of one token here. Over rows of at
    // most 256 (two k-iterations) the block-column kernel splits no K either, and the bits must be the same;
    // over longer rows it is checked against the CPU below.
    down_one_token = cuda::moe_down_one_token(m, top_k, lr, d_actin.get(), ddown.experts(), d_rw.get());
    CHECK(down_one_token == (m == 1 && f == WeightFormat::MXFP4));
    // At 2-16 tokens down's several-token kernel (moe_down_few_tokens.cu) takes MXFP4 rows in whole 32-row tiles; by
    // default (FewTokenDown::Auto) only over K >= 512, here at every K, so that every shape below runs it. Its K is
    // never split and its small steps are not block columns, so it is checked against the CPU.
    CHECK(cuda::moe_down_few_tokens(m, top_k, lr, d_actin.get(), ddown.experts(), d_rw.get()) ==
          (f == WeightFormat::MXFP4 && m >= 2 && m <= 16 && H % 32 == 0 && I >= 512));
    const FewTokenDownMode always(cuda::FewTokenDown::Always);
    down_few_tokens = cuda::moe_down_few_tokens(m, top_k, lr, d_actin.get(), ddown.experts(), d_rw.get());
    if (f == WeightFormat::MXFP4 && m >= 2 && m <= 16 && H % 32 == 0) CHECK(down_few_tokens);
    if (m < 2 || m > 16 || f != WeightFormat::MXFP4) CHECK_FALSE(down_few_tokens);
    test::poison(d_act.get(), d_act.size());
    test::poison(d_out.get(), d_out.size());
    cuda::moe_gate_up(d_x.get(), m, top_k, lr, dgate.experts(), dup.experts(), biases ? d_gb.get() : nullptr,
                      biases ? d_ub.get() : nullptr, act_kind, d_act.get(), nullptr);
    cuda::moe_down(d_actin.get(), m, top_k, lr, ddown.experts(), biases ? d_db.get() : nullptr, bias_scale, d_rw.get(),
                   d_out.get(), nullptr);
    l_act = d_act.download();
    l_out = d_out.download();
    CHECK(check_token_table(m, top_k, lr, d_x.get(), dgate, dup, biases ? d_gb.get() : nullptr,
                            biases ? d_ub.get() : nullptr, act_kind, l_act, d_act) == token_table);
    // On one rank the combine + add + norm after a step of one token may run in moe_down's last CTA (moe_down_tail):
    // the bits of combine_add_rmsnorm over the slot rows, with and without the deferred attention output added first,
    // and the slot rows of moe_down.
    const auto x0 = test::random_floats(H, seed + 20), delta = test::random_floats(H, seed + 21);
    const auto norm = test::random_floats(H, seed + 22, 0.5f, 1.5f);
    auto d_delta = DeviceBuffer<float>::from(delta), d_norm = DeviceBuffer<float>::from(norm);
    DeviceBuffer<uint32_t> d_counter(1);
    CUDA_CHECK(cudaMemset(d_counter.get(), 0, sizeof(uint32_t)));
    for (const float* dl : {static_cast<const float*>(nullptr), static_cast<const float*>(d_delta.get())}) {
      auto xa = DeviceBuffer<float>::from(x0), xb = DeviceBuffer<float>::from(x0);
      DeviceBuffer<float> ya(H), yb(H), rowsa(static_cast<size_t>(n) * H);
      test::poison(ya.get(), H);
      test::poison(yb.get(), H);
      const cuda::MoeDownTail tail{xa.get(), dl, d_norm.get(), 1e-6f, ya.get(), d_counter.get()};
      const bool fits = cuda::moe_down_tail_fits(m, top_k, lr, d_actin.get(), ddown.experts(), d_rw.get(), tail);
      CHECK(fits == (m == 1 && f == WeightFormat::MXFP4 && H >= 512 && top_k <= 8));
      if (!fits) continue;
      cuda::moe_down_tail(d_actin.get(), top_k, lr, ddown.experts(), biases ? d_db.get() : nullptr, bias_scale, d_rw.get(),
                          rowsa.get(), tail, nullptr);
      cuda::combine_add_rmsnorm(d_out.get(), top_k, xb.get(), d_norm.get(), 1, H, 1e-6f, yb.get(), nullptr, dl);
      const auto gxa = xa.download(), gxb = xb.download(), gya = ya.download(), gyb = yb.download(), grows = rowsa.download();
      CHECK_MESSAGE(std::memcmp(gxa.data(), gxb.data(), H * sizeof(float)) == 0, "down tail: x differs, delta ", dl != nullptr);
      CHECK_MESSAGE(std::memcmp(gya.data(), gyb.data(), H * sizeof(float)) == 0, "down tail: y differs, delta ", dl != nullptr);
      CHECK_MESSAGE(std::memcmp(grows.data(), l_out.data(), grows.size() * sizeof(float)) == 0, "down tail: its slot rows differ");
      CHECK(d_counter.download()[0] == 0u);  // left for the next launch
      ++down_tail_checks;
    }
    if (!one_token_kernel || one_token == 1)
      CHECK_MESSAGE(std::memcmp(l_act.data(), g_act.data(), l_act.size() * sizeof(float)) == 0,
                    "gate_up with in-kernel routing differs from moe_align's routing");
    if (!one_token_kernel) l_act.clear();
    const bool down_same_bits = !down_few_tokens && (!down_one_token || I <= 256);
    if (down_same_bits)
      CHECK_MESSAGE(std::memcmp(l_out.data(), g_out.data(), l_out.size() * sizeof(float)) == 0,
                    "down with in-kernel routing differs from moe_align's routing");
    if (down_same_bits) l_out.clear();
  }

  // CPU, per pair of a local expert; the tight reference takes the activations the MMAs see.
  const bool tc = uses_tensor_cores(f);
  const auto xr = tc ? bf16_rounded(x) : x;
  const auto ar = tc ? bf16_rounded(act_in) : act_in;
  std::vector<float> got_act, ref_act, loose_act, got_out, ref_out, loose_out, got_act_one, got_out_one;
  size_t nonlocal_nonzero = 0;
  for (int p = 0; p < n; ++p) {
    const int e = ids[p] - begin;
    if (e < 0 || e >= L) {
      for (int h = 0; h < H; ++h) nonlocal_nonzero += g_out[static_cast<size_t>(p) * H + h] != 0.0f;
      continue;
    }
    const int t = p / top_k;
    const auto a = cpu_gate_up(gate, up, e, ptr_or_null(gb), ptr_or_null(ub), &xr[static_cast<size_t>(t) * H], act_kind);
    got_act.insert(got_act.end(), g_act.begin() + static_cast<size_t>(p) * I, g_act.begin() + static_cast<size_t>(p + 1) * I);
    if (!l_act.empty())
      got_act_one.insert(got_act_one.end(), l_act.begin() + static_cast<size_t>(p) * I, l_act.begin() + static_cast<size_t>(p + 1) * I);
    ref_act.insert(ref_act.end(), a.begin(), a.end());
    std::vector<float> y(H);
    cpu::matmul(&ar[static_cast<size_t>(p) * I], 1, down.matrix(e), y.data());
    for (int h = 0; h < H; ++h) ref_out.push_back(rw[p] * (y[h] + (biases ? bias_scale * db[e * H + h] : 0.0f)));
    got_out.insert(got_out.end(), g_out.begin() + static_cast<size_t>(p) * H, g_out.begin() + static_cast<size_t>(p + 1) * H);
    if (!l_out.empty())
      got_out_one.insert(got_out_one.end(), l_out.begin() + static_cast<size_t>(p) * H, l_out.begin() + static_cast<size_t>(p + 1) * H);
    if (tc) {
      const auto la = cpu_gate_up(gate, up, e, ptr_or_null(gb), ptr_or_null(ub), &x[static_cast<size_t>(t) * H], act_kind);
      loose_act.insert(loose_act.end(), la.begin(), la.end());
      cpu::matmul(&act_in[static_cast<size_t>(p) * I], 1, down.matrix(e), y.data());
      for (int h = 0; h < H; ++h) loose_out.push_back(rw[p] * (y[h] + (biases ? bias_scale * db[e * H + h] : 0.0f)));
    }
  }
  CHECK(nonlocal_nonzero == 0);
  const double tol = tc ? 1e-3 : 1e-4;
  const double sa = std::max(1.0, rms(ref_act)), so = std::max(1.0, rms(ref_out));  // big experts: scale atol
  auto c1 = test::compare(got_act, ref_act, tol * sa, tol);
  CHECK_MESSAGE(c1.ok, "gate_up: ", c1.report);
  if (!got_act_one.empty()) {
    auto c = test::compare(got_act_one, ref_act, tol * sa, tol);
    CHECK_MESSAGE(c.ok, "gate_up, one-token kernel: ", c.report);
    if (tc) {
      auto cl = test::compare(got_act_one, loose_act, 2e-2 * rms(loose_act), 2e-2);
      CHECK_MESSAGE(cl.ok, "gate_up, one-token kernel, vs FP32 activations: ", cl.report);
    }
  }
  if (!got_out_one.empty()) {
    auto c = test::compare(got_out_one, ref_out, tol * so, tol);
    CHECK_MESSAGE(c.ok, "down, ", down_few_tokens ? "several-token" : "one-token", " kernel: ", c.report);
    if (tc) {
      auto cl = test::compare(got_out_one, loose_out, 2e-2 * rms(loose_out), 2e-2);
      CHECK_MESSAGE(cl.ok, "down, own kernel, vs FP32 activations: ", cl.report);
    }
  }
  auto c2 = test::compare(got_out, ref_out, tol * so, tol);
  CHECK_MESSAGE(c2.ok, "down: ", c2.report);
  if (tc) {
    auto c3 = test::compare(got_act, loose_act, 2e-2 * rms(loose_act), 2e-2);
    CHECK_MESSAGE(c3.ok, "gate_up vs FP32 activations: ", c3.report);
    auto c4 = test::compare(got_out, loose_out, 2e-2 * rms(loose_out), 2e-2);
    CHECK_MESSAGE(c4.ok, "down vs FP32 activations: ", c4.report);
  }
}

}  // namespace

TEST_CASE("gpu moe_gate_up / moe_down equal the CPU per expert: every format, both SwiGLU kinds, 0..64 tokens") {
  // 8 experts with 0, 1, 2, 5, 16, 0, 64, 12 pairs (100 = 25 tokens x top-4). K has a partial last
  // k-iteration (H = 320: 10 MXFP4 blocks).
  const std::vector<int> counts = {0, 1, 2, 5, 16, 0, 64, 12};
  uint64_t seed = 1000;
  for (WeightFormat f : kFormats) {
    check_experts(f, kStandard, 8, 0, 8, 320, 96, counts, 4, ++seed, false);
    check_experts(f, kGptOss, 8, 0, 8, 320, 96, counts, 4, ++seed, true);  // gpt-oss: clamped SwiGLU + biases
  }
}

TEST_CASE("gpu moe experts: ragged shapes (row and K tails), many experts, gpt-oss width, big MXFP4 scales") {
  uint64_t seed = 2000;
  const int tables_before = token_table_checks, any_k_before_case = token_table_any_k_checks;
  // BF16 with rows and K that are not multiples of the tiles (H = 200: 25 blocks of 8; I = 40).
  check_experts(WeightFormat::BF16, kGptOss, 8, 0, 8, 200, 40, {3, 0, 9, 1, 0, 0, 7, 4}, 8, ++seed, true);
  check_experts(WeightFormat::F32, kStandard, 8, 0, 8, 36, 20, {3, 0, 9, 1, 0, 0, 7, 4}, 8, ++seed, true);
  // 64 experts with 1..4 pairs each: enough items that the kernel picks no K split.
  std::vector<int> many(64);
  for (int e = 0; e < 64; ++e) many[e] = 1 + e % 4;
  for (WeightFormat f : {WeightFormat::MXFP4, WeightFormat::BF16})
    check_experts(f, kStandard, 64, 0, 64, 256, 64, many, 8, ++seed, false);
  // gpt-oss hidden width (90 MXFP4 blocks), 64 tokens in one expert: several passes of the staged tokens.
  check_experts(WeightFormat::MXFP4, kGptOss, 4, 0, 4, 2880, 64, {64, 3, 0, 13}, 4, ++seed, true);
  // Scale bytes above 128 (weights x64 in two experts): the decoder's second multiply (gate_up, and down at
  // 3 or more tokens an expert) and down's block-column factor (1 or 2 tokens).
  check_experts(WeightFormat::MXFP4, kStandard, 4, 0, 4, 320, 96, {5, 8, 2, 1}, 4, ++seed, true, 2);
  // Scale bytes above 192 (weights x 2^80): block columns' slow factor path (1 or 2 tokens an expert) and
  // the decoder's second multiply. gpt-oss's clamped SwiGLU keeps gate_up's outputs finite; down's are ~2^80.
  check_experts(WeightFormat::MXFP4, kGptOss, 4, 0, 4, 320, 96, {1, 2, 3, 2}, 4, ++seed, true, 2, 0x1p80f);
  // Every MXFP4 configuration (moe_gemm_launch.cuh): gate_up over K = 4608 (36 k-iterations: 16 warps,
  // depth 2, the weight ring in shared memory) with down over 4608 rows (16 warps, depth 2), big scales
  // included; down over K = 2048 (16 k-iterations: depth 4). The cases above take depth 4 for gate_up and 2
  // for down.
  check_experts(WeightFormat::MXFP4, kStandard, 4, 0, 4, 4608, 64, {3, 1, 0, 2}, 2, ++seed, true, 2);
  check_experts(WeightFormat::MXFP4, kStandard, 4, 0, 4, 320, 2048, {2, 0, 5, 1}, 2, ++seed, true);
  // MiMo-V2.5-Pro's K = 6144 with the shared-memory ring: its staging leaves room for 8 tokens a pass, so
  // the expert with 12 takes two passes (the ring's cursor runs on across them).
  check_experts(WeightFormat::MXFP4, kStandard, 4, 0, 4, 6144, 64, {12, 1, 0, 3}, 2, ++seed, true, 2);
  // gate_up's token table (at most 16 tokens, K <= 2048) took the BF16 step of 3 tokens (K = 200) and the MXFP4 steps
  // of 4 tokens at K = 320 (big scales; and down's K = 2048); not 20 tokens, 2 (block columns) or K = 4608 and 6144.
  // At any K (Always) also the 3 tokens at K = 4608 (the shared-memory ring) and the 8 at 6144 (passes of one n-tile).
  CHECK(token_table_checks - tables_before == 3);
  CHECK(token_table_any_k_checks - any_k_before_case == 5);
}

TEST_CASE("gpu moe gate_up at one or two tokens a step (MXFP4 block columns, a kernel of their own) equals the CPU") {
  // Steps of m <= 2 tokens give every expert at most two: gate_up then runs its block-column kernel in both
  // 8-warp MXFP4 configurations (moe_gemm_launch.cuh's gate_up_block_columns; such steps never have the
  // pairs of the 16-warp one), against the CPU as every case above.
  uint64_t seed = 2500;
  for (const cpu::SwigluParams& act : {kStandard, kGptOss}) {
    check_experts(WeightFormat::MXFP4, act, 8, 0, 8, 320, 96, {1, 0, 1, 1, 0, 0, 0, 1}, 4, ++seed, true);       // m = 1
    check_experts(WeightFormat::MXFP4, act, 8, 0, 8, 320, 96, {2, 1, 1, 0, 2, 0, 1, 1}, 4, ++seed, false);      // m = 2
    check_experts(WeightFormat::MXFP4, act, 8, 2, 4, 320, 96, {1, 2, 0, 2, 1, 1, 0, 1}, 4, ++seed, true);       // ep range
  }
  // The depth-2 configuration (K = 4608), with big scales. The standard SwiGLU, as the ragged-shape test's
  // case of this width: with gpt-oss's clamped one and weights x 64 the check against unrounded activations
  // (not the kernel's, which is checked against the CPU fed the same BF16 activations) exceeded its 2% of rms.
  check_experts(WeightFormat::MXFP4, kStandard, 4, 0, 4, 4608, 64, {1, 0, 1, 0}, 2, ++seed, true, 2, 64.0f, 2);
  // Scale bytes above 192 (weights x 2^80): the slow factor path, decided per slot (K = 320, depth 4) and
  // per round (K = 4608, depth 2); the clamped SwiGLU keeps the outputs finite.
  check_experts(WeightFormat::MXFP4, kGptOss, 4, 0, 4, 320, 96, {2, 1, 1, 0}, 2, ++seed, true, 2, 0x1p80f);
  check_experts(WeightFormat::MXFP4, kGptOss, 4, 0, 4, 4608, 64, {1, 0, 1, 0}, 2, ++seed, true, 2, 0x1p80f, 2);
  // (The epilogue's row guard is not reached: an MXFP4 gate_up's rows are down's K, whole 32-value blocks.
  // Which kernel ran is not observable here; the host's rule, m <= 2, holds for every case above.)
}

TEST_CASE("gpu moe down at 2-16 tokens a step (each CTA's share through a ring of bulk copies) equals the CPU") {
  // Steps routed in-kernel take moe_down_few_tokens.cu's kernel (check_experts makes it take every K, checks that
  // it does, and its outputs against the CPU). A verify block of 9 tokens x top-8 over MiMo-V2.5-Pro's rows
  // (H = 6144) at the 1-GPU tp slice's K = 256, clustered on 21 of 24 experts as the bench's routing is, one expert
  // with all 9 (two n-tiles), the two busiest with big scales; the same under ep (12 local experts); 8 tokens x
  // top-8 spread over 64 experts at Qwen3-30B-A3B's rows (H = 2048, K = 768: the default rule takes it), where a
  // CTA's run is longer than its ring (refilled slots); an expert with more pairs than a pass holds (12 at 2
  // tokens: two passes over its weights).
  uint64_t seed = 2700;
  const std::vector<int> verify = {9, 8, 7, 6, 5, 5, 4, 4, 3, 3, 3, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 0, 0, 0};
  check_experts(WeightFormat::MXFP4, kStandard, 24, 0, 24, 6144, 256, verify, 8, ++seed, true, 2);
  check_experts(WeightFormat::MXFP4, kGptOss, 24, 6, 12, 6144, 256, verify, 8, ++seed, true);
  check_experts(WeightFormat::MXFP4, kStandard, 64, 0, 64, 2048, 768, std::vector<int>(64, 1), 8, ++seed, false);
  check_experts(WeightFormat::MXFP4, kStandard, 4, 0, 4, 320, 96, {12, 4, 0, 0}, 8, ++seed, true);
}

TEST_CASE("gpu moe gate_up at one token (the whole share by bulk copies) equals the CPU and, at MiMo-V2.5-Pro's rows, the block-column kernel's bits") {
  // Steps of one token whose gate_up is routed in-kernel, over rows that bulk copies take (K a multiple of
  // 512), with a CTA for every unit of 16 rows, run moe_one_token.cu's kernel; moe_align's routing keeps the
  // block-column kernel.
  uint64_t seed = 2700;
  const int tail_before = down_tail_checks;
  std::vector<int> eight(16, 0);
  for (int e = 0; e < 16; e += 2) eight[e] = 1;
  // The MiMo-V2.5-Pro tp slice's shape (K = 6144, 256 rows an expert, top-8 over 8 of 16 experts): both kernels
  // split K eight ways (6 k-iterations a warp), so they must give the same bits; with biases, and with scale
  // bytes above 128 in two experts.
  check_experts(WeightFormat::MXFP4, kStandard, 16, 0, 16, 6144, 256, eight, 8, ++seed, true, 2, 64.0f, 1);
  // An ep range: pairs of experts outside [4, 12) have no units.
  check_experts(WeightFormat::MXFP4, kStandard, 16, 4, 8, 6144, 256, eight, 8, ++seed, false, 0, 64.0f, 1);
  // Two row tiles an expert (I = 32), with gpt-oss's clamped SwiGLU and biases. (MXFP4 rows of gate_up are down's
  // K, whole 32-value blocks: a unit is never part of a row tile.)
  check_experts(WeightFormat::MXFP4, kGptOss, 16, 0, 16, 2048, 32, eight, 8, ++seed, true, 0, 64.0f, 2);
  // K = 512: one k-iteration in each of the first four K splits, the last two copy chunks empty.
  check_experts(WeightFormat::MXFP4, kStandard, 16, 0, 16, 512, 256, eight, 8, ++seed, true, 0, 64.0f, 2);
  // Qwen3-30B-A3B's shape (K = 2048, 768 rows an expert): 8 x 48 units of 16 rows are more than the SMs, so units
  // of 48 rows (3 tiles of each matrix, 4 K splits) with big scales; and 736 rows, whose last unit has one tile.
  check_experts(WeightFormat::MXFP4, kStandard, 16, 0, 16, 2048, 768, eight, 8, ++seed, true, 2, 64.0f, 2);
  check_experts(WeightFormat::MXFP4, kGptOss, 16, 0, 16, 2048, 736, eight, 8, ++seed, true, 0, 64.0f, 2);
  // More units than CTAs (8 pairs x 128 row tiles): the block-column kernel keeps the step.
  check_experts(WeightFormat::MXFP4, kStandard, 16, 0, 16, 512, 2048, eight, 8, ++seed, true, 0, 64.0f, 0);
  // Scale bytes above 192 (weights x 2^80): the slow factor path; K = 1536 (12 blocks a warp's 3 k-iterations).
  check_experts(WeightFormat::MXFP4, kGptOss, 16, 0, 16, 1536, 96, eight, 8, ++seed, true, 2, 0x1p80f, 2);
  // Every case above also ran down with the combine + add + norm in its last CTA, with and without a delta (rows of at
  // least 512 each, MiMo-V2.5-Pro's and Qwen3-30B-A3B's among them), against combine_add_rmsnorm bit for bit.
  CHECK(down_tail_checks - tail_before == 16);
}

TEST_CASE("gpu moe in-kernel routing at its limits: 512 pairs over 384 experts, ep ranges with invalid ids") {
  // MiMo-V2.5-Pro's 8 x 8 verify step under tp (64 tokens x top-8 over all 384 experts, every pair
  // local) and under ep (48 local experts, some ids -1 as in the exchange's unused slots); small H and I.
  // 1, 3 and 4 tokens (8-32 pairs) take the one-warp routing (route_in_warp), 64 the whole CTA's.
  struct Case {
    int begin, L, invalid_every;
  };
  const int E = 384, k = 8, H = 128, I = 64;
  uint64_t seed = 7000;
  for (const int m : {64, 1, 3, 4})
  for (const Case c : {Case{0, 384, 0}, Case{96, 48, 7}}) {
    const int n = m * k;
    CAPTURE(m);
    CAPTURE(c.L);
    std::vector<int32_t> ids(n);
    for (int t = 0; t < m; ++t) {  // k distinct experts per token, clustered so that some experts get many pairs
      std::set<int> used;
      for (int j = 0; j < k; ++j) {
        int e;
        do e = static_cast<int>(lcg(seed) % 2 ? lcg(seed) % 24 : lcg(seed) % E) + c.begin % E;
        while (!used.insert(e % E).second);
        ids[t * k + j] = e % E;
      }
    }
    if (c.invalid_every)
      for (int i = 0; i < n; i += c.invalid_every) ids[i] = -1;
    const ExpertSet full = random_expert_set(WeightFormat::MXFP4, E, H, I, ++seed, false);
    const cuda::DeviceWeight g(slice_weight(full.gate, c.begin, c.begin + c.L, 0, I, 0, H));
    const cuda::DeviceWeight u(slice_weight(full.up, c.begin, c.begin + c.L, 0, I, 0, H));
    const cuda::DeviceWeight d(slice_weight(full.down, c.begin, c.begin + c.L, 0, H, 0, I));
    auto d_ids = DeviceBuffer<int32_t>::from(ids);
    auto d_x = DeviceBuffer<float>::from(test::random_floats(static_cast<size_t>(m) * H, ++seed));
    auto d_rw = DeviceBuffer<float>::from(test::random_floats(n, ++seed, 0.3f, 0.5f));
    DeviceRouting dr(c.L, c.begin, n + 8);
    REQUIRE(cuda::moe_routes_in_kernel(m, k, dr.r, d_x.get(), g.experts(), u.experts(), d_x.get(), d.experts()));
    if (m == 64)
      CHECK_FALSE(cuda::moe_routes_in_kernel(m + 1, k, dr.r, d_x.get(), g.experts(), u.experts(), d_x.get(), d.experts()));
    std::vector<float> results[2][2];
    for (int in_kernel = 0; in_kernel < 2; ++in_kernel) {
      cuda::MoeRouting r = dr.r;
      if (in_kernel) r.expert_ids = d_ids.get();
      else cuda::moe_align(d_ids.get(), m, k, dr.r, nullptr);
      DeviceBuffer<float> act(static_cast<size_t>(n) * I), out(static_cast<size_t>(n) * H);
      test::poison(act.get(), act.size());
      test::poison(out.get(), out.size());
      cuda::moe_gate_up(d_x.get(), m, k, r, g.experts(), u.experts(), nullptr, nullptr, kStandard, act.get(), nullptr);
      cuda::moe_down(act.get(), m, k, r, d.experts(), nullptr, 1.0f, d_rw.get(), out.get(), nullptr);
      results[in_kernel][0] = act.download();
      results[in_kernel][1] = out.download();
    }
    size_t nonlocal = 0, zero_rows = 0;
    for (int p = 0; p < n; ++p)
      if (ids[p] < c.begin || ids[p] >= c.begin + c.L) {
        ++nonlocal;
        bool zero = true;
        for (int h = 0; h < H; ++h) zero &= results[1][1][static_cast<size_t>(p) * H + h] == 0.0f;
        zero_rows += zero;
      }
    CHECK(zero_rows == nonlocal);
    CHECK((nonlocal > 0) == (c.L < E || c.invalid_every > 0));
    for (int j = 0; j < 2; ++j)
      CHECK_MESSAGE(std::memcmp(results[0][j].data(), results[1][j].data(), results[0][j].size() * sizeof(float)) == 0,
                    (j == 0 ? "gate_up" : "down"), " with in-kernel routing differs from moe_align's routing");
  }
}

TEST_CASE("gpu moe experts, ep: local expert ranges; pairs of other experts get zero rows") {
  const std::vector<int> counts = {2, 0, 5, 1, 9, 3, 0, 4, 7, 1, 0, 2, 6, 3, 1, 4};  // 48 = 12 x top-4
  uint64_t seed = 3000;
  for (WeightFormat f : kFormats) {
    check_experts(f, kGptOss, 16, 4, 8, 256, 64, counts, 4, ++seed, true);
    check_experts(f, kStandard, 16, 12, 4, 256, 64, counts, 4, ++seed, false);
  }
}

TEST_CASE("gpu moe experts, tp: intermediate slices sum to the whole expert (down bias counted once)") {
  // Two ranks split the intermediate dimension; rank r runs gate_up and down on its slice with
  // bias_scale = (r == 0). The sum over ranks must equal the whole expert: gated_mlp + bias.
  const int E = 4, H = 256, I = 160, top_k = 4;
  const std::vector<int> counts = {9, 0, 17, 6};
  uint64_t seed = 4000;
  for (WeightFormat f : kFormats) {
    for (const auto& act_kind : {kStandard, kGptOss}) {
      CAPTURE(format_name(f));
      // MXFP4 slices at a multiple of 32 (down's K blocks); the others at 40, inside an FP8 scale block.
      const int cut = f == WeightFormat::MXFP4 ? 64 : 40;
      const auto ids = ids_with_counts(counts, ++seed);
      const int n = static_cast<int>(ids.size()), m = n / top_k;
      const ExpertSet full = random_expert_set(f, E, H, I, ++seed, true);
      const auto x = test::random_floats(static_cast<size_t>(m) * H, ++seed);
      const auto rw = test::random_floats(n, ++seed, 0.3f, 0.5f);
      auto d_ids = DeviceBuffer<int32_t>::from(ids);
      auto d_x = DeviceBuffer<float>::from(x), d_rw = DeviceBuffer<float>::from(rw);
      auto d_db = DeviceBuffer<float>::from(full.down_bias);
      DeviceRouting dr(E, 0, n);
      cuda::moe_align(d_ids.get(), m, top_k, dr.r, nullptr);
      std::vector<float> sum(static_cast<size_t>(n) * H, 0.0f);
      for (int rank = 0; rank < 2; ++rank) {
        const int i0 = rank == 0 ? 0 : cut, i1 = rank == 0 ? cut : I;
        const cuda::DeviceWeight g(slice_weight(full.gate, 0, E, i0, i1, 0, H)), u(slice_weight(full.up, 0, E, i0, i1, 0, H));
        const cuda::DeviceWeight d(slice_weight(full.down, 0, E, 0, H, i0, i1));
        auto d_gb = DeviceBuffer<float>::from(slice_rows(full.gate_bias, I, 0, E, i0, i1));
        auto d_ub = DeviceBuffer<float>::from(slice_rows(full.up_bias, I, 0, E, i0, i1));
        DeviceBuffer<float> act(static_cast<size_t>(n) * (i1 - i0)), out(static_cast<size_t>(n) * H);
        test::poison(out.get(), out.size());
        cuda::moe_gate_up(d_x.get(), m, top_k, dr.r, g.experts(), u.experts(), d_gb.get(), d_ub.get(), act_kind, act.get(), nullptr);
        cuda::moe_down(act.get(), m, top_k, dr.r, d.experts(), d_db.get(), rank == 0 ? 1.0f : 0.0f, d_rw.get(), out.get(), nullptr);
        const auto o = out.download();
        for (size_t i = 0; i < sum.size(); ++i) sum[i] += o[i];
      }
      std::vector<float> ref(sum.size());
      for (int p = 0; p < n; ++p) {
        const int e = ids[p];
        cpu::GatedMlpWeights w{full.gate.matrix(e), full.up.matrix(e), full.down.matrix(e),
                               full.gate_bias.data() + e * I, full.up_bias.data() + e * I};
        std::vector<float> y(H);
        cpu::gated_mlp(&x[static_cast<size_t>(p / top_k) * H], 1, w, act_kind, y.data());
        for (int h = 0; h < H; ++h) ref[static_cast<size_t>(p) * H + h] = rw[p] * (y[h] + full.down_bias[e * H + h]);
      }
      // Against FP32 activations: BF16 rounding (twice: x, then act) for the tensor-core formats.
      const double tol = uses_tensor_cores(f) ? 2e-2 : 1e-4;
      const auto c = test::compare(sum, ref, tol * rms(ref), tol);
      CHECK_MESSAGE(c.ok, c.report);
    }
  }
}

// ---------------------------------------------------------------------------------------------------
TEST_CASE("gpu moe pipeline: route -> align -> gate_up -> down -> combine equals the CPU composition") {
  struct Case {
    const char* name;
    RouterKind kind;
    bool normalize;
    float scaling;
    bool correction, router_bias;
    cpu::SwigluParams act;
    bool biases;
    WeightFormat format;
    int E, k, H, I, m;
    int ranks;  // ep: experts split across this many simulated ranks, y summed over them
  };
  const Case cases[] = {
      {"gpt-oss-like mxfp4", RouterKind::TopKSoftmax, false, 1.0f, false, true, kGptOss, true, WeightFormat::MXFP4, 32, 4, 320, 128, 9, 1},
      {"gpt-oss-like mxfp4 ep2", RouterKind::TopKSoftmax, false, 1.0f, false, true, kGptOss, true, WeightFormat::MXFP4, 32, 4, 320, 128, 5, 2},
      {"qwen-like bf16", RouterKind::SoftmaxTopK, true, 1.0f, false, false, kStandard, false, WeightFormat::BF16, 64, 8, 256, 64, 17, 1},
      {"mimo-like fp8 ep4", RouterKind::SigmoidTopK, true, 2.5f, true, false, kStandard, false, WeightFormat::FP8, 48, 8, 256, 64, 3, 4},
      {"f32 softmax", RouterKind::SoftmaxTopK, false, 1.0f, false, false, kStandard, false, WeightFormat::F32, 16, 2, 64, 32, 64, 1},
  };
  uint64_t seed = 5000;
  for (const Case& c : cases) {
    CAPTURE(c.name);
    const ExpertSet full = random_expert_set(c.format, c.E, c.H, c.I, ++seed, c.biases);
    const auto x = test::random_floats(static_cast<size_t>(c.m) * c.H, ++seed);
    auto logits = test::random_floats(static_cast<size_t>(c.m) * c.E, ++seed, 2.0f);
    if (c.router_bias) {
      const auto b = test::random_floats(c.E, ++seed, 0.5f);
      for (int t = 0; t < c.m; ++t)
        for (int e = 0; e < c.E; ++e) logits[t * c.E + e] += b[e];
    }
    std::vector<float> corr;
    if (c.correction) corr = test::random_floats(c.E, ++seed, 0.1f);
    const auto y0 = test::random_floats(static_cast<size_t>(c.m) * c.H, ++seed);  // the residual stream

    // CPU: route, then every (token, slot) through its expert, summed in slot order onto y.
    const int n = c.m * c.k;
    std::vector<int32_t> ids(n);
    std::vector<float> w(n);
    cpu::route(logits.data(), c.m, {c.kind, c.E, c.k, c.normalize, c.scaling, ptr_or_null(corr)}, ids.data(), w.data());
    std::vector<float> ref = y0;
    for (int t = 0; t < c.m; ++t) {
      std::vector<float> acc(c.H, 0.0f), y(c.H);
      for (int j = 0; j < c.k; ++j) {
        const int e = ids[t * c.k + j];
        cpu::GatedMlpWeights ew{full.gate.matrix(e), full.up.matrix(e), full.down.matrix(e),
                                c.biases ? full.gate_bias.data() + e * c.I : nullptr,
                                c.biases ? full.up_bias.data() + e * c.I : nullptr};
        cpu::gated_mlp(&x[static_cast<size_t>(t) * c.H], 1, ew, c.act, y.data());
        for (int h = 0; h < c.H; ++h) acc[h] += w[t * c.k + j] * (y[h] + (c.biases ? full.down_bias[e * c.H + h] : 0.0f));
      }
      for (int h = 0; h < c.H; ++h) ref[static_cast<size_t>(t) * c.H + h] += acc[h];
    }

    // GPU: each simulated rank routes, aligns its local experts and adds its share onto its copy of y.
    auto d_logits = DeviceBuffer<float>::from(logits), d_x = DeviceBuffer<float>::from(x);
    auto d_corr = upload_or_empty(corr);
    DeviceBuffer<int32_t> d_ids(n);
    DeviceBuffer<float> d_w(n);
    cuda::RouterDeviceParams rp{c.kind, c.E, c.k, c.normalize, c.scaling, corr.empty() ? nullptr : d_corr.get()};
    std::vector<float> got(y0.size(), 0.0f);
    for (int rank = 0; rank < c.ranks; ++rank) {
      const int L = c.E / c.ranks, begin = rank * L;
      cuda::moe_route(d_logits.get(), c.m, rp, d_ids.get(), d_w.get(), nullptr);
      DeviceRouting dr(L, begin, n);
      cuda::moe_align(d_ids.get(), c.m, c.k, dr.r, nullptr);
      const cuda::DeviceWeight g(slice_weight(full.gate, begin, begin + L, 0, c.I, 0, c.H));
      const cuda::DeviceWeight u(slice_weight(full.up, begin, begin + L, 0, c.I, 0, c.H));
      const cuda::DeviceWeight d(slice_weight(full.down, begin, begin + L, 0, c.H, 0, c.I));
      auto d_gb = upload_or_empty(c.biases ? slice_rows(full.gate_bias, c.I, begin, begin + L, 0, c.I) : std::vector<float>{});
      auto d_ub = upload_or_empty(c.biases ? slice_rows(full.up_bias, c.I, begin, begin + L, 0, c.I) : std::vector<float>{});
      auto d_db = upload_or_empty(c.biases ? slice_rows(full.down_bias, c.H, begin, begin + L, 0, c.H) : std::vector<float>{});
      DeviceBuffer<float> act(static_cast<size_t>(n) * c.I), out(static_cast<size_t>(n) * c.H);
      auto d_y = DeviceBuffer<float>::from(rank == 0 ? y0 : std::vector<float>(y0.size(), 0.0f));
      test::poison(out.get(), out.size());
      cuda::moe_gate_up(d_x.get(), c.m, c.k, dr.r, g.experts(), u.experts(), c.biases ? d_gb.get() : nullptr,
                        c.biases ? d_ub.get() : nullptr, c.act, act.get(), nullptr);
      cuda::moe_down(act.get(), c.m, c.k, dr.r, d.experts(), c.biases ? d_db.get() : nullptr, 1.0f, d_w.get(), out.get(), nullptr);
      const auto y_before = d_y.download();
      cuda::moe_combine(out.get(), c.m, c.k, c.H, d_y.get(), nullptr);
      const auto yr = d_y.download();
      {  // accumulate = false stores the same sum: y_before + stored is exactly what accumulating gave
        DeviceBuffer<float> stored(y0.size());
        test::poison(stored.get(), stored.size());
        cuda::moe_combine(out.get(), c.m, c.k, c.H, stored.get(), nullptr, /*accumulate=*/false);
        const auto st = stored.download();
        bool same = true;
        for (size_t i = 0; i < st.size(); ++i) same &= y_before[i] + st[i] == yr[i];
        CHECK_MESSAGE(same, "moe_combine(accumulate = false) differs from accumulating into y");
      }
      for (size_t i = 0; i < got.size(); ++i) got[i] += yr[i];
    }
    CHECK(d_ids.download() == ids);
    std::vector<float> delta_ref(ref.size()), delta_got(ref.size());  // judge the MoE output, not y0
    for (size_t i = 0; i < ref.size(); ++i) {
      delta_ref[i] = ref[i] - y0[i];
      delta_got[i] = got[i] - y0[i];
    }
    const double tol = uses_tensor_cores(c.format) ? 2e-2 : 1e-4;
    const auto cmp = test::compare(delta_got, delta_ref, tol * rms(delta_ref), tol);
    CHECK_MESSAGE(cmp.ok, cmp.report);
  }
}

TEST_CASE("gpu moe_dispatch / moe_combine through pair slots: per-destination blocks in pair order, empty slots -1, sums in slot order") {
  // 3 ranks own experts [0, 3), [3, 5), [5, 9); m tokens of top-3 choices, with some tokens sending
  // nothing to a rank and one rank receiving from no token at all (m = 1).
  const std::vector<int32_t> owner = {0, 0, 0, 1, 1, 2, 2, 2, 2};
  const int ranks = 3, K = 3, H = 8;
  for (int m : {1, 2, 7}) {
    CAPTURE(m);
    const int n = m * K, capacity = n;
    std::vector<int32_t> ids(n);
    std::vector<float> weights(n);
    std::mt19937 rng(static_cast<uint32_t>(m));
    for (int t = 0; t < m; ++t) {
      std::vector<int32_t> all(owner.size());
      std::iota(all.begin(), all.end(), 0);
      std::shuffle(all.begin(), all.end(), rng);
      for (int j = 0; j < K; ++j) ids[t * K + j] = m == 1 ? 5 + j : all[j];  // m = 1: everything to rank 2
    }
    for (int i = 0; i < n; ++i) weights[i] = 0.25f + static_cast<float>(i);
    const auto x = test::random_floats(static_cast<size_t>(m) * H, 40 + m);
    auto d_owner = DeviceBuffer<int32_t>::from(owner), d_ids = DeviceBuffer<int32_t>::from(ids);
    auto d_w = DeviceBuffer<float>::from(weights), d_x = DeviceBuffer<float>::from(x);
    DeviceBuffer<int32_t> send_ids(ranks * capacity), pair_slot(n);
    DeviceBuffer<float> send_w(ranks * capacity), send_x(static_cast<size_t>(ranks) * capacity * H);
    const cuda::EpExchange ex{d_owner.get(), ranks, capacity, send_ids.get(), send_w.get(), send_x.get(), pair_slot.get()};
    cuda::moe_dispatch(d_x.get(), d_ids.get(), d_w.get(), m, K, H, ex, nullptr);
    const auto got_ids = send_ids.download(), got_slot = pair_slot.download();
    const auto got_w = send_w.download(), got_x = send_x.download();

    // What the CPU step sends: per destination, its pairs in ascending pair order.
    std::vector<int> next(ranks, 0);
    for (int i = 0; i < n; ++i) {
      const int d = owner[ids[i]];
      const int slot = d * capacity + next[d]++;
      CHECK(got_slot[i] == slot);
      CHECK(got_ids[slot] == ids[i]);
      CHECK(got_w[slot] == weights[i]);
      for (int c = 0; c < H; ++c) CHECK(got_x[static_cast<size_t>(slot) * H + c] == x[static_cast<size_t>(i / K) * H + c]);
    }
    for (int d = 0; d < ranks; ++d)
      for (int s = next[d]; s < capacity; ++s) CHECK(got_ids[d * capacity + s] == -1);

    // Returned rows (any values) summed per token in slot order, then added to y.
    const auto back = test::random_floats(static_cast<size_t>(ranks) * capacity * H, 50 + m);
    auto y = test::random_floats(static_cast<size_t>(m) * H, 60 + m);
    auto d_back = DeviceBuffer<float>::from(back), d_y = DeviceBuffer<float>::from(y);
    cuda::moe_combine(d_back.get(), m, K, H, d_y.get(), nullptr, /*accumulate=*/true, pair_slot.get());
    for (int t = 0; t < m; ++t)
      for (int c = 0; c < H; ++c) {
        float s = 0.0f;
        for (int j = 0; j < K; ++j) s += back[static_cast<size_t>(got_slot[t * K + j]) * H + c];
        y[static_cast<size_t>(t) * H + c] += s;
      }
    const auto c = test::compare(d_y.download(), y, 0, 0);  // the same FP32 additions in the same order
    CHECK_MESSAGE(c.ok, c.report);
  }
}

TEST_CASE("gpu moe, batch invariance: a token's expert outputs are the same bits whatever the step's tokens") {
  // kernels/cuda/batch_invariant.h: the expert GEMMs take the n-tile kernel at every token count, with a configuration
  // and K split set by the weight shape. The step's first m tokens (of m_max, the same x and experts) must give the
  // same gate_up and down rows at every m: across the one-token, block-column and several-token kernels the default
  // mode takes, in-kernel routing and moe_align's, and experts of one pair or of many (several passes). Shapes: the
  // embedded default's experts (16 top-4, H 384, I 96), Qwen3-30B-A3B's rows at fewer experts (K 2048 and 768), the
  // MiMo-V2.5-Pro slice's long gate_up rows (K 6144, the shared-memory ring) and BF16 experts.
  struct Case {
    const char* name;
    WeightFormat format;
    int E, k, H, I;
  };
  const Case cases[] = {
      {"default target", WeightFormat::MXFP4, 16, 4, 384, 96},
      {"qwen3-30b-a3b rows", WeightFormat::MXFP4, 32, 8, 2048, 768},
      {"mimo slice rows", WeightFormat::MXFP4, 24, 8, 6144, 256},
      {"bf16", WeightFormat::BF16, 16, 4, 512, 256},
  };
  const int m_max = 100;
  test::BatchInvariantScope invariant;
  uint64_t seed = 9300;
  for (const Case& c : cases) {
    const std::string name = c.name;
    CAPTURE(name);
    const ExpertSet full = random_expert_set(c.format, c.E, c.H, c.I, ++seed, false);
    const cuda::DeviceWeight g(full.gate), u(full.up), d(full.down);
    std::vector<int32_t> ids(static_cast<size_t>(m_max) * c.k);
    for (int t = 0; t < m_max; ++t) {  // k distinct experts a token, some experts far more often than others
      std::set<int> used;
      for (int j = 0; j < c.k; ++j) {
        int e;
        do e = static_cast<int>(lcg(seed) % 2 ? lcg(seed) % 6 : lcg(seed) % c.E);
        while (!used.insert(e).second);
        ids[t * c.k + j] = e;
      }
    }
    auto d_ids = DeviceBuffer<int32_t>::from(ids);
    auto d_x = DeviceBuffer<float>::from(test::random_floats(static_cast<size_t>(m_max) * c.H, ++seed));
    auto d_rw = DeviceBuffer<float>::from(test::random_floats(ids.size(), ++seed, 0.3f, 0.5f));
    DeviceRouting dr(c.E, 0, static_cast<int>(ids.size()));
    auto run = [&](int m) {
      const int n = m * c.k;
      DeviceBuffer<float> act(static_cast<size_t>(n) * c.I), out(static_cast<size_t>(n) * c.H);
      test::poison(act.get(), act.size());
      test::poison(out.get(), out.size());
      cuda::MoeRouting r = dr.r;  // as the step routes: in the kernels where they can, else moe_align
      if (cuda::moe_routes_in_kernel(m, c.k, dr.r, d_x.get(), g.experts(), u.experts(), act.get(), d.experts()))
        r.expert_ids = d_ids.get();
      else
        cuda::moe_align(d_ids.get(), m, c.k, dr.r, nullptr);
      cuda::moe_gate_up(d_x.get(), m, c.k, r, g.experts(), u.experts(), nullptr, nullptr, kStandard, act.get(), nullptr);
      cuda::moe_down(act.get(), m, c.k, r, d.experts(), nullptr, 1.0f, d_rw.get(), out.get(), nullptr);
      CUDA_CHECK(cudaDeviceSynchronize());
      return std::make_pair(act.download(), out.download());
    };
    const auto all = run(m_max);
    for (int m : {1, 2, 3, 8, 9, 16, 17, 64}) {
      const auto part = run(m);
      const size_t act_differ = test::differing_bits(part.first, all.first, part.first.size());
      const size_t out_differ = test::differing_bits(part.second, all.second, part.second.size());
      CHECK_MESSAGE(act_differ == 0, act_differ, " of ", part.first.size(), " gate_up outputs differ at m = ", m);
      CHECK_MESSAGE(out_differ == 0, out_differ, " of ", part.second.size(), " down outputs differ at m = ", m);
    }
    // And against the CPU: token 0's expert rows, the activations BF16-rounded as the tensor cores take them.
    const std::vector<float> x_all = d_x.download();
    std::vector<float> x0 = bf16_rounded(std::vector<float>(x_all.begin(), x_all.begin() + c.H));
    const std::vector<float> route_weights = d_rw.download();
    for (int j = 0; j < c.k; ++j) {
      const int e = ids[j];
      cpu::GatedMlpWeights ew{full.gate.matrix(e), full.up.matrix(e), full.down.matrix(e), nullptr, nullptr};
      std::vector<float> y(c.H);
      cpu::gated_mlp(x0.data(), 1, ew, kStandard, y.data());
      for (float& v : y) v *= route_weights[j];
      const std::vector<float> got(all.second.begin() + static_cast<size_t>(j) * c.H,
                                   all.second.begin() + static_cast<size_t>(j + 1) * c.H);
      const auto cmp = test::compare(got, y, 2e-2 * rms(y), 2e-2);
      CHECK_MESSAGE(cmp.ok, "slot ", j, ": ", cmp.report);
    }
  }
}

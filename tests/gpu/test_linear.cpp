// GPU dense linear (kernels/cuda/linear) against its CPU twin (kernels/cpu/matmul + add_bias), in every
// stored format, for decode and verify row counts, shapes that are not multiples of the tiles, FP8
// slices that start inside a 128-block, bias and accumulate epilogues, and forced launch plans (every
// cluster split and several tiles per warp), plus the benchmark rows (skipped by default).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "gpu_test_util.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cuda/linear.h"
#include "kernels/cuda/linear_split_x.h"
#include "kernels/cuda/linear_stream.h"
#include "model/bf16.h"
#include "model/fp8.h"

using namespace tachyon;
using cuda::DeviceBuffer;

namespace {

// Tolerance per output element, relative to sum_k |x_k * w_k| (the scale of the rounding errors of a
// length-K dot product; both sides accumulate in FP32 in different orders). The FMA path's difference
// from the CPU is a few FP32 ulps of that sum (rel 1e-5 leaves a wide margin up to K ~ 1100). The
// tensor-core path multiplies BF16-rounded x (the reference is fed the same rounded x, so the rounding
// itself cancels) and accumulates 16 products per mma in the tensor core's FP32 adder (whose rounding
// may truncate), and FP8 folds each 128-block with one more FP32 rounding: rel 3e-5.
constexpr double kRelFma = 1e-5, kRelMma = 3e-5;

bool uses_tensor_cores(WeightFormat f, int m) {
  return (f == WeightFormat::BF16 || f == WeightFormat::FP8) && (m > cuda::kLinearFp32MaxM || cuda::batch_invariant());
}

std::vector<float> bf16_rounded(std::vector<float> v) {
  for (float& x : v) x = bf16_to_float(float_to_bf16(x));
  return v;
}

struct Case {
  WeightFormat format;
  int m;
  bool bias, accumulate;
  cuda::LinearPlan plan;
  bool fp32_activations = false;  // LinearEpilogue::fp32_activations (the routers)
  float x_gain = 1.0f;  // x times this, and each element times 2^u, u uniform in [-x_spread, x_spread]
  int x_spread = 0;
};

// Runs one GPU call on `dev` (a view of the same matrix as `view`) and compares with the CPU.
void check_linear(const MatrixView& view, const cuda::DeviceMatrix& dev, const Case& c, uint64_t seed,
                  const std::string& what) {
  const int rows = static_cast<int>(view.rows), cols = static_cast<int>(view.cols), m = c.m;
  auto x = test::random_floats(static_cast<size_t>(m) * cols, seed);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] *= c.x_gain * std::ldexp(1.0f, static_cast<int>((i * 2654435761u) % (2 * c.x_spread + 1)) - c.x_spread);
  const auto bias = test::random_floats(rows, seed + 1);
  const auto y0 = test::random_floats(static_cast<size_t>(m) * rows, seed + 2);
  const bool mma = uses_tensor_cores(c.format, m) && !c.fp32_activations;
  const auto x_ref = mma ? bf16_rounded(x) : x;

  std::vector<float> ref(static_cast<size_t>(m) * rows);
  cpu::matmul(x_ref.data(), m, view, ref.data());
  if (c.bias) cpu::add_bias(ref.data(), m, rows, bias.data());
  if (c.accumulate)
    for (size_t i = 0; i < ref.size(); ++i) ref[i] += y0[i];
  // sum_k |x_k w_k| per output
  std::vector<double> scale(ref.size());
  std::vector<float> wrow(cols);
  for (int r = 0; r < rows; ++r) {
    view.dequantize_row(r, wrow.data());
    for (int i = 0; i < m; ++i) {
      double s = 0;
      for (int k = 0; k < cols; ++k) s += std::fabs(static_cast<double>(x_ref[static_cast<size_t>(i) * cols + k]) * wrow[k]);
      scale[static_cast<size_t>(i) * rows + r] = s;
    }
  }

  auto dx = DeviceBuffer<float>::from(x);
  auto db = DeviceBuffer<float>::from(bias);
  DeviceBuffer<float> dy(ref.size());
  if (c.accumulate) dy.upload(y0);
  else test::poison(dy.get(), dy.size());
  cuda::LinearEpilogue e;
  e.bias = c.bias ? db.get() : nullptr;
  e.accumulate = c.accumulate;
  e.fp32_activations = c.fp32_activations;
  cuda::linear(dx.get(), m, dev, dy.get(), e, c.plan, nullptr);
  CUDA_CHECK(cudaDeviceSynchronize());
  const auto got = dy.download();

  const double rel = mma ? kRelMma : kRelFma;
  size_t bad = 0, worst = 0;
  double worst_ratio = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double tol = rel * scale[i] + 1e-6 * std::min(1.0f, c.x_gain);  // x scaled down: the floor with it
    const double d = std::fabs(static_cast<double>(got[i]) - ref[i]);
    const double ratio = std::isnan(d) ? INFINITY : d / tol;
    if (!(d <= tol)) ++bad;
    if (ratio > worst_ratio || std::isnan(d)) worst_ratio = ratio, worst = i;
  }
  INFO(what, ": ", format_name(c.format), " m=", m, " rows=", rows, " cols=", cols, " bias=", c.bias,
       " acc=", c.accumulate, " fp32 x=", c.fp32_activations, " plan=(", c.plan.splits, ",", c.plan.tiles_per_warp, ",",
       c.plan.tile_rows, ")");
  CHECK_MESSAGE(bad == 0, bad, " of ", ref.size(), " outside tolerance; worst [", worst, "] got ", got[worst], " want ",
                ref[worst], " (", worst_ratio, " x tol)");
}

}  // namespace

TEST_CASE("gpu linear equals the CPU reference in every format, m = 1..100, ragged shapes, epilogues") {
  const std::vector<int> ms = {1, 2, 3, 8, 16, 33, 64, 70, 72, 100};
  uint64_t seed = 100;
  for (WeightFormat f : {WeightFormat::F32, WeightFormat::BF16, WeightFormat::FP8, WeightFormat::MXFP4}) {
    // Row strides that are and are not 16-byte multiples, K tails inside a chunk, rows not a multiple of 16.
    const std::vector<std::pair<int, int>> shapes =
        f == WeightFormat::MXFP4 ? std::vector<std::pair<int, int>>{{200, 320}, {77, 1088}, {150, 1024}}
                                 : std::vector<std::pair<int, int>>{{200, 300}, {77, 1104}, {150, 1024}};
    for (auto [rows, cols] : shapes) {
      const auto values = test::random_floats(static_cast<size_t>(rows) * cols, seed++);
      const HostWeight host = make_host_weight(values.data(), {rows, cols}, f);
      const cuda::DeviceWeight dev(host);
      int i = 0;
      for (int m : ms) {
        if (f == WeightFormat::F32 && m == 70) continue;
        const Case c{f, m, i % 2 == 0, i % 3 == 1, {}};
        ++i;
        check_linear(host.matrix(), dev.matrix(), c, seed++, "auto plan");
      }
    }
  }
}

TEST_CASE("gpu linear: every cluster split, several tiles per warp and both FMA tile shapes give the same results") {
  uint64_t seed = 500;
  for (WeightFormat f : {WeightFormat::BF16, WeightFormat::FP8, WeightFormat::F32, WeightFormat::MXFP4}) {
    const int rows = 300, cols = f == WeightFormat::MXFP4 ? 1088 : 1100;
    const auto values = test::random_floats(static_cast<size_t>(rows) * cols, seed++);
    const HostWeight host = make_host_weight(values.data(), {rows, cols}, f);
    const cuda::DeviceWeight dev(host);
    for (int m : {1, 2, 9, 40}) {
      for (int splits : {1, 2, 4, 8})
        for (int tpw : {1, 2, 3})
          for (int tile_rows : {0, 4}) {  // 4: the FMA path's narrow tiles (the tensor-core path ignores it)
            const Case c{f, m, (splits + tpw) % 2 == 0, splits == 2, {splits, tpw, tile_rows}};
            check_linear(host.matrix(), dev.matrix(), c, seed++, "forced plan");
          }
    }
  }
}

TEST_CASE("gpu linear: FP32 activations (the routers) at verify and batch row counts, both FMA tile shapes") {
  // Past 4 rows the narrow tiles take 8 or 16 tokens a CTA (a router at a verify block is one launch
  // group); the standard tiles 4, or 1 for 3-9 rows over 256 rows or more (the 384-row matrix here). Every row
  // count from 3 to 40 crosses those group sizes, ragged.
  uint64_t seed = 2100;
  for (WeightFormat f : {WeightFormat::BF16, WeightFormat::FP8}) {
    for (auto [rows, cols] : std::vector<std::pair<int, int>>{{384, 1024}, {77, 1104}}) {
      const auto values = test::random_floats(static_cast<size_t>(rows) * cols, seed++);
      const HostWeight host = make_host_weight(values.data(), {rows, cols}, f);
      const cuda::DeviceWeight dev(host);
      for (int m : {3, 5, 8, 9, 16, 17, 40})
        for (const cuda::LinearPlan plan : {cuda::LinearPlan{}, cuda::LinearPlan{8, 1, 4}, cuda::LinearPlan{2, 2, 4},
                                            cuda::LinearPlan{4, 1, 16}}) {
          const Case c{f, m, m % 2 == 1, m == 9, plan, true};
          check_linear(host.matrix(), dev.matrix(), c, seed++, "fp32 activations");
        }
    }
  }
}

TEST_CASE("gpu linear: FP32 activations over BF16 weights on the tensor cores (x split in three) keep FMA precision") {
  // linear() takes linear_split_x for these (no plan asked for): row counts it covers (every one of 3-17, then
  // groups of 3-9 n-tiles up to 128 rows, ragged ones), weight rows that are not a multiple of 16, K tails inside a
  // 32-wide chunk, K slices of 1 to 4 chunks a warp and 1 to 8 CTAs a cluster, bias and accumulate. The tolerance
  // is the FMA path's: BF16-rounded x would miss it by ~100x.
  uint64_t seed = 2600;
  DeviceBuffer<float> probe(static_cast<size_t>(cuda::kSplitXMaxRows) * 8192);  // for linear_split_x_applies' alignment check
  std::vector<int> ms;
  for (int m = cuda::kSplitXMinRows; m <= 17; ++m) ms.push_back(m);
  for (int m : {31, 32, 33, 64, 72, 100, cuda::kSplitXMaxRows}) ms.push_back(m);
  const std::vector<std::pair<int, int>> shapes = {{384, 6144}, {128, 2880}, {77, 1104}, {130, 8192}, {16, 8}, {40, 200}};
  for (auto [rows, cols] : shapes) {
    const auto values = test::random_floats(static_cast<size_t>(rows) * cols, seed++);
    const HostWeight host = make_host_weight(values.data(), {rows, cols}, WeightFormat::BF16);
    const cuda::DeviceWeight dev(host);
    for (int m : ms) {
      if (m > 33 && static_cast<long>(rows) * cols > 1'000'000) continue;  // the CPU reference's time
      REQUIRE(cuda::linear_split_x_applies(probe.get(), m, dev.matrix()));
      const Case c{WeightFormat::BF16, m, m % 3 == 0, m % 4 == 1, {}, true};
      check_linear(host.matrix(), dev.matrix(), c, seed++, "split x");
    }
  }
  // What it declines goes to the FMA path: FP8 weights, 1-2 or more than kSplitXMaxRows rows, K not a multiple of 8.
  const auto v = test::random_floats(64 * 1100, seed++);
  const HostWeight fp8_host = make_host_weight(v.data(), {64, 1100}, WeightFormat::FP8);
  const HostWeight odd_host = make_host_weight(v.data(), {64, 1100}, WeightFormat::BF16);
  const HostWeight ok_host = make_host_weight(v.data(), {64, 1024}, WeightFormat::BF16);
  const cuda::DeviceWeight fp8(fp8_host), odd(odd_host), ok(ok_host);
  CHECK_FALSE(cuda::linear_split_x_applies(probe.get(), 4, fp8.matrix()));
  CHECK_FALSE(cuda::linear_split_x_applies(probe.get(), 4, odd.matrix()));
  CHECK_FALSE(cuda::linear_split_x_applies(probe.get(), cuda::kSplitXMaxRows + 1, ok.matrix()));
  CHECK_FALSE(cuda::linear_split_x_applies(probe.get(), 2, ok.matrix()));
  CHECK(cuda::linear_split_x_applies(probe.get(), 16, ok.matrix()));
  for (int m : {2, 4, 17})
    check_linear(odd_host.matrix(), odd.matrix(), Case{WeightFormat::BF16, m, true, false, {}, true}, seed++, "declined");
  check_linear(ok_host.matrix(), ok.matrix(), Case{WeightFormat::BF16, cuda::kSplitXMaxRows + 3, true, false, {}, true}, seed++,
               "declined (rows)");
}

TEST_CASE("gpu linear: a router's logits for a token are the same bits at every row count of the split-x path") {
  // A verify step's router runs at (sequences x block) rows and a plain decode step's at the batch's rows: within
  // the split-x path (3-128 rows) a token's logits must not depend on the rows beside it: one n-tile, two, one
  // group of 3-9 n-tiles whose x is streamed (17, 40, 64, 72 at this router's 192 CTAs a group), two groups (100: 56 +
  // 44 rows; 128: 64 + 64).
  const int rows = 384, cols = 6144, m_max = cuda::kSplitXMaxRows;
  const auto values = test::random_floats(static_cast<size_t>(rows) * cols, 2700);
  const HostWeight host = make_host_weight(values.data(), {rows, cols}, WeightFormat::BF16);
  const cuda::DeviceWeight dev(host);
  const auto x = test::random_floats(static_cast<size_t>(m_max) * cols, 2701);
  auto dx = DeviceBuffer<float>::from(x);
  cuda::LinearEpilogue e;
  e.fp32_activations = true;
  auto logits_at = [&](int m) {
    REQUIRE(cuda::linear_split_x_applies(dx.get(), m, dev.matrix()));
    DeviceBuffer<float> dy(static_cast<size_t>(m) * rows);
    test::poison(dy.get(), dy.size());
    cuda::linear(dx.get(), m, dev.matrix(), dy.get(), e, nullptr);
    CUDA_CHECK(cudaDeviceSynchronize());
    return dy.download();
  };
  const auto full = logits_at(m_max);
  for (int m : {cuda::kSplitXMinRows, 8, 9, 16, 17, 40, 64, 72, 100}) {
    const auto part = logits_at(m);
    size_t differ = 0;
    for (size_t i = 0; i < part.size(); ++i) differ += part[i] != full[i];
    CHECK_MESSAGE(differ == 0, differ, " of ", part.size(), " logits differ between m = ", m, " and m = ", m_max);
  }
}

TEST_CASE("gpu linear: every finite E4M3 code decodes exactly, subnormals and signs included") {
  // Row r holds code r in column 0 and zeros elsewhere; 448 (0x7E) and -448 (0xFE) fall in the two
  // 128-row scale blocks, so both block scales are exactly 1 and the codes are stored as given. x is a
  // multiple of e0, so y[r] is code r's value times that multiple, exactly, on either path (the
  // multiples are BF16-exact for the tensor-core path's rounding of x). The tensor-core path computes
  // with the weights times 2^-120 (codes 1-7 become BF16 subnormals, 2^-129 to 7 * 2^-129) and x times
  // 2^64, so the smallest product here, 2^-9 * 2^-60 = 2^-69, is 2^-125 there: still an FP32 normal.
  const int rows = 256, cols = 128;
  std::vector<float> values(static_cast<size_t>(rows) * cols, 0.0f);
  for (int r = 0; r < rows; ++r) {
    const auto code = static_cast<uint8_t>(r);
    if ((code & 0x7f) != kFp8E4M3NaN) values[static_cast<size_t>(r) * cols] = e4m3_to_float(code);
  }
  const HostWeight host = make_host_weight(values.data(), {rows, cols}, WeightFormat::FP8);
  for (int r = 0; r < rows; ++r)
    REQUIRE(host.matrix().data[static_cast<size_t>(r) * host.matrix().data_row_stride] ==
            ((r & 0x7f) == kFp8E4M3NaN ? 0 : r));
  const cuda::DeviceWeight dev(host);
  const std::vector<float> multiples = {1.0f, -3.0f, 0x1p-20f, 0x1p40f, -0.375f, 6.0f, 0x1p-60f, 1.5f, -2.0f};
  for (int m : {1, 2, 9}) {
    std::vector<float> x(static_cast<size_t>(m) * cols, 0.0f);
    for (int i = 0; i < m; ++i) x[static_cast<size_t>(i) * cols] = multiples[i];
    auto dx = DeviceBuffer<float>::from(x);
    DeviceBuffer<float> dy(static_cast<size_t>(m) * rows);
    test::poison(dy.get(), dy.size());
    cuda::linear(dx.get(), m, dev.matrix(), dy.get(), cuda::LinearEpilogue{}, {}, nullptr);
    CUDA_CHECK(cudaDeviceSynchronize());
    const auto y = dy.download();
    int bad = 0;
    for (int i = 0; i < m; ++i)
      for (int r = 0; r < rows; ++r) {
        const float want = values[static_cast<size_t>(r) * cols] * multiples[i];
        const float got = y[static_cast<size_t>(i) * rows + r];
        if (got != want && bad++ < 5)
          CHECK_MESSAGE(got == want, "m=", m, " token ", i, " code ", r, " got ", got, " want ", want);
      }
    CHECK_MESSAGE(bad == 0, "m=", m, ": ", bad, " outputs differ from code value x multiple");
  }
}

TEST_CASE("gpu linear: launches of more CTAs than two an SM hold (the wide kernels) equal the CPU reference") {
  // Up to 16 tokens over BF16/FP8 take linear.cu's three-CTAs-an-SM variant when the launch has more CTAs
  // than 2 x SMs: here 8 splits of 128-row blocks (one tile of 16 rows a warp: the FMA path at 1-2 tokens,
  // the tensor cores at one n-tile for 8 tokens and two for 9 and 16), more row blocks than 2 x SMs / 8.
  int dev = 0, sms = 0;
  CUDA_CHECK(cudaGetDevice(&dev));
  CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
  const int rows = 128 * (2 * sms / 8 + 3) - 5, cols = 1040;  // a ragged last row block
  REQUIRE((rows + 127) / 128 * 8 > 2 * sms);
  uint64_t seed = 1500;
  for (WeightFormat f : {WeightFormat::BF16, WeightFormat::FP8}) {
    const auto values = test::random_floats(static_cast<size_t>(rows) * cols, seed++);
    const HostWeight host = make_host_weight(values.data(), {rows, cols}, f);
    const cuda::DeviceWeight dev_w(host);
    for (int m : {1, 2, 8, 9, 16})
      check_linear(host.matrix(), dev_w.matrix(), Case{f, m, m == 1, m == 2, {8, 1}}, seed++, "wide launch");
  }
}

namespace {
// Rows [r0, r0 + rows) of an FP8 matrix as host and device views, their first row inside a 128-row scale block
// (scale_row0), as a row-sharded LM head's slice.
std::pair<MatrixView, cuda::DeviceMatrix> fp8_row_slice(const HostWeight& host, const cuda::DeviceWeight& dev, int r0,
                                                        int rows) {
  MatrixView v = host.matrix();
  cuda::DeviceMatrix d = dev.matrix();
  v.rows = d.rows = rows;
  v.data += static_cast<size_t>(r0) * v.data_row_stride;
  d.data += static_cast<size_t>(r0) * d.data_row_stride;
  v.scales += (r0 / kFp8BlockSize) * v.scale_row_stride;
  d.scales += (r0 / kFp8BlockSize) * d.scale_row_stride;
  v.scale_row0 = d.scale_row0 = r0 % kFp8BlockSize;
  return {v, d};
}

// Turns linear()'s row stream on or off for a scope (the switch is process-wide; on by default).
struct LinearStreamSwitch {
  explicit LinearStreamSwitch(bool on) { cuda::set_linear_stream(on); }
  ~LinearStreamSwitch() { cuda::set_linear_stream(true); }
};
}  // namespace

TEST_CASE("gpu linear: the row stream (one or two rows, BF16 and FP8) equals the CPU reference") {
  // linear_stream.h: K slices of 1, 2 and 4 warps (cols 512-6144), slices whose last step is partial (2880),
  // rows not a multiple of a warp's 4 nor of a CTA's group, more rows than the grid's CTAs take in one batch.
  const LinearStreamSwitch on(true);
  uint64_t seed = 2500;
  for (WeightFormat f : {WeightFormat::BF16, WeightFormat::FP8})
    for (auto [rows, cols] : {std::pair{200, 1024}, std::pair{77, 2880}, std::pair{1003, 6144}, std::pair{9001, 512}}) {
      const auto values = test::random_floats(static_cast<size_t>(rows) * cols, seed++);
      const HostWeight host = make_host_weight(values.data(), {rows, cols}, f);
      const cuda::DeviceWeight dev(host);
      for (int m : {1, 2}) {
        auto dx = DeviceBuffer<float>::from(test::random_floats(static_cast<size_t>(m) * cols, seed));
        REQUIRE(cuda::linear_stream_chosen(dx.get(), m, dev.matrix()));
        // A few rows stay on the deep ring (their row groups do not fill the SMs at three CTAs an SM).
        if (rows <= 200) CHECK(cuda::linear_stream_ctas_per_sm(dx.get(), m, dev.matrix()) == 2);
        for (int e = 0; e < 3; ++e)
          check_linear(host.matrix(), dev.matrix(), Case{f, m, e == 1, e == 2, {}}, seed++, "row stream");
      }
    }
  // An FP8 slice whose rows start inside a 128-row scale block (scale_row0), as a row-sharded LM head.
  const int full_rows = 700, cols = 560;
  const auto values = test::random_floats(static_cast<size_t>(full_rows) * cols, seed++);
  const HostWeight host = make_host_weight(values.data(), {full_rows, cols}, WeightFormat::FP8);
  const cuda::DeviceWeight dev(host);
  for (int r0 : {3, 128, 201}) {
    const auto [v, d] = fp8_row_slice(host, dev, r0, full_rows - r0 - 50);
    for (int m : {1, 2}) check_linear(v, d, Case{WeightFormat::FP8, m, m == 2, false, {}}, seed++, "row stream, fp8 slice");
  }
}

TEST_CASE("gpu linear: the row stream's long launches (loads through a per-group cursor) equal the CPU reference") {
  // LM-head-like rows: each CTA streams several row groups, more steps than its ring holds before the wait, so the
  // loads take the cursor (linear_stream.cu, takes_cursor); an FP8 slice whose scale_row0 is a multiple of 4 takes it
  // too, one that is not keeps the per-step loads (a warp's 4 rows may straddle two scale blocks).
  const LinearStreamSwitch on(true);
  const int rows = 20000, cols = 2048;
  uint64_t seed = 2600;
  for (WeightFormat f : {WeightFormat::BF16, WeightFormat::FP8}) {
    const auto values = test::random_floats(static_cast<size_t>(rows) * cols, seed++);
    const HostWeight host = make_host_weight(values.data(), {rows, cols}, f);
    const cuda::DeviceWeight dev(host);
    for (int m : {1, 2}) {
      auto dx = DeviceBuffer<float>::from(test::random_floats(static_cast<size_t>(m) * cols, seed));
      REQUIRE(cuda::linear_stream_chosen(dx.get(), m, dev.matrix()));
      REQUIRE(cuda::linear_stream_loads_by_cursor(dx.get(), m, dev.matrix()));
      // Many warps with a shallow ring, but FP8 at two rows only where a CTA streams more than 8 steps (here 8).
      CHECK(cuda::linear_stream_ctas_per_sm(dx.get(), m, dev.matrix()) == (f == WeightFormat::FP8 && m == 2 ? 2 : 3));
      for (int e = 0; e < 2; ++e)
        check_linear(host.matrix(), dev.matrix(), Case{f, m, e == 1, false, {}}, seed++, "row stream, cursor");
    }
    if (f != WeightFormat::FP8) continue;
    for (int r0 : {64, 3}) {
      const auto [v, d] = fp8_row_slice(host, dev, r0, rows - r0 - 100);
      for (int m : {1, 2}) {
        auto dx = DeviceBuffer<float>::from(test::random_floats(static_cast<size_t>(m) * cols, seed));
        CHECK(cuda::linear_stream_loads_by_cursor(dx.get(), m, d) == (r0 % 4 == 0));
        check_linear(v, d, Case{WeightFormat::FP8, m, m == 2, false, {}}, seed++, "row stream, fp8 slice, long");
      }
    }
  }
}

TEST_CASE("gpu linear: the FP8 row stream keeps FP32 x's precision at any scale and spread of x") {
  // One and two rows of FP8 against x of scales far outside FP16's range (1e-30 to 1e30), and x whose elements spread
  // over 2^-12..2^12 of that scale: the FMA path's tolerance throughout (its absolute floor scaled down with x).
  const LinearStreamSwitch on(true);
  uint64_t seed = 2650;
  for (auto [rows, cols] : {std::pair{300, 2048}, std::pair{77, 2880}}) {
    const auto values = test::random_floats(static_cast<size_t>(rows) * cols, seed++);
    const HostWeight host = make_host_weight(values.data(), {rows, cols}, WeightFormat::FP8);
    const cuda::DeviceWeight dev(host);
    for (float gain : {1e-30f, 1e-6f, 1.0f, 1e6f, 1e30f})
      for (int spread : {0, 12})
        for (int m : {1, 2}) {
          Case c{WeightFormat::FP8, m, false, false, {}};
          c.x_gain = gain, c.x_spread = spread;
          check_linear(host.matrix(), dev.matrix(), c, seed++, "row stream, x scaled");
        }
  }
}

TEST_CASE("gpu linear: the row stream takes q/k/v-like parts in one launch, and repeats its bits") {
  // linear_grouped over parts of 4k rows each (the step's q, k and v at one token) against the CPU; a second call
  // gives the same bits (fixed reduction orders, no atomics).
  const LinearStreamSwitch on(true);
  const int cols = 2048;
  uint64_t seed = 2700;
  for (WeightFormat f : {WeightFormat::BF16, WeightFormat::FP8}) {
    std::vector<HostWeight> hosts;
    std::vector<cuda::DeviceWeight> devs;
    for (int rows : {1024, 132, 256}) {
      const auto values = test::random_floats(static_cast<size_t>(rows) * cols, seed++);
      hosts.push_back(make_host_weight(values.data(), {rows, cols}, f));
      devs.emplace_back(hosts.back());
    }
    for (int m : {1, 2}) {
      const auto x = test::random_floats(static_cast<size_t>(m) * cols, seed++);
      auto dx = DeviceBuffer<float>::from(x);
      std::vector<DeviceBuffer<float>> ys, biases;
      std::vector<cuda::LinearPart> parts;
      for (size_t i = 0; i < devs.size(); ++i) {
        ys.emplace_back(static_cast<size_t>(m) * hosts[i].matrix().rows);
        biases.push_back(DeviceBuffer<float>::from(test::random_floats(hosts[i].matrix().rows, seed++)));
        parts.push_back({devs[i].matrix(), ys.back().get(), i == 1 ? biases.back().get() : nullptr});
      }
      REQUIRE(cuda::linear_stream_chosen(dx.get(), m, parts));
      std::vector<std::vector<float>> first;
      for (int run = 0; run < 2; ++run) {
        for (auto& y : ys) test::poison(y.get(), y.size());
        cuda::linear_grouped(dx.get(), m, parts, {}, nullptr);
        CUDA_CHECK(cudaDeviceSynchronize());
        for (size_t i = 0; i < ys.size(); ++i) {
          const auto got = ys[i].download();
          if (run == 1) {
            CHECK_MESSAGE(got == first[i], format_name(f), " m=", m, " part ", i, ": a second call gave other bits");
            continue;
          }
          first.push_back(got);
          const MatrixView v = hosts[i].matrix();
          std::vector<float> ref(static_cast<size_t>(m) * v.rows), wrow(cols);
          cpu::matmul(x.data(), m, v, ref.data());
          const auto bias = biases[i].download();
          if (i == 1) cpu::add_bias(ref.data(), m, static_cast<int>(v.rows), bias.data());
          size_t bad = 0;
          for (int r = 0; r < static_cast<int>(v.rows); ++r) {
            v.dequantize_row(r, wrow.data());
            for (int n = 0; n < m; ++n) {
              double s = 0;
              for (int k = 0; k < cols; ++k) s += std::fabs(static_cast<double>(x[static_cast<size_t>(n) * cols + k]) * wrow[k]);
              const size_t o = static_cast<size_t>(n) * v.rows + r;
              if (!(std::fabs(static_cast<double>(got[o]) - ref[o]) <= kRelFma * s + 1e-6)) ++bad;
            }
          }
          CHECK_MESSAGE(bad == 0, format_name(f), " m=", m, " part ", i, ": ", bad, " outputs outside tolerance");
        }
      }
    }
  }
}

TEST_CASE("gpu linear: large matrices at 7-16 rows plan 4 tiles a warp only with 8 splits") {
  // linear.cu's choose_plan: on the tensor-core path 4 tiles a warp ran 1.3-3x slower below 8 splits
  // (docs/benchmarks.md, sessions 15-16), and the cost model used to pick (4, 4), (1, 4) or (2, 4) here: the
  // DFlash drafter's gate_up and LM head, two targets' LM-head slices. (Plans only; their results are
  // checked by the split and wide-launch cases above.)
  for (const auto& [rows, cols] : {std::pair{32768, 4096}, std::pair{152064, 4096}, std::pair{19072, 6144},
                                   std::pair{18992, 4096}, std::pair{25136, 2880}})
    for (WeightFormat f : {WeightFormat::BF16, WeightFormat::FP8})
      for (int m : {7, 8, 9, 14, 16}) {
        cuda::DeviceMatrix w;
        w.format = f;
        w.rows = rows;
        w.cols = cols;
        const cuda::LinearPlan p = cuda::linear_plan(m, w);
        CAPTURE(rows);
        CAPTURE(m);
        CHECK(p.splits > 0);
        CHECK((p.tiles_per_warp < 4 || p.splits == 8));
      }
}

TEST_CASE("gpu linear: FP8 slices starting inside a 128x128 scale block (scale_row0 / scale_col0)") {
  // A full FP8 matrix [420, 560] and views of it that start at (r0, c0); the CPU view has the same fields.
  const int full_rows = 420, full_cols = 560;
  const auto values = test::random_floats(static_cast<size_t>(full_rows) * full_cols, 900);
  const HostWeight host = make_host_weight(values.data(), {full_rows, full_cols}, WeightFormat::FP8);
  const cuda::DeviceWeight dev(host);
  const MatrixView full = host.matrix();
  const cuda::DeviceMatrix dfull = dev.matrix();
  uint64_t seed = 1000;
  // (r0, c0, rows, cols): c0 % 16 == 0 keeps 16-byte loads aligned; c0 = 70 takes the byte-wise path.
  for (auto [r0, c0, rows, cols] : {std::tuple{144, 160, 200, 300}, std::tuple{50, 70, 250, 333},
                                    std::tuple{3, 48, 130, 512}, std::tuple{128, 0, 292, 560}}) {
    MatrixView v = full;
    v.rows = rows;
    v.cols = cols;
    v.data = full.data + static_cast<size_t>(r0) * full.data_row_stride + c0;
    v.scales = full.scales + (r0 / kFp8BlockSize) * full.scale_row_stride + (c0 / kFp8BlockSize) * sizeof(float);
    v.scale_row0 = r0 % kFp8BlockSize;
    v.scale_col0 = c0 % kFp8BlockSize;
    cuda::DeviceMatrix d = dfull;
    d.rows = rows;
    d.cols = cols;
    d.data = dfull.data + static_cast<size_t>(r0) * dfull.data_row_stride + c0;
    d.scales = dfull.scales + (r0 / kFp8BlockSize) * dfull.scale_row_stride + (c0 / kFp8BlockSize) * sizeof(float);
    d.scale_row0 = r0 % kFp8BlockSize;
    d.scale_col0 = c0 % kFp8BlockSize;
    for (int m : {1, 2, 3, 16, 64}) {
      check_linear(v, d, Case{WeightFormat::FP8, m, m % 2 == 1, m == 16, {}}, seed++, "fp8 slice");
      check_linear(v, d, Case{WeightFormat::FP8, m, false, false, {4, 1}}, seed++, "fp8 slice, 4 splits");
    }
  }
}

TEST_CASE("gpu linear: long K (the DFlash drafter's fc over 5 x 4096 taps, a 16k down projection) at m up to 70") {
  // 64 tokens of x over such a K do not fit in shared memory: the launcher takes fewer tokens per launch.
  uint64_t seed = 900;
  for (WeightFormat f : {WeightFormat::BF16, WeightFormat::FP8})
    for (int cols : {16384, 20480}) {
      const int rows = 96;
      const auto values = test::random_floats(static_cast<size_t>(rows) * cols, seed++);
      const HostWeight host = make_host_weight(values.data(), {rows, cols}, f);
      const cuda::DeviceWeight dev(host);
      for (int m : {8, 33, 64, 70}) check_linear(host.matrix(), dev.matrix(), Case{f, m, m == 33, m == 70, {}}, seed++, "long K");
    }
}

TEST_CASE("gpu linear_grouped: q/k/v-like matrices in one launch equal single calls with the same plan, bit for bit") {
  // Three row ranges of one matrix (as a layer's q, k and v: FP8 ranges then start inside 128-row scale
  // blocks), each with its bias; every format; decode and verify row counts; the plan the group chooses
  // and two forced ones. A fourth call mixes formats: the matrices that cannot share a launch get their own.
  const int cols = 1024;
  const int ranges[][2] = {{0, 200}, {200, 48}, {248, 40}};
  uint64_t seed = 7000;
  for (WeightFormat f : {WeightFormat::F32, WeightFormat::BF16, WeightFormat::FP8, WeightFormat::MXFP4}) {
    const int rows = 288;
    const auto values = test::random_floats(static_cast<size_t>(rows) * cols, seed++);
    const HostWeight host = make_host_weight(values.data(), {rows, cols}, f);
    const cuda::DeviceWeight dev(host);
    const cuda::DeviceMatrix full = dev.matrix();
    cuda::DeviceMatrix part_w[3];
    for (int i = 0; i < 3; ++i) {
      cuda::DeviceMatrix d = full;
      const int r0 = ranges[i][0];
      d.rows = ranges[i][1];
      d.data = full.data + static_cast<size_t>(r0) * full.data_row_stride;
      if (f == WeightFormat::FP8) {
        d.scales = full.scales + (r0 / kFp8BlockSize) * full.scale_row_stride;
        d.scale_row0 = r0 % kFp8BlockSize;
      } else if (f == WeightFormat::MXFP4) {
        d.scales = full.scales + static_cast<size_t>(r0) * full.scale_row_stride;
      }
      part_w[i] = d;
    }
    for (int m : {1, 2, 3, 9, 64, 70}) {
      if (f == WeightFormat::F32 && m == 70) continue;
      const auto x = test::random_floats(static_cast<size_t>(m) * cols, seed++);
      auto dx = DeviceBuffer<float>::from(x);
      std::vector<DeviceBuffer<float>> bias, grouped, single;
      for (int i = 0; i < 3; ++i) {
        bias.push_back(DeviceBuffer<float>::from(test::random_floats(ranges[i][1], seed++)));
        grouped.emplace_back(static_cast<size_t>(m) * ranges[i][1]);
        single.emplace_back(static_cast<size_t>(m) * ranges[i][1]);
      }
      cuda::DeviceMatrix all = part_w[0];
      all.rows = rows;
      for (const cuda::LinearPlan plan : {cuda::linear_plan(m, all), cuda::LinearPlan{2, 1}, cuda::LinearPlan{1, 2},
                                        cuda::LinearPlan{2, 1, 4}}) {
        cuda::LinearPart parts[3];
        for (int i = 0; i < 3; ++i) {
          parts[i] = {part_w[i], grouped[i].get(), i == 1 ? nullptr : bias[i].get()};
          test::poison(grouped[i].get(), grouped[i].size());
          cuda::linear(dx.get(), m, part_w[i], single[i].get(), {parts[i].bias, false}, plan, nullptr);
        }
        cuda::linear_grouped(dx.get(), m, parts, plan, nullptr);
        CUDA_CHECK(cudaDeviceSynchronize());
        for (int i = 0; i < 3; ++i)
          CHECK_MESSAGE(grouped[i].download() == single[i].download(), format_name(f), " m=", m, " part ", i, " plan (",
                        plan.splits, ",", plan.tiles_per_warp, ",", plan.tile_rows, ")");
      }
    }
  }
  // Mixed formats: BF16, FP8, BF16 over the same x: three launches, the same results as single calls.
  const int rows = 96;
  const auto values = test::random_floats(static_cast<size_t>(rows) * cols, seed++);
  const HostWeight hb = make_host_weight(values.data(), {rows, cols}, WeightFormat::BF16);
  const HostWeight hf = make_host_weight(values.data(), {rows, cols}, WeightFormat::FP8);
  const cuda::DeviceWeight db(hb), df(hf);
  for (int m : {1, 9}) {
    auto dx = DeviceBuffer<float>::from(test::random_floats(static_cast<size_t>(m) * cols, seed++));
    DeviceBuffer<float> g0(m * rows), g1(m * rows), g2(m * rows), s0(m * rows), s1(m * rows);
    const cuda::LinearPart parts[3] = {{db.matrix(), g0.get()}, {df.matrix(), g1.get()}, {db.matrix(), g2.get()}};
    cuda::linear_grouped(dx.get(), m, parts, {}, nullptr);
    cuda::linear(dx.get(), m, db.matrix(), s0.get(), {}, nullptr);
    cuda::linear(dx.get(), m, df.matrix(), s1.get(), {}, nullptr);
    CUDA_CHECK(cudaDeviceSynchronize());
    CHECK(g0.download() == s0.download());
    CHECK(g1.download() == s1.download());
    CHECK(g2.download() == s0.download());
  }
}

TEST_CASE("gpu linear: small matrices at 17-72 rows take token groups, with the bits of one group at the same K split") {
  // The embedded default target's shapes (hidden 384: q/k/v 640 rows, o_proj 384, its BF16 LM head 4096) and a
  // ragged one. The cost model splits the rows of x into groups of CTAs there (a 64-row launch of one group had
  // 3-6 CTAs); each token's arithmetic does not depend on its group, so forcing the same K split in one group
  // gives the same bits, and both equal the CPU reference.
  uint64_t seed = 9100;
  const std::vector<std::tuple<WeightFormat, int, int>> shapes = {
      {WeightFormat::FP8, 640, 384}, {WeightFormat::FP8, 384, 384}, {WeightFormat::BF16, 4096, 384}, {WeightFormat::FP8, 200, 300}};
  int grouped = 0;
  for (auto [f, rows, cols] : shapes) {
    const auto values = test::random_floats(static_cast<size_t>(rows) * cols, seed++);
    const HostWeight host = make_host_weight(values.data(), {rows, cols}, f);
    const cuda::DeviceWeight dev(host);
    for (int m : {17, 24, 64, 72}) {
      const cuda::LinearPlan chosen = cuda::linear_plan(m, dev.matrix());
      CAPTURE(format_name(f));
      CAPTURE(rows);
      CAPTURE(m);
      CAPTURE(chosen.token_groups);
      grouped += chosen.token_groups > 1;
      check_linear(host.matrix(), dev.matrix(), {f, m, m % 2 == 0, m == 24, {}}, seed, "auto plan (token groups)");
      const auto x = test::random_floats(static_cast<size_t>(m) * cols, seed++);
      auto dx = DeviceBuffer<float>::from(x);
      DeviceBuffer<float> auto_y(static_cast<size_t>(m) * rows), one_group_y(auto_y.size());
      cuda::linear(dx.get(), m, dev.matrix(), auto_y.get(), {}, nullptr);
      cuda::linear(dx.get(), m, dev.matrix(), one_group_y.get(), {}, cuda::LinearPlan{chosen.splits, chosen.tiles_per_warp, 0},
                   nullptr);
      CUDA_CHECK(cudaDeviceSynchronize());
      const auto a = auto_y.download(), b = one_group_y.download();
      CHECK_MESSAGE(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0, "token groups changed the bits");
    }
  }
  // The default target's 64-row launches (the 8 x 8 verify step) are the ones this is for.
  CHECK(grouped >= 4);
}

TEST_CASE("gpu linear, batch invariance: a row's outputs are the same bits at every row count, and within the CPU's "
          "tolerance") {
  // kernels/cuda/batch_invariant.h: every row count takes one arithmetic. The rows of x are the same at each m (the
  // first m of m_max), so row i's outputs must not change with m: across the row stream's one and two rows, the
  // tensor cores' n-tiles and token groups, launches of 72 rows and the routers' paths. Shapes: the embedded
  // default's q/k/v [640, 384] and BF16 LM head [4096, 384], a Qwen3-30B-A3B-like FP8 projection [1024, 2048], an FP8
  // matrix whose x slice of 72 rows does not fit one launch (K = 20480, the DFlash drafter's fc), the routers (BF16 on
  // the split-x path, F32 on the FMA path one token a CTA) and an MXFP4 matrix (FMA path).
  struct Shape {
    WeightFormat format;
    int rows, cols;
    bool fp32_activations;
  };
  const Shape shapes[] = {
      {WeightFormat::FP8, 640, 384, false},   {WeightFormat::BF16, 4096, 384, false},
      {WeightFormat::FP8, 1024, 2048, false}, {WeightFormat::FP8, 256, 20480, false},
      {WeightFormat::BF16, 128, 2048, true},  {WeightFormat::F32, 128, 2048, true},
      {WeightFormat::MXFP4, 512, 2048, false},
  };
  const int m_max = 100;  // two launches of the tensor-core path (at most 72 rows each)
  test::BatchInvariantScope invariant;
  uint64_t seed = 9100;
  for (const Shape& s : shapes) {
    const auto values = test::random_floats(static_cast<size_t>(s.rows) * s.cols, seed++);
    const HostWeight host = make_host_weight(values.data(), {s.rows, s.cols}, s.format);
    const cuda::DeviceWeight dev(host);
    const auto x = test::random_floats(static_cast<size_t>(m_max) * s.cols, seed++);
    const auto bias = test::random_floats(s.rows, seed++);
    auto dx = DeviceBuffer<float>::from(x);
    auto db = DeviceBuffer<float>::from(bias);
    cuda::LinearEpilogue e;
    e.bias = db.get();
    e.fp32_activations = s.fp32_activations;
    auto run = [&](int m) {
      DeviceBuffer<float> dy(static_cast<size_t>(m) * s.rows);
      test::poison(dy.get(), dy.size());
      cuda::linear(dx.get(), m, dev.matrix(), dy.get(), e, nullptr);
      CUDA_CHECK(cudaDeviceSynchronize());
      return dy.download();
    };
    const auto full = run(m_max);
    INFO(format_name(s.format), " [", s.rows, ", ", s.cols, "] fp32 x=", s.fp32_activations);
    for (int m : {1, 2, 3, 7, 8, 9, 17, 64, 72, 73}) {
      const auto part = run(m);
      const size_t differ = test::differing_bits(part, full, part.size());
      CHECK_MESSAGE(differ == 0, differ, " of ", part.size(), " outputs differ between m = ", m, " and m = ", m_max);
    }
    // Accuracy at one and two rows, where the tensor cores now take what the row stream took (check_linear's CPU
    // reference and tolerances: uses_tensor_cores knows the mode).
    for (int m : {1, 2})
      check_linear(host.matrix(), dev.matrix(), {s.format, m, true, false, {}, s.fp32_activations}, seed++, "batch invariance");
  }
  // linear_grouped (a layer's q, k and v in one launch) keeps the single calls' invariance.
  const int cols = 384, rows = 640;
  const auto values = test::random_floats(static_cast<size_t>(rows) * cols, seed++);
  const HostWeight host = make_host_weight(values.data(), {rows, cols}, WeightFormat::FP8);
  const cuda::DeviceWeight dev(host);
  cuda::DeviceMatrix q = dev.matrix(), kv = dev.matrix();
  q.rows = 384;
  kv.rows = 256;
  kv.data = dev.matrix().data + static_cast<size_t>(384) * dev.matrix().data_row_stride;
  kv.scales = dev.matrix().scales + (384 / kFp8BlockSize) * dev.matrix().scale_row_stride;
  auto dx = DeviceBuffer<float>::from(test::random_floats(static_cast<size_t>(m_max) * cols, seed++));
  auto grouped = [&](int m) {
    DeviceBuffer<float> yq(static_cast<size_t>(m) * q.rows), ykv(static_cast<size_t>(m) * kv.rows);
    const cuda::LinearPart parts[2] = {{q, yq.get()}, {kv, ykv.get()}};
    cuda::linear_grouped(dx.get(), m, parts, {}, nullptr);
    CUDA_CHECK(cudaDeviceSynchronize());
    return std::make_pair(yq.download(), ykv.download());
  };
  const auto full = grouped(m_max);
  for (int m : {1, 2, 9, 72}) {
    const auto part = grouped(m);
    CHECK_MESSAGE(test::differing_bits(part.first, full.first, part.first.size()) == 0, "q rows at m = ", m);
    CHECK_MESSAGE(test::differing_bits(part.second, full.second, part.second.size()) == 0, "k/v rows at m = ", m);
  }
}

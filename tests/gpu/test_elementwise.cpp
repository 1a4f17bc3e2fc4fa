// GPU small ops against their CPU twins (and add_rmsnorm_router, norm_router.h, against add_rmsnorm and
// the CPU's matmul).
#include <doctest/doctest.h>

#include <cmath>

#include "gpu_test_util.h"
#include "kernels/cpu/embedding.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/rmsnorm.h"
#include "kernels/cpu/rope.h"
#include "kernels/cpu/swiglu.h"
#include "kernels/cuda/device_weight.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/norm_router.h"
#include "kernels/cuda/moe.h"
#include "model/config.h"

using namespace tachyon;
using cuda::DeviceBuffer;

TEST_CASE("gpu rmsnorm equals the CPU reference (rows of hidden width and per-head QK-norm)") {
  // Hidden widths take the block-per-row kernel (up to 16384), the others the warp-per-row one.
  for (auto [rows, dim] : {std::pair{9, 6144}, std::pair{1, 2048}, std::pair{3, 16384}, std::pair{2, 20000},
                           std::pair{2, 1030}, std::pair{9 * 128, 128}, std::pair{1, 64}}) {
    auto x = test::random_floats(rows * dim, 1, 2.0f), w = test::random_floats(dim, 2, 0.1f, 1.0f);
    std::vector<float> ref(x.size());
    cpu::rmsnorm(x.data(), w.data(), rows, dim, 1e-6f, ref.data());
    auto dx = DeviceBuffer<float>::from(x), dw = DeviceBuffer<float>::from(w);
    DeviceBuffer<float> dy(x.size());
    test::poison(dy.get(), dy.size());
    cuda::rmsnorm(dx.get(), dw.get(), rows, dim, 1e-6f, dy.get(), nullptr);
    const auto c = test::compare(dy.download(), ref, 1e-5, 1e-5);
    CHECK_MESSAGE(c.ok, c.report);
  }
}

TEST_CASE("gpu add_rmsnorm: x += delta written back, then the CPU reference's norm; in place too") {
  for (auto [rows, dim] : {std::pair{1, 2048}, std::pair{9, 6144}, std::pair{2, 20000}, std::pair{3, 130}, std::pair{8, 384}}) {
    auto x = test::random_floats(rows * dim, 3, 2.0f), delta = test::random_floats(rows * dim, 4, 1.0f);
    auto w = test::random_floats(dim, 5, 0.1f, 1.0f);
    std::vector<float> sum(x.size()), ref(x.size());
    for (size_t i = 0; i < x.size(); ++i) sum[i] = x[i] + delta[i];
    cpu::rmsnorm(sum.data(), w.data(), rows, dim, 1e-6f, ref.data());
    for (bool in_place : {false, true}) {
      auto dx = DeviceBuffer<float>::from(x), dd = DeviceBuffer<float>::from(delta), dw = DeviceBuffer<float>::from(w);
      DeviceBuffer<float> dy(x.size());
      test::poison(dy.get(), dy.size());
      float* y = in_place ? dx.get() : dy.get();
      cuda::add_rmsnorm(dd.get(), dx.get(), dw.get(), rows, dim, 1e-6f, y, nullptr);
      CUDA_CHECK(cudaDeviceSynchronize());
      if (!in_place) {
        const auto cx = test::compare(dx.download(), sum, 0, 0);  // one FP32 add: exact
        CHECK_MESSAGE(cx.ok, "x after the add, dim ", dim, ": ", cx.report);
      }
      const auto c = test::compare(in_place ? dx.download() : dy.download(), ref, 1e-5, 1e-5);
      CHECK_MESSAGE(c.ok, "dim ", dim, in_place ? " in place: " : ": ", c.report);
    }
  }
}

TEST_CASE("gpu combine_add_rmsnorm gives the bits of moe_combine then add_rmsnorm, and the CPU's sum and norm") {
  // Block-norm widths (384: the embedded default's, a block from 128 up), a cluster a row (at most 16 rows of more
  // than 64 KB of slots: 6144 x 8, 8192 x 4, 16384 x 8; 17 rows take a block a row) and the fallback (dim 130, not a
  // multiple of 4: moe_combine into x, then the norm).
  for (auto [rows, dim, k] : {std::tuple{1, 2048, 8}, std::tuple{9, 6144, 8}, std::tuple{3, 4096, 1}, std::tuple{2, 8192, 4},
                              std::tuple{2, 130, 4}, std::tuple{8, 384, 4}, std::tuple{1, 16384, 8}, std::tuple{1, 6144, 8}, std::tuple{16, 6144, 8},
                              std::tuple{17, 6144, 8}, std::tuple{2, 2880, 4}}) {
    CAPTURE(dim);
    CAPTURE(k);
    auto x = test::random_floats(rows * dim, 6, 2.0f), slots = test::random_floats(static_cast<size_t>(rows) * k * dim, 7, 1.0f);
    auto w = test::random_floats(dim, 8, 0.1f, 1.0f);
    std::vector<float> sum(x.size()), ref(x.size());
    for (int r = 0; r < rows; ++r)
      for (int d = 0; d < dim; ++d) {
        float s = 0.0f;  // slot order from zero, as moe_combine and the CPU step sum them
        for (int j = 0; j < k; ++j) s += slots[(static_cast<size_t>(r) * k + j) * dim + d];
        sum[static_cast<size_t>(r) * dim + d] = x[static_cast<size_t>(r) * dim + d] + s;
      }
    cpu::rmsnorm(sum.data(), w.data(), rows, dim, 1e-6f, ref.data());
    auto dslots = DeviceBuffer<float>::from(slots), dw = DeviceBuffer<float>::from(w);
    auto dx = DeviceBuffer<float>::from(x), dx2 = DeviceBuffer<float>::from(x);
    DeviceBuffer<float> dy(x.size()), dy2(x.size()), dpartial(x.size());
    test::poison(dy.get(), dy.size());
    cuda::combine_add_rmsnorm(dslots.get(), k, dx.get(), dw.get(), rows, dim, 1e-6f, dy.get(), nullptr);
    cuda::moe_combine(dslots.get(), rows, k, dim, dpartial.get(), nullptr, /*accumulate=*/false);
    cuda::add_rmsnorm(dpartial.get(), dx2.get(), dw.get(), rows, dim, 1e-6f, dy2.get(), nullptr);
    CUDA_CHECK(cudaDeviceSynchronize());
    const auto gx = dx.download(), gy = dy.download();
    CHECK(gx == dx2.download());
    CHECK(gy == dy2.download());
    const auto cx = test::compare(gx, sum, 0, 0);  // the same FP32 adds in the same order: exact
    CHECK_MESSAGE(cx.ok, "x after the add: ", cx.report);
    const auto c = test::compare(gy, ref, 1e-5, 1e-5);
    CHECK_MESSAGE(c.ok, c.report);
    // With delta: add_rmsnorm's x + delta first, the same bits as add_rmsnorm (x written back) and then
    // combine_add_rmsnorm without it.
    const auto delta = test::random_floats(x.size(), 9, 1.0f);
    auto dd = DeviceBuffer<float>::from(delta), dx3 = DeviceBuffer<float>::from(x), dx4 = DeviceBuffer<float>::from(x);
    DeviceBuffer<float> dy3(x.size()), dy4(x.size());
    cuda::combine_add_rmsnorm(dslots.get(), k, dx3.get(), dw.get(), rows, dim, 1e-6f, dy3.get(), nullptr, dd.get());
    cuda::add_rmsnorm(dd.get(), dx4.get(), dw.get(), rows, dim, 1e-6f, dy4.get(), nullptr);
    cuda::combine_add_rmsnorm(dslots.get(), k, dx4.get(), dw.get(), rows, dim, 1e-6f, dy4.get(), nullptr);
    CUDA_CHECK(cudaDeviceSynchronize());
    CHECK(dx3.download() == dx4.download());
    CHECK(dy3.download() == dy4.download());
  }
}

TEST_CASE("gpu add_rmsnorm_router: h has add_rmsnorm's bits, x untouched, logits the CPU router's; the combine adds delta") {
  // Qwen3-30B-A3B (2048, 128 experts) at 1 and 2 rows, gpt-oss (2880, 128 with a bias), 62 experts (a last
  // CTA of fewer router rows), many narrow rows (the parity fixtures' width, whose norm add_rmsnorm takes
  // one warp a row: other bits); BF16 and FP32 router weights.
  struct Case {
    int rows, dim, experts;
    WeightFormat format;
    bool bias;
  };
  const Case cases[] = {{1, 2048, 128, WeightFormat::BF16, false}, {2, 2048, 128, WeightFormat::BF16, false},
                        {1, 2880, 128, WeightFormat::BF16, true},  {1, 4096, 62, WeightFormat::F32, true},
                        {2, 512, 384, WeightFormat::F32, false},   {2, 64, 8, WeightFormat::BF16, true},
                        {1, 384, 16, WeightFormat::BF16, false}};
  uint64_t seed = 300;
  for (const Case& c : cases) {
    CAPTURE(c.rows);
    CAPTURE(c.dim);
    CAPTURE(c.experts);
    const size_t n = static_cast<size_t>(c.rows) * c.dim;
    const auto x = test::random_floats(n, ++seed, 2.0f), delta = test::random_floats(n, ++seed, 1.0f);
    const auto w = test::random_floats(c.dim, ++seed, 0.1f, 1.0f);
    const auto router_values = test::random_floats(static_cast<size_t>(c.experts) * c.dim, ++seed, 0.05f);
    const HostWeight router = make_host_weight(router_values.data(), {c.experts, c.dim}, c.format);
    const cuda::DeviceWeight drouter(router);
    const auto bias = c.bias ? test::random_floats(c.experts, ++seed, 0.5f) : std::vector<float>{};
    auto dx = DeviceBuffer<float>::from(x), dd = DeviceBuffer<float>::from(delta), dw = DeviceBuffer<float>::from(w);
    auto dbias = DeviceBuffer<float>::from(c.bias ? bias : std::vector<float>(1));
    DeviceBuffer<float> dh(n), dlogits(static_cast<size_t>(c.rows) * c.experts);
    test::poison(dh.get(), dh.size());
    test::poison(dlogits.get(), dlogits.size());
    REQUIRE(cuda::add_rmsnorm_router_fits(c.rows, c.dim, drouter.matrix(), dd.get(), dx.get(), dw.get(), dh.get()));
    cuda::add_rmsnorm_router(dd.get(), dx.get(), dw.get(), c.rows, c.dim, 1e-6f, drouter.matrix(),
                             c.bias ? dbias.get() : nullptr, dh.get(), dlogits.get(), nullptr);
    CUDA_CHECK(cudaDeviceSynchronize());
    CHECK(dx.download() == x);  // the residual add is left to the caller
    // add_rmsnorm's h: bit for bit where add_rmsnorm norms a row by a block (dim >= 512), else the CPU's norm.
    auto dx2 = DeviceBuffer<float>::from(x);
    DeviceBuffer<float> dh2(n);
    cuda::add_rmsnorm(dd.get(), dx2.get(), dw.get(), c.rows, c.dim, 1e-6f, dh2.get(), nullptr);
    const auto h = dh.download();
    if (c.dim >= 512) {
      CHECK(h == dh2.download());
    } else {
      std::vector<float> sum(n), ref(n);
      for (size_t i = 0; i < n; ++i) sum[i] = x[i] + delta[i];
      cpu::rmsnorm(sum.data(), w.data(), c.rows, c.dim, 1e-6f, ref.data());
      const auto ch = test::compare(h, ref, 1e-5, 1e-5);
      CHECK_MESSAGE(ch.ok, "h: ", ch.report);
    }
    // The router on that h: the CPU's matmul (+ bias). Both sum in FP32, in other orders: a few ulps of
    // sum_k |h_k w_k| (test_linear.cpp's FMA-path tolerance).
    std::vector<float> ref(static_cast<size_t>(c.rows) * c.experts);
    cpu::matmul(h.data(), c.rows, router.matrix(), ref.data());
    const auto got = dlogits.download();
    std::vector<float> wrow(c.dim);
    size_t bad = 0;
    for (int e = 0; e < c.experts; ++e) {
      router.matrix().dequantize_row(e, wrow.data());
      for (int t = 0; t < c.rows; ++t) {
        double scale = 0;
        for (int d = 0; d < c.dim; ++d) scale += std::fabs(double(h[static_cast<size_t>(t) * c.dim + d]) * wrow[d]);
        const size_t i = static_cast<size_t>(t) * c.experts + e;
        const double want = double(ref[i]) + (c.bias ? bias[e] : 0.0f);
        bad += !(std::fabs(got[i] - want) <= 1e-5 * scale + 1e-6);
      }
    }
    CHECK_MESSAGE(bad == 0, bad, " logits outside tolerance");
    // combine_add_rmsnorm with delta: add_rmsnorm's x + delta, then the slots, the same bits as
    // add_rmsnorm (x written back) followed by combine_add_rmsnorm without delta.
    const int k = 8;
    auto dslots = DeviceBuffer<float>::from(test::random_floats(n * k, ++seed, 0.5f));
    DeviceBuffer<float> dy(n), dy2(n);
    cuda::combine_add_rmsnorm(dslots.get(), k, dx.get(), dw.get(), c.rows, c.dim, 1e-6f, dy.get(), nullptr, dd.get());
    cuda::combine_add_rmsnorm(dslots.get(), k, dx2.get(), dw.get(), c.rows, c.dim, 1e-6f, dy2.get(), nullptr);
    CUDA_CHECK(cudaDeviceSynchronize());
    CHECK(dx.download() == dx2.download());
    CHECK(dy.download() == dy2.download());
  }
  // What it does not take: more than kNormRouterMaxRows rows or kNormRouterMaxElements, FP8 routers, a router of
  // another width.
  const auto v = test::random_floats(128 * 2048, 1);
  const cuda::DeviceWeight bf16(make_host_weight(v.data(), {128, 2048}, WeightFormat::BF16));
  const cuda::DeviceWeight fp8(make_host_weight(v.data(), {128, 2048}, WeightFormat::FP8));
  DeviceBuffer<float> buf(3 * 2048);
  float* p = buf.get();
  static_assert(cuda::kNormRouterMaxElements == 2 * 2048);
  CHECK(cuda::add_rmsnorm_router_fits(2, 2048, bf16.matrix(), p, p, p, p));
  CHECK_FALSE(cuda::add_rmsnorm_router_fits(3, 2048, bf16.matrix(), p, p, p, p));
  static_assert(cuda::kNormRouterMaxRows == 2);
  const cuda::DeviceWeight narrow(make_host_weight(v.data(), {16, 384}, WeightFormat::BF16));
  CHECK(cuda::add_rmsnorm_router_fits(2, 384, narrow.matrix(), p, p, p, p));
  CHECK_FALSE(cuda::add_rmsnorm_router_fits(3, 384, narrow.matrix(), p, p, p, p));  // within the elements, past the rows
  CHECK_FALSE(cuda::add_rmsnorm_router_fits(1, 2048, fp8.matrix(), p, p, p, p));
  CHECK_FALSE(cuda::add_rmsnorm_router_fits(1, 1024, bf16.matrix(), p, p, p, p));  // router cols != dim
}

TEST_CASE("gpu rope equals the CPU reference (full, partial, YaRN factor)") {
  for (auto [heads, head_dim, rotary, af] : {std::tuple{8, 128, 128, 1.0f}, std::tuple{4, 192, 64, 1.0f}, std::tuple{2, 64, 64, 1.3466f}}) {
    const int rows = 13;
    auto x = test::random_floats(rows * heads * head_dim, 3);
    std::vector<int32_t> pos(rows);
    for (int i = 0; i < rows; ++i) pos[i] = 4000 + i * 37;
    RopeConfig rc;
    rc.theta = 1e6;
    rc.rotary_dim = rotary;
    const auto inv = rc.inverse_frequencies();
    auto ref = x;
    cpu::apply_rope(ref.data(), rows, heads, head_dim, rotary, pos.data(), inv.data(), af);
    auto dx = DeviceBuffer<float>::from(x);
    auto dpos = DeviceBuffer<int32_t>::from(pos);
    auto dinv = DeviceBuffer<float>::from(inv);
    cuda::rope(dx.get(), rows, heads, head_dim, rotary, dpos.get(), dinv.get(), af, nullptr);
    const auto c = test::compare(dx.download(), ref, 1e-5, 1e-5);
    CHECK_MESSAGE(c.ok, c.report);
  }
}

TEST_CASE("gpu embedding gather equals the CPU reference in every format, zeros outside the slice") {
  const int rows = 100, cols = 256, vocab_begin = 50;
  const auto values = test::random_floats(rows * cols, 4);
  for (WeightFormat f : {WeightFormat::F32, WeightFormat::BF16, WeightFormat::FP8, WeightFormat::MXFP4}) {
    const HostWeight host = make_host_weight(values.data(), {rows, cols}, f);
    const cuda::DeviceWeight dev(host);
    const std::vector<int32_t> ids = {50, 149, 10, 77, 150, 99};
    std::vector<float> ref(ids.size() * cols);
    cpu::embed(ids.data(), ids.size(), host.matrix(), vocab_begin, ref.data());
    auto dids = DeviceBuffer<int32_t>::from(ids);
    DeviceBuffer<float> out(ref.size());
    test::poison(out.get(), out.size());
    cuda::embed(dids.get(), ids.size(), dev.matrix(), vocab_begin, out.get(), nullptr);
    const auto c = test::compare(out.download(), ref, 0, 0);  // decoding is exact
    CHECK_MESSAGE(c.ok, format_name(f), ": ", c.report);
  }
}

TEST_CASE("gpu row arg-max: largest value, lowest index among ties") {
  for (int v : {5000, 5001, 151936}) {  // the vectorised path, the scalar one, a vocabulary-sized row
    CAPTURE(v);
    const int n = 3;
    auto logits = test::random_floats(n * v, 5);
    logits[0 * v + 17] = 50.0f;
    logits[0 * v + 4000] = 50.0f;  // tie: 17 wins
    logits[2 * v + v - 1] = 60.0f;
    auto d = DeviceBuffer<float>::from(logits);
    DeviceBuffer<cuda::ArgmaxCandidate> out(n);
    cuda::row_argmax(d.get(), n, v, 1000, out.get(), nullptr);
    const auto got = out.download();
    CHECK(got[0].id == 1017);
    CHECK(got[0].value == 50.0f);
    CHECK(got[2].id == 1000 + v - 1);
    int best = 0;
    for (int i = 1; i < v; ++i)
      if (logits[v + i] > logits[v + best]) best = i;
    CHECK(got[1].id == 1000 + best);
    CHECK(got[1].value == logits[v + best]);
  }
}

TEST_CASE("gpu row arg-max: ties inside one 16-byte group, across threads, and all-equal rows") {
  const int v = 4096 * 3;
  std::vector<float> logits(3 * v, 0.0f);
  logits[0 * v + 6] = logits[0 * v + 5] = 7.0f;         // same float4: 5 wins
  logits[1 * v + 4 * 1500 + 1] = logits[1 * v + 9] = 7.0f;  // different threads: 9 wins
  // row 2: every value equal: index 0 wins
  auto d = DeviceBuffer<float>::from(logits);
  DeviceBuffer<cuda::ArgmaxCandidate> out(3);
  cuda::row_argmax(d.get(), 3, v, 0, out.get(), nullptr);
  const auto got = out.download();
  CHECK(got[0].id == 5);
  CHECK(got[1].id == 9);
  CHECK(got[2].id == 0);
}

TEST_CASE("gpu swiglu (both kinds), gather_rows and scale equal the CPU reference") {
  const size_t n = 5000;
  auto g = test::random_floats(n, 11, 4.0f), u = test::random_floats(n, 12, 4.0f);
  auto dg = DeviceBuffer<float>::from(g), du = DeviceBuffer<float>::from(u);
  for (cpu::SwigluParams p : {cpu::SwigluParams{SwigluKind::Standard, 0, 1}, cpu::SwigluParams{SwigluKind::GptOssClamped, 7.0f, 1.702f}}) {
    std::vector<float> ref(n);
    cpu::swiglu(g.data(), u.data(), n, p, ref.data());
    DeviceBuffer<float> out(n);
    test::poison(out.get(), n);
    cuda::swiglu(dg.get(), du.get(), n, p, out.get(), nullptr);
    const auto c = test::compare(out.download(), ref, 1e-6, 1e-5);
    CHECK_MESSAGE(c.ok, c.report);
  }
  const std::vector<int32_t> rows = {4, 0, 4, 2};
  auto drows = DeviceBuffer<int32_t>::from(rows);
  DeviceBuffer<float> dst(rows.size() * 1000);
  cuda::gather_rows(dg.get(), drows.get(), rows.size(), 1000, dst.get(), nullptr);
  const auto got = dst.download();
  for (size_t i = 0; i < rows.size(); ++i)
    for (int c = 0; c < 1000; c += 97) CHECK(got[i * 1000 + c] == g[rows[i] * 1000 + c]);
  cuda::scale(dg.get(), n, 0.5f, nullptr);
  const auto halved = dg.download();
  CHECK(halved[123] == g[123] * 0.5f);
}

// Numeric formats: BF16, FP8 E4M3 with 128x128 block scales, MXFP4 (E2M1 + E8M0 per 32).
#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "model/bf16.h"
#include "model/error.h"
#include "model/fp8.h"
#include "model/mxfp4.h"
#include "model/parallel_for.h"
#include "model/weight.h"

using namespace tachyon;

TEST_CASE("bf16 round trip and round-to-nearest-even") {
  CHECK(bf16_to_float(float_to_bf16(1.0f)) == 1.0f);
  CHECK(bf16_to_float(float_to_bf16(-2.5f)) == -2.5f);
  // 1 + 2^-8 lies exactly between 1 and 1 + 2^-7: ties to the even mantissa (1.0).
  CHECK(bf16_to_float(float_to_bf16(1.0f + 0x1p-8f)) == 1.0f);
  // 1 + 3*2^-8 lies between 1+2^-7 (odd) and 1+2^-6 (even): rounds up to the even one.
  CHECK(bf16_to_float(float_to_bf16(1.0f + 3 * 0x1p-8f)) == 1.0f + 0x1p-6f);
  CHECK(std::isnan(bf16_to_float(float_to_bf16(NAN))));
  CHECK(std::isinf(bf16_to_float(float_to_bf16(INFINITY))));
  CHECK(f16_to_float(0x3c00) == 1.0f);
  CHECK(f16_to_float(0xc000) == -2.0f);
  CHECK(f16_to_float(0x0001) == std::ldexp(1.0f, -24));  // smallest subnormal
  CHECK(f16_to_float(0x7bff) == 65504.0f);
}

TEST_CASE("e2m1: all 16 code points decode and encode back") {
  const float expected[16] = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6, -0.0f, -0.5f, -1, -1.5f, -2, -3, -4, -6};
  for (int code = 0; code < 16; ++code) {
    CHECK(e2m1_to_float(static_cast<uint8_t>(code)) == expected[code]);
    if (code != 8) CHECK(float_to_e2m1(expected[code]) == code);  // -0 encodes with its sign bit
  }
  CHECK(float_to_e2m1(-0.0f) == 8);
}

TEST_CASE("e2m1: ties round to the even code, beyond 6 saturates") {
  CHECK(e2m1_to_float(float_to_e2m1(0.25f)) == 0.0f);
  CHECK(e2m1_to_float(float_to_e2m1(0.75f)) == 1.0f);
  CHECK(e2m1_to_float(float_to_e2m1(1.25f)) == 1.0f);
  CHECK(e2m1_to_float(float_to_e2m1(1.75f)) == 2.0f);
  CHECK(e2m1_to_float(float_to_e2m1(2.5f)) == 2.0f);
  CHECK(e2m1_to_float(float_to_e2m1(3.5f)) == 4.0f);
  CHECK(e2m1_to_float(float_to_e2m1(5.0f)) == 4.0f);
  CHECK(e2m1_to_float(float_to_e2m1(-5.0f)) == -4.0f);
  CHECK(e2m1_to_float(float_to_e2m1(0.26f)) == 0.5f);
  CHECK(e2m1_to_float(float_to_e2m1(5.01f)) == 6.0f);
  CHECK(e2m1_to_float(float_to_e2m1(7.9f)) == 6.0f);
  CHECK(e2m1_to_float(float_to_e2m1(1e30f)) == 6.0f);
  CHECK(e2m1_to_float(float_to_e2m1(-1e30f)) == -6.0f);
}

TEST_CASE("e8m0 edge cases") {
  CHECK(e8m0_to_float(0x7f) == 1.0f);
  CHECK(e8m0_to_float(0x80) == 2.0f);
  CHECK(e8m0_to_float(0x00) == std::ldexp(1.0f, -127));
  CHECK(e8m0_to_float(0x00) > 0.0f);
  CHECK(e8m0_to_float(0xfe) == std::ldexp(1.0f, 127));
  CHECK(std::isnan(e8m0_to_float(0xff)));
}

TEST_CASE("mxfp4 block: scale rules, packing order, special blocks") {
  std::vector<float> v(32, 0.0f);
  uint8_t packed[16];
  v[0] = 1.0f;  // element 0 -> low nibble of byte 0
  v[1] = -6.0f; // element 1 -> high nibble of byte 0
  v[31] = 0.5f;
  // Floor rule: amax 6 -> floor(log2 6) - 2 = 0 -> scale 2^0 (byte 127).
  CHECK(quantize_mxfp4_block(v.data(), packed, Mxfp4ScaleRule::Floor) == 127);
  CHECK((packed[0] & 0xf) == 0x2);
  CHECK((packed[0] >> 4) == 0xf);
  CHECK((packed[15] >> 4) == 0x1);
  // amax 7: floor rule keeps 2^0 and saturates 7 -> 6; ceil rule takes 2^1 and keeps 7 -> 8 (code 4*2).
  v[1] = 7.0f;
  CHECK(quantize_mxfp4_block(v.data(), packed, Mxfp4ScaleRule::Floor) == 127);
  CHECK(e2m1_to_float(packed[0] >> 4) == 6.0f);
  CHECK(quantize_mxfp4_block(v.data(), packed, Mxfp4ScaleRule::Ceil) == 128);
  CHECK(e2m1_to_float(packed[0] >> 4) == 4.0f);  // 7/2 = 3.5 -> 4 (tie to even)
  // amax exactly 6*2^e: the ceil rule uses e itself.
  v[1] = 12.0f;
  CHECK(quantize_mxfp4_block(v.data(), packed, Mxfp4ScaleRule::Ceil) == 128);
  // All zero -> scale byte 0; non-finite -> NaN scale.
  std::vector<float> z(32, 0.0f);
  CHECK(quantize_mxfp4_block(z.data(), packed, Mxfp4ScaleRule::Floor) == 0);
  z[5] = INFINITY;
  CHECK(quantize_mxfp4_block(z.data(), packed, Mxfp4ScaleRule::Floor) == kE8M0NaN);
  z[5] = NAN;
  CHECK(quantize_mxfp4_block(z.data(), packed, Mxfp4ScaleRule::Ceil) == kE8M0NaN);
  std::vector<float> out(32);
  uint8_t nan_scale = kE8M0NaN;
  dequantize_mxfp4_row(packed, &nan_scale, 32, out.data());
  CHECK(std::isnan(out[0]));
}

TEST_CASE("mxfp4 quantization error bounds on random data, floor and ceil rules") {
  std::mt19937 gen(1234);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const size_t rows = 64, cols = 256;
  std::vector<float> w(rows * cols);
  for (auto& x : w) x = normal(gen) * std::exp(normal(gen));  // varied magnitudes across blocks
  for (auto rule : {Mxfp4ScaleRule::Floor, Mxfp4ScaleRule::Ceil}) {
    std::vector<uint8_t> blocks(rows * cols / 2), scales(rows * cols / 32);
    quantize_mxfp4(w.data(), rows, cols, blocks.data(), scales.data(), rule);
    std::vector<float> back(cols);
    double err2 = 0, ref2 = 0;
    for (size_t r = 0; r < rows; ++r) {
      dequantize_mxfp4_row(blocks.data() + r * cols / 2, scales.data() + r * cols / 32, cols, back.data());
      for (size_t b = 0; b < cols / 32; ++b) {
        float amax = 0;
        for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(w[r * cols + b * 32 + i]));
        const float scale = e8m0_to_float(scales[r * cols / 32 + b]);
        for (int i = 0; i < 32; ++i) {
          const float x = w[r * cols + b * 32 + i], y = back[b * 32 + i];
          const float err = std::fabs(x - y);
          err2 += double(err) * err;
          ref2 += double(x) * x;
          if (rule == Mxfp4ScaleRule::Floor) {
            // Grid steps are at most 2*scale (between 4 and 6); clipping (6,8)*scale costs < 2*scale.
            CHECK(err <= 2.0f * scale);
            CHECK(err <= 0.25f * amax + 1e-30f);
          } else {
            CHECK(err <= 1.0f * scale);          // half of the largest grid step, no clipping
            CHECK(std::fabs(y) <= 6.0f * scale);
            CHECK(amax <= 6.0f * scale);
            CHECK(err <= amax / 3.0f + 1e-30f);  // scale < amax/3 under the ceil rule
          }
        }
      }
    }
    const double rel_rms = std::sqrt(err2 / ref2);
    MESSAGE(std::string(rule == Mxfp4ScaleRule::Floor ? "floor" : "ceil"), " rule: relative RMS error ", rel_rms);
    CHECK(rel_rms < 0.2);
    CHECK(rel_rms > 0.01);  // 4-bit values cannot be this exact: guards against a no-op quantizer
  }
}

TEST_CASE("fp8 e4m3: code points, max, NaN, saturation, ties") {
  CHECK(e4m3_to_float(0x7e) == 448.0f);
  CHECK(e4m3_to_float(0xfe) == -448.0f);
  CHECK(std::isnan(e4m3_to_float(0x7f)));
  CHECK(std::isnan(e4m3_to_float(0xff)));
  CHECK(e4m3_to_float(0x01) == std::ldexp(1.0f, -9));  // smallest subnormal
  CHECK(e4m3_to_float(0x08) == std::ldexp(1.0f, -6));  // smallest normal
  CHECK(e4m3_to_float(0x38) == 1.0f);
  CHECK(float_to_e4m3(448.0f) == 0x7e);
  CHECK(float_to_e4m3(1000.0f) == 0x7e);
  CHECK(float_to_e4m3(-1e9f) == 0xfe);
  CHECK(float_to_e4m3(NAN) == 0x7f);
  // Every finite code round-trips.
  for (int c = 0; c < 256; ++c) {
    if ((c & 0x7f) == 0x7f) continue;
    const float v = e4m3_to_float(static_cast<uint8_t>(c));
    if (v == 0.0f) continue;
    CHECK(float_to_e4m3(v) == c);
  }
  // Ties to even: 1 + 1/16 lies between 1 (mantissa 0) and 1.125 (mantissa 1) -> 1.
  CHECK(e4m3_to_float(float_to_e4m3(1.0f + 1.0f / 16)) == 1.0f);
  // 1.125 + 1/16 lies between 1.125 (odd) and 1.25 (even) -> 1.25.
  CHECK(e4m3_to_float(float_to_e4m3(1.1875f)) == 1.25f);
  // Subnormal tie: 1.5 * 2^-9 lies between 2^-9 (odd) and 2^-8 (even) -> 2^-8.
  CHECK(e4m3_to_float(float_to_e4m3(1.5f * std::ldexp(1.0f, -9))) == std::ldexp(1.0f, -8));
  CHECK(e4m3_to_float(float_to_e4m3(0.4f * std::ldexp(1.0f, -9))) == 0.0f);
}

TEST_CASE("fp8 128x128 block quantization: error bound and unaligned slices") {
  std::mt19937 gen(7);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  const size_t rows = 200, cols = 300;  // not multiples of 128: partial edge blocks
  std::vector<float> w(rows * cols);
  for (auto& x : w) x = normal(gen);
  HostWeight q = make_host_weight(w.data(), {int64_t(rows), int64_t(cols)}, WeightFormat::FP8);
  CHECK(q.scales.size() == 2 * 3 * sizeof(float));
  std::vector<float> back = q.to_float();
  double err2 = 0, ref2 = 0;
  const auto* scales = reinterpret_cast<const float*>(q.scales.data());
  for (size_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < cols; ++c) {
      const float x = w[r * cols + c], y = back[r * cols + c];
      const float s = scales[(r / 128) * 3 + c / 128];
      // E4M3 keeps 3 mantissa bits: relative error <= 2^-4 for normals, absolute <= 2^-10 * s below.
      CHECK(std::fabs(x - y) <= std::max(std::fabs(x) * 0.0625f, std::ldexp(s, -10)) * 1.0001f);
      err2 += double(x - y) * (x - y);
      ref2 += double(x) * x;
    }
  MESSAGE("fp8 block relative RMS error ", std::sqrt(err2 / ref2));
  CHECK(std::sqrt(err2 / ref2) < 0.04);
  CHECK(std::sqrt(err2 / ref2) > 0.001);
}

TEST_CASE("parallel_for covers 0 to n-1 exactly once in grain-aligned chunks and rethrows a chunk's exception") {
  for (size_t n : {size_t(0), size_t(1), size_t(7), size_t(1000), size_t(65537)})
    for (size_t grain : {size_t(1), size_t(2), size_t(64), size_t(1) << 16}) {
      CAPTURE(n);
      CAPTURE(grain);
      std::vector<std::atomic<int>> hits(n);
      std::atomic<bool> aligned{true};
      parallel_for(n, grain, [&](size_t begin, size_t end) {
        if (begin % grain != 0 || begin >= end) aligned = false;
        for (size_t i = begin; i < end; ++i) ++hits[i];
      });
      CHECK(aligned);
      size_t once = 0;
      for (const auto& h : hits) once += h == 1;
      CHECK(once == n);
    }
  CHECK_THROWS_AS(parallel_for(1000, 10, [](size_t begin, size_t) { if (begin >= 500) throw Error("chunk failed"); }), Error);
}

TEST_CASE("make_host_weight splits its quantization over threads without changing a bit") {
  // 3 experts of 300 x 256: MXFP4 rows, FP8 128-row bands and BF16 elements all span several chunks.
  const size_t E = 3, R = 300, C = 256;
  std::vector<float> v(E * R * C);
  uint64_t s = 11;
  for (float& x : v) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    x = static_cast<float>(static_cast<int64_t>(s >> 40) - (int64_t(1) << 23)) * 0x1p-24f * ((s >> 20) % 5 == 0 ? 40.0f : 1.0f);
  }
  const std::vector<int64_t> shape{int64_t(E), int64_t(R), int64_t(C)};

  const HostWeight mx = make_host_weight(v.data(), shape, WeightFormat::MXFP4);
  std::vector<uint8_t> blocks(E * R * C / 2), scales(E * R * C / kMxfp4BlockSize);
  quantize_mxfp4(v.data(), E * R, C, blocks.data(), scales.data(), Mxfp4ScaleRule::Floor);
  CHECK(mx.data == blocks);
  CHECK(mx.scales == scales);

  const HostWeight f8 = make_host_weight(v.data(), shape, WeightFormat::FP8);
  const size_t grid = fp8_scale_rows(R) * fp8_scale_cols(C);
  std::vector<uint8_t> codes(E * R * C);
  std::vector<float> fscales(E * grid);
  for (size_t e = 0; e < E; ++e) quantize_fp8_blocks(v.data() + e * R * C, R, C, codes.data() + e * R * C, fscales.data() + e * grid);
  CHECK(f8.data == codes);
  REQUIRE(f8.scales.size() == fscales.size() * sizeof(float));
  CHECK(std::memcmp(f8.scales.data(), fscales.data(), f8.scales.size()) == 0);

  const HostWeight b16 = make_host_weight(v.data(), shape, WeightFormat::BF16);
  bool same = true;
  for (size_t i = 0; i < v.size(); ++i) same &= reinterpret_cast<const uint16_t*>(b16.data.data())[i] == float_to_bf16(v[i]);
  CHECK(same);
}

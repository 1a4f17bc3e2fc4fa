#include "kernels/cpu/rope.h"

#include <cmath>
#include <vector>

namespace tachyon::cpu {

void apply_rope(float* x, size_t rows, int heads, int head_dim, int rotary_dim, const int32_t* positions,
                const float* inv_freq, float attention_factor) {
  const int half = rotary_dim / 2;
  std::vector<float> cos_t(half), sin_t(half);
  for (size_t r = 0; r < rows; ++r) {
    for (int i = 0; i < half; ++i) {
      // The angle is formed in FP32 like the reference implementations; cos/sin of it exactly.
      const float angle = static_cast<float>(positions[r]) * inv_freq[i];
      cos_t[i] = static_cast<float>(std::cos(static_cast<double>(angle))) * attention_factor;
      sin_t[i] = static_cast<float>(std::sin(static_cast<double>(angle))) * attention_factor;
    }
    for (int h = 0; h < heads; ++h) {
      float* v = x + (r * heads + h) * head_dim;
      for (int i = 0; i < half; ++i) {
        const float a = v[i], b = v[i + half];
        v[i] = a * cos_t[i] - b * sin_t[i];
        v[i + half] = b * cos_t[i] + a * sin_t[i];
      }
    }
  }
}

}  // namespace tachyon::cpu

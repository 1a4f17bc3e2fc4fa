#include "runtime/target_weights.h"

#include "model/error.h"
#include "runtime/target_weights_load.h"

namespace tachyon {

const float* f32_data(const HostWeight& w) {
  if (w.empty()) return nullptr;
  TACHYON_CHECK(w.format == WeightFormat::F32, "expected an f32 tensor, got {}", format_name(w.format));
  return reinterpret_cast<const float*>(w.data.data());
}

TargetWeights load_target_weights(const CheckpointReader& reader, const ModelConfig& config, const ShardPlan& plan,
                                  const LoadProgress& progress) {
  const PlaceWeight<HostWeight> keep = [](HostWeight&& w) { return std::move(w); };
  return load_target_weights_to<HostWeight>(reader, config, plan, keep, progress);
}

}  // namespace tachyon

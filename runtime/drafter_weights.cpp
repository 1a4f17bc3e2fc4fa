#include "runtime/drafter_weights.h"

#include "runtime/drafter_weights_load.h"

namespace tachyon {

template DrafterWeights load_drafter_weights_to<HostWeight>(const CheckpointReader&, const DrafterConfig&,
                                                            const CheckpointReader&, const ModelConfig&,
                                                            const PlaceWeight<HostWeight>&);

DrafterConfigs read_drafter_configs(const CheckpointReader& drafter, const CheckpointReader& target) {
  TACHYON_REQUIRE(drafter.kind() == "drafter",
                  "{} is a '{}' checkpoint, not a DFlash drafter (make one with `tachyon convert --drafter`)",
                  drafter.path(), drafter.kind());
  DrafterConfigs c{parse_drafter_config(drafter.config_json(), drafter.path()),
                   target_model_config(target)};
  validate_drafter_for_target(c.drafter, drafter.path(), c.target, target.path());
  return c;
}

DrafterWeights load_drafter_weights(const CheckpointReader& drafter, const DrafterConfig& d,
                                    const CheckpointReader& target, const ModelConfig& t) {
  const PlaceWeight<HostWeight> keep = [](HostWeight&& h) { return std::move(h); };
  return load_drafter_weights_to<HostWeight>(drafter, d, target, t, keep);
}

}  // namespace tachyon

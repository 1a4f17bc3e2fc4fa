// Choosing and building the target step for a device: the CPU reference backend (MPI collectives on
// host buffers) or the CUDA backend (one GPU per rank, NCCL). `auto` takes CUDA when this build has it
// and the rank sees a GPU.
#pragma once

#include <mpi.h>

#include <memory>
#include <string>
#include <vector>

#include "comm/collectives.h"
#include "comm/world.h"
#include "model/checkpoint.h"
#include "model/config.h"
#include "runtime/drafter.h"
#include "runtime/step.h"
#include "runtime/target_weights.h"

namespace tachyon {

enum class Device { Cpu, Cuda };

// Resolves "cpu", "cuda" or "auto"; asking for cuda where it is not available is an error that says why.
Device resolve_device(const std::string& choice);
int visible_gpus();  // 0 in a build without CUDA

struct StepConfig {
  int num_slots = 8;
  int capacity = 4096;
  int max_step_tokens = 2048;
  int max_logit_rows = 8;
  std::vector<int> tap_layers;
  bool cuda_graphs = true;
  // A token's bits whatever the batch around it (kernels/cuda/batch_invariant.h): greedy output then does not depend
  // on --max-batch or on speculation. The CPU backend's kernels are so already (one arithmetic a row).
  bool batch_invariant = false;
};

// Owns the step and whatever it needs to live (the NCCL communicator).
class TargetRuntime {
 public:
  virtual ~TargetRuntime() = default;
  virtual TargetStep& step() = 0;
  virtual std::string describe() const = 0;  // weights and KV cache sizes, for the log
};

// Loads this rank's shard and builds the step. For CUDA, `world.device` must be set.
std::unique_ptr<TargetRuntime> make_target_runtime(Device device, const CheckpointReader& reader, const ModelConfig& config,
                                                   const ShardPlan& plan, comm::Collectives& host_comm, MPI_Comm mpi,
                                                   const comm::World& world, const StepConfig& step,
                                                   const LoadProgress& progress);

// Reads this rank's shard of the target into its place (the GPU `cuda_device` for Device::Cuda, host
// memory for Device::Cpu), waits until it is there, frees it and returns the bytes read from the file:
// what `tachyon bench load` times (make_target_runtime reads the same way, then builds the step).
uint64_t load_shard(Device device, const CheckpointReader& reader, const ModelConfig& config, const ShardPlan& plan,
                    int cuda_device, const LoadProgress& progress);

// Rank 0's DFlash drafter on the same device as the target step: CudaDrafter on the current GPU for
// Device::Cuda (draft tokens only; no logits copied back), on the stream of `runtime`'s step, whose device
// taps it reads; CpuDrafter otherwise. `capacity`: positions per slot, context plus one block of scratch.
// `runtime` must outlive the drafter.
std::unique_ptr<Drafter> make_drafter(Device device, const CheckpointReader& drafter, const CheckpointReader& target,
                                      TargetRuntime& runtime, int num_slots, int capacity, bool cuda_graphs);

}  // namespace tachyon

#include "runtime/backend.h"

#include <fmt/format.h>

#include "model/error.h"
#include "runtime/cpu_drafter.h"
#include "runtime/cpu_target_step.h"

#if TACHYON_HAVE_CUDA
#include <cuda_runtime.h>

#include "kernels/cuda/batch_invariant.h"
#include "runtime/cuda/cuda_drafter.h"
#include "runtime/cuda/cuda_target_step.h"
#endif

namespace tachyon {

int visible_gpus() {
#if TACHYON_HAVE_CUDA
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) return 0;
  return n;
#else
  return 0;
#endif
}

Device resolve_device(const std::string& choice) {
  if (choice == "cpu") return Device::Cpu;
  if (choice == "cuda") {
    TACHYON_REQUIRE(TACHYON_HAVE_CUDA, "--device cuda: this build has no CUDA backend (configure with -DTACHYON_CUDA=ON "
                                       "on a machine with the CUDA toolkit and NCCL)");
    TACHYON_REQUIRE(visible_gpus() > 0, "--device cuda: no GPU is visible to this process (check CUDA_VISIBLE_DEVICES "
                                        "and the driver), or use --device cpu");
    return Device::Cuda;
  }
  TACHYON_REQUIRE(choice == "auto", "--device: '{}' is not one of cpu, cuda, auto", choice);
  return visible_gpus() > 0 ? Device::Cuda : Device::Cpu;
}

namespace {

class CpuRuntime final : public TargetRuntime {
 public:
  CpuRuntime(const CheckpointReader& reader, const ModelConfig& c, const ShardPlan& plan, comm::Collectives& comm,
             const StepConfig& s, const LoadProgress& progress)
      : step_(c, plan, load_target_weights(reader, c, plan, progress), comm, s.num_slots, s.capacity, s.tap_layers) {}
  TargetStep& step() override { return step_; }
  std::string describe() const override { return "CPU backend"; }

 private:
  CpuTargetStep step_;
};

#if TACHYON_HAVE_CUDA
class CudaRuntime final : public TargetRuntime {
 public:
  CudaRuntime(const CheckpointReader& reader, const ModelConfig& c, const ShardPlan& plan, MPI_Comm mpi, int device,
              const StepConfig& s, const LoadProgress& progress)
      : nccl_(mpi, device),
        step_(c, plan, load_device_weights(reader, c, plan, progress), nccl_,
              CudaStepLimits{s.num_slots, s.capacity, s.max_step_tokens, s.max_logit_rows, s.cuda_graphs}, s.tap_layers),
        device_(device) {}
  TargetStep& step() override { return step_; }
  cudaStream_t stream() const { return step_.stream(); }
  std::string describe() const override {
    return fmt::format("CUDA backend on GPU {}: {:.2f} GB of weights, {:.2f} GB of KV cache", device_,
                       step_.weight_bytes() / 1e9, step_.kv_cache_bytes() / 1e9);
  }

 private:
  comm::NcclComm nccl_;
  CudaTargetStep step_;
  int device_;
};
#endif

}  // namespace

std::unique_ptr<TargetRuntime> make_target_runtime(Device device, const CheckpointReader& reader, const ModelConfig& config,
                                                   const ShardPlan& plan, comm::Collectives& host_comm, MPI_Comm mpi,
                                                   const comm::World& world, const StepConfig& step,
                                                   const LoadProgress& progress) {
  if (device == Device::Cpu) return std::make_unique<CpuRuntime>(reader, config, plan, host_comm, step, progress);
#if TACHYON_HAVE_CUDA
  TACHYON_CHECK(world.device >= 0, "no GPU assigned to rank {}", world.rank);
  if (cudaSetDevice(world.device) != cudaSuccess) throw Error(fmt::format("cudaSetDevice({}) failed", world.device));
  cuda::set_batch_invariant(step.batch_invariant);  // process-wide, before any step is built (the drafter's too)
  return std::make_unique<CudaRuntime>(reader, config, plan, mpi, world.device, step, progress);
#else
  (void)mpi;
  (void)world;
  throw Error("this build has no CUDA backend");
#endif
}

uint64_t load_shard(Device device, const CheckpointReader& reader, const ModelConfig& config, const ShardPlan& plan,
                    int cuda_device, const LoadProgress& progress) {
  uint64_t bytes = 0;
  const LoadProgress count = [&](size_t done, size_t total, uint64_t read) {
    bytes = read;
    if (progress) progress(done, total, read);
  };
  if (device == Device::Cpu) {
    const TargetWeights w = load_target_weights(reader, config, plan, count);
    return bytes;
  }
#if TACHYON_HAVE_CUDA
  if (cudaSetDevice(cuda_device) != cudaSuccess) throw Error(fmt::format("cudaSetDevice({}) failed", cuda_device));
  const DeviceTargetWeights w = load_device_weights(reader, config, plan, count);
  if (cudaDeviceSynchronize() != cudaSuccess) throw Error("load_shard: the uploads failed");
  return bytes;
#else
  (void)cuda_device;
  throw Error("this build has no CUDA backend");
#endif
}

std::unique_ptr<Drafter> make_drafter(Device device, const CheckpointReader& drafter, const CheckpointReader& target,
                                      TargetRuntime& runtime, int num_slots, int capacity, bool cuda_graphs) {
  if (device == Device::Cpu) return std::make_unique<CpuDrafter>(CpuDrafter::load(drafter, target, num_slots, capacity));
#if TACHYON_HAVE_CUDA
  const auto* cuda_runtime = dynamic_cast<const CudaRuntime*>(&runtime);
  TACHYON_CHECK(cuda_runtime, "a GPU drafter needs the GPU target step (its stream and taps)");
  CudaDrafterOptions o;
  o.stream = cuda_runtime->stream();
  o.num_slots = num_slots;
  o.capacity = capacity;
  o.return_logits = false;
  o.use_graphs = cuda_graphs;
  return CudaDrafter::load(drafter, target, o);
#else
  (void)runtime;
  (void)cuda_graphs;
  throw Error("this build has no CUDA backend");
#endif
}

}  // namespace tachyon

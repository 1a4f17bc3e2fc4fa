#include "comm/cuda/peer_buffers.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_buffer.h"

namespace tachyon::comm {

namespace {

bool g_peer_all_reduce = true;

// What each rank tells the others: its buffer's IPC handle and its host.
struct PeerInfo {
  cudaIpcMemHandle_t handle;
  uint64_t host_hash;
  int32_t ok;         // the handle could be made
  int32_t push_rows;  // the most rows its push launches may take (the ranks use the least)
};

uint64_t host_hash() {
  char name[256] = {};
  gethostname(name, sizeof(name) - 1);
  return std::hash<std::string>{}(name);
}

}  // namespace

bool peer_all_reduce_enabled() { return g_peer_all_reduce; }
void set_peer_all_reduce_enabled(bool enabled) { g_peer_all_reduce = enabled; }

PeerBuffers::PeerBuffers(NcclComm& comm, int max_rows, int dim, cudaStream_t stream) {
  using cuda::PeerReduce;
  const int n = comm.size(), rank = comm.rank();
  if (n < 2 || n > PeerReduce::kMaxRanks || max_rows <= 0 || dim <= 0) return;  // the same answer on every rank
  const size_t slot_bytes = static_cast<size_t>(max_rows) * dim * sizeof(float);
  constexpr int kEpochs = PeerReduce::kBlocks + PeerReduce::kPushMaxRows * PeerReduce::kPushCtas;  // pull's, push's
  const size_t flag_bytes = static_cast<size_t>(PeerReduce::kBlocks) * PeerReduce::kMaxRanks * sizeof(uint32_t);
  const int push_rows = std::min(max_rows, cuda::peer_push_max_rows(dim));  // agreed on below (the least)
  const size_t line_bytes = 2ull * n * push_rows * (dim / 2) * sizeof(uint4);
  const size_t bytes = 2 * slot_bytes + flag_bytes + line_bytes;

  PeerInfo me{};
  me.host_hash = host_hash();
  me.push_rows = push_rows;
  me.ok = cudaMalloc(&own_, bytes) == cudaSuccess && cudaMalloc(&epoch_, kEpochs * sizeof(uint32_t)) == cudaSuccess &&
          cudaMemsetAsync(static_cast<uint8_t*>(own_) + 2 * slot_bytes, 0, flag_bytes + line_bytes, stream) == cudaSuccess &&
          cudaMemsetAsync(epoch_, 0, kEpochs * sizeof(uint32_t), stream) == cudaSuccess &&
          cudaIpcGetMemHandle(&me.handle, own_) == cudaSuccess;
  cudaGetLastError();  // a refusal above is an answer (ok = 0), not an error to carry

  // Everyone's handle and host, through the device (NCCL all-gather).
  std::vector<PeerInfo> all(n);
  cuda::DeviceBuffer<uint8_t> info(sizeof(PeerInfo) * n);
  uint8_t* d_info = info.get();
  CUDA_CHECK(cudaMemcpyAsync(d_info + sizeof(PeerInfo) * rank, &me, sizeof(PeerInfo),
                            cudaMemcpyHostToDevice, stream));
  nccl_check(ncclAllGather(d_info + sizeof(PeerInfo) * rank, d_info, sizeof(PeerInfo), ncclUint8,
                           comm.get(), stream), "ncclAllGather(peer info)");
  CUDA_CHECK(cudaMemcpyAsync(all.data(), d_info, sizeof(PeerInfo) * n, cudaMemcpyDeviceToHost, stream));
  CUDA_CHECK(cudaStreamSynchronize(stream));

  int32_t ok = 1;
  for (int j = 0; j < n; ++j) ok &= all[j].ok && all[j].host_hash == me.host_hash;
  for (int j = 0; j < n && ok; ++j) {
    if (j == rank) continue;
    if (cudaIpcOpenMemHandle(&mapped_[j], all[j].handle, cudaIpcMemLazyEnablePeerAccess) != cudaSuccess) {
      mapped_[j] = nullptr;
      ok = 0;
      cudaGetLastError();
    }
  }
  // Agree: the fused path only if every rank mapped every other one.
  CUDA_CHECK(cudaMemcpyAsync(d_info, &ok, sizeof(ok), cudaMemcpyHostToDevice, stream));
  nccl_check(ncclAllReduce(d_info, d_info, 1, ncclInt32, ncclMin, comm.get(), stream), "ncclAllReduce(peer ok)");
  CUDA_CHECK(cudaMemcpyAsync(&ok, d_info, sizeof(ok), cudaMemcpyDeviceToHost, stream));
  CUDA_CHECK(cudaStreamSynchronize(stream));
  if (!ok) {
    spdlog::info("peer all-reduce: not every rank could map every other rank's buffer; using NCCL's all-reduce");
    release();
    return;
  }
  view_.ranks = n;
  view_.rank = rank;
  view_.max_rows = max_rows;
  view_.push_rows = push_rows;
  for (const PeerInfo& i : all) view_.push_rows = std::min(view_.push_rows, static_cast<int>(i.push_rows));
  view_.dim = dim;
  view_.epoch = epoch_;
  view_.push_epoch = epoch_ + PeerReduce::kBlocks;  // [kPushMaxRows * kPushCtas]
  for (int j = 0; j < n; ++j) {
    uint8_t* base = static_cast<uint8_t*>(j == rank ? own_ : mapped_[j]);
    view_.buf[j] = reinterpret_cast<float*>(base);
    view_.flags[j] = reinterpret_cast<uint32_t*>(base + 2 * slot_bytes);
    view_.lines[j] = reinterpret_cast<uint4*>(base + 2 * slot_bytes + flag_bytes);
  }
  available_ = true;
}

void PeerBuffers::release() {
  for (void*& m : mapped_)
    if (m) cudaIpcCloseMemHandle(m), m = nullptr;
  if (own_) cudaFree(own_), own_ = nullptr;
  if (epoch_) cudaFree(epoch_), epoch_ = nullptr;
  available_ = false;
}

PeerBuffers::~PeerBuffers() { release(); }

}  // namespace tachyon::comm

// The all-reduce of a tensor-parallel step's partial sums over the GPUs of one node, fused with the
// residual add and the RMSNorm after it: x += (sum over ranks of partial); y = rmsnorm(x) * w. It takes the
// place of an NCCL all-reduce and add_rmsnorm (two launches, ~8 us for NCCL's small-message all-reduce on
// 2 H200s) in every layer of the step.
//
// How: each rank copies its partial rows into its own buffer, which every other rank has mapped (CUDA
// IPC; comm/cuda/peer_buffers.h owns the memory), raises a flag in every rank's flag array, waits for
// every rank's flag, and then reads all ranks' rows over NVLink and sums them itself, in rank order, so that
// every rank gets the same bits. Each CTA has its own flags and launch counter (the epoch it writes), so
// CTAs never wait for one another on the same GPU, and a CUDA graph replays it as it is. Buffers are double
// (the epoch's parity picks one): a rank writes a buffer again only two launches later, after the launch in
// between has seen every rank arrive, i.e. after every rank has finished reading it.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace tachyon::cuda {

struct PeerReduce {
  static constexpr int kMaxRanks = 8;
  static constexpr int kBlocks = 32;  // CTAs of a launch (at most): each has its own flags and epoch
  int ranks = 0, rank = 0;
  int max_rows = 0, dim = 0;              // each buffer slot holds max_rows rows of dim floats
  float* buf[kMaxRanks] = {};             // rank j's buffer: 2 slots of max_rows * dim (own: buf[rank])
  uint32_t* flags[kMaxRanks] = {};        // rank j's flags [kBlocks][kMaxRanks]: the epoch rank i's CTA b reached
  uint32_t* epoch = nullptr;              // this rank's [kBlocks] launch counters (not shared)
};

// Whether the fused kernel takes rows x dim (dim a multiple of 4, at most 16384; rows at most max_rows).
bool peer_reduce_fits(const PeerReduce& p, int rows, int dim);

// partial [rows, dim] (this rank's share of the sum), x [rows, dim] the residual stream (updated), w [dim],
// y [rows, dim] the normed rows. Every rank of p must make the same sequence of calls with the same rows.
// A rank that waits more than ~10 s for the others traps (the job then ends with an error, not a hang).
void peer_all_reduce_add_rmsnorm(const PeerReduce& p, const float* partial, float* x, const float* w, int rows, int dim,
                                 float eps, float* y, cudaStream_t stream);

}  // namespace tachyon::cuda

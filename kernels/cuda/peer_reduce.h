// The all-reduce of a tensor-parallel step's partial sums over the GPUs of one node, fused with the
// residual add and the RMSNorm after it: x += (sum over ranks of partial); y = rmsnorm(x) * w. It takes the
// place of an NCCL all-reduce and add_rmsnorm (two launches, ~8 us for NCCL's small-message all-reduce on
// 2 H200s) in every layer of the step.
//
// Two ways, chosen by the number of rows (the same choice on every rank):
// - Push, for steps of at most kPushMaxRows rows (decode steps, small verify blocks): latency is what
//   counts. Each rank stores its partial rows straight into every rank's buffer, every pair of floats
//   beside two copies of the launch's epoch (16-byte lines; like NCCL's LL protocol this relies on each
//   8-byte half landing whole, which the PTX memory model does not promise for vector stores), so that a
//   rank then reads only its own memory and knows a line has arrived when its epochs match: no fence, no
//   separate flag. A cluster of 8 CTAs shares each row's columns, so that 8 SMs move the data; after they
//   have added their columns into x, each reads the whole row back and norms it in add_rmsnorm's order (the
//   same bits), writing its share of y. Buffers are double (the epoch's parity picks one); each CTA counts
//   its own launches, as it always takes the same part of the same row.
// - Pull, for more rows: bandwidth is what counts, and the push's lines carry twice the bytes to every
//   rank. Each rank copies its partial rows into its own buffer, which every other rank has mapped (CUDA
//   IPC; comm/cuda/peer_buffers.h owns the memory), raises a flag in every rank's flag array, waits for
//   every rank's flag, and then reads all ranks' rows over NVLink and sums them itself, in rank order, so
//   that every rank gets the same bits. Each CTA has its own flags and launch counter (the epoch it writes),
//   so CTAs never wait for one another on the same GPU, and a CUDA graph replays it as it is.
// Either way a rank writes a buffer again only two of its launches later, after the launch in between
// has seen every rank arrive, i.e. after every rank has finished reading it. A push launch's CTAs wait for
// other ranks' CTAs of the same row, so all of them must be resident at once: push_rows is at most the
// clusters a GPU holds together (peer_push_max_rows; the norm's weights wait in shared memory, not in
// registers, so that two CTAs fit an SM). Measured on 4 x H200 (MiMo-V2.5-Pro slice, docs/benchmarks.md
// "Session 14"), the step's all-reduces alone: push 664-703 us against pull 1861 at one row, 1098-1192
// against 1938 at 8, 1623 (all 16 clusters resident) against 2048 at 16, but 6009 against 3893 at 64.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace tachyon::cuda {

struct PeerReduce {
  static constexpr int kMaxRanks = 8;
  static constexpr int kBlocks = 32;       // pull: CTAs of a launch (at most); each has its own flags and epoch
  static constexpr int kPushMaxRows = 16;  // steps of at most this many rows push (see push_rows), larger ones pull
  static constexpr int kPushCtas = 8;      // push: the CTAs of a cluster, which share a row's columns
  static constexpr int kMaxSlots = 8;      // slot rows a partial row may be summed from (the MoE's top-k)
  int ranks = 0, rank = 0;
  int max_rows = 0, dim = 0;               // rows of dim floats a call may reduce
  // Pull: rank j's buffer, 2 slots of max_rows * dim (own: buf[rank]), and its flags [kBlocks][kMaxRanks],
  // the epoch rank i's CTA b reached; this rank's [kBlocks] launch counters (not shared).
  float* buf[kMaxRanks] = {};
  uint32_t* flags[kMaxRanks] = {};
  uint32_t* epoch = nullptr;
  // Push: rank j's lines [2 slots][ranks senders][push_rows][dim / 2], each {a, epoch, b, epoch}; this
  // rank's launch counters, one a CTA ([kPushMaxRows * kPushCtas]; not shared).
  int push_rows = 0;                       // at most peer_push_max_rows(dim), the same on every rank
  uint4* lines[kMaxRanks] = {};
  uint32_t* push_epoch = nullptr;
};

// The most rows a push launch over rows of dim floats may take on this GPU: every one of its clusters
// (one a row) resident at once, as CTAs wait for other ranks' CTAs of the same row, and the kernel's
// registers allowing row_block_threads(dim) threads; at most kPushMaxRows, 0 where it cannot launch.
int peer_push_max_rows(int dim);

// Whether the fused kernel takes rows x dim (dim a multiple of 4, at most 16384; rows at most max_rows).
bool peer_reduce_fits(const PeerReduce& p, int rows, int dim);

// partial [rows, dim] (this rank's share of the sum), x [rows, dim] the residual stream (updated), w [dim],
// y [rows, dim] the normed rows. Every rank of p must make the same sequence of calls with the same rows.
// A rank that waits more than ~10 s for the others traps (the job then ends with an error, not a hang).
// k > 0 (at most kMaxSlots, and only in steps that push: rows <= push_rows): partial is [rows, k, dim], the
// MoE's weighted expert outputs of a tensor-parallel rank, and this rank's share of row r is the sum of its k
// slot rows with moe_combine's bits (from zero in slot order), so that the combine needs no launch of its own.
void peer_all_reduce_add_rmsnorm(const PeerReduce& p, const float* partial, float* x, const float* w, int rows, int dim,
                                 float eps, float* y, cudaStream_t stream, int k = 0);

}  // namespace tachyon::cuda

// The bookkeeping both DFlash drafters share (CpuDrafter, CudaDrafter): how many context positions each
// slot holds, and the checks of add_context chunks, rollbacks and draft batches, with one set of error
// messages. The drafters own the arithmetic; this owns the rules of runtime/drafter.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "runtime/drafter.h"

namespace tachyon {

class DraftSlots {
 public:
  // `capacity`: positions per slot, context plus one block of scratch (p + B <= capacity).
  DraftSlots(int num_slots, int capacity);

  int num_slots() const { return static_cast<int>(length_.size()); }
  int capacity() const { return capacity_; }
  int length(int slot) const;             // context positions held (checks the slot)
  void rollback(int slot, int length);    // length <= the current length

  // The rows of an add_context call, in chunk order, checked against the lengths as they will be when
  // each chunk's turn comes (distinct slots or consecutive chunks of one slot, in order).
  struct ContextRows {
    std::vector<int32_t> positions, slots;  // per row
    std::vector<int> lengths_after;         // every slot's length once the rows are in
  };
  ContextRows check_context(const std::vector<DraftContext>& chunks) const;
  void commit(const ContextRows& rows) { length_ = rows.lengths_after; }

  // A checked draft batch: the requests with block_size resolved (0 -> `default_block`), and their rows
  // (request s owns rows first_row[s] .. first_row[s] + block_size - 1, at positions p .. p + B - 1).
  struct BlockRows {
    std::vector<DraftRequest> requests;
    std::vector<size_t> first_row;
    std::vector<int32_t> positions;
  };
  BlockRows check_draft(const std::vector<DraftRequest>& requests, int default_block, size_t vocab) const;

 private:
  int capacity_;
  std::vector<int> length_;
};

}  // namespace tachyon

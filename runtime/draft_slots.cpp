#include "runtime/draft_slots.h"

#include <set>

#include "model/drafter_config.h"
#include "model/error.h"

namespace tachyon {

DraftSlots::DraftSlots(int num_slots, int capacity) : capacity_(capacity), length_(num_slots, 0) {}

int DraftSlots::length(int slot) const {
  TACHYON_REQUIRE(slot >= 0 && slot < num_slots(), "drafter slot {} is outside [0, {})", slot, num_slots());
  return length_[slot];
}

void DraftSlots::rollback(int slot, int length) {
  TACHYON_REQUIRE(length >= 0 && length <= this->length(slot),
                  "drafter rollback of slot {} to {} positions, but it holds {}", slot, length, this->length(slot));
  length_[slot] = length;  // rows past the length are dead; the next add_context overwrites them
}

DraftSlots::ContextRows DraftSlots::check_context(const std::vector<DraftContext>& chunks) const {
  ContextRows rows;
  rows.lengths_after = length_;
  std::vector<int>& length = rows.lengths_after;
  for (const DraftContext& ch : chunks) {
    TACHYON_REQUIRE(ch.slot >= 0 && ch.slot < num_slots(), "drafter slot {} is outside [0, {})", ch.slot, num_slots());
    TACHYON_REQUIRE(ch.count >= 0 && (ch.count == 0 || ch.taps), "drafter context of slot {}: {} rows without taps",
                    ch.slot, ch.count);
    TACHYON_REQUIRE(ch.start == length[ch.slot],
                    "drafter context of slot {} starts at position {}, but the slot holds {} positions (context is "
                    "appended in order; roll back first to rewrite)", ch.slot, ch.start, length[ch.slot]);
    TACHYON_REQUIRE(ch.start + ch.count <= capacity_, "drafter context of slot {} would end at {}, past the capacity {}",
                    ch.slot, ch.start + ch.count, capacity_);
    length[ch.slot] += ch.count;
    for (int i = 0; i < ch.count; ++i) {
      rows.positions.push_back(ch.start + i);
      rows.slots.push_back(ch.slot);
    }
  }
  return rows;
}

DraftSlots::BlockRows DraftSlots::check_draft(const std::vector<DraftRequest>& requests, int default_block,
                                              size_t vocab) const {
  BlockRows b;
  b.requests = requests;
  std::set<int32_t> seen;
  for (DraftRequest& r : b.requests) {
    if (r.block_size == 0) r.block_size = default_block;
    TACHYON_REQUIRE(seen.insert(r.slot).second, "drafter: slot {} appears twice in one draft batch", r.slot);
    TACHYON_REQUIRE(r.block_size >= 2 && r.block_size <= kMaxDraftBlock, "drafter: block size {} is outside [2, {}]",
                    r.block_size, kMaxDraftBlock);
    TACHYON_REQUIRE(r.position == length(r.slot),
                    "drafter: anchor at position {} in slot {}, which holds context for {} positions (it must hold "
                    "exactly the positions before the anchor)", r.position, r.slot, length(r.slot));
    TACHYON_REQUIRE(r.position + r.block_size <= capacity_,
                    "drafter: block [{}, {}) of slot {} does not fit the capacity {}", r.position,
                    r.position + r.block_size, r.slot, capacity_);
    TACHYON_REQUIRE(r.anchor_token >= 0 && static_cast<size_t>(r.anchor_token) < vocab,
                    "drafter: anchor token {} is outside the vocabulary of {}", r.anchor_token, vocab);
    b.first_row.push_back(b.positions.size());
    for (int i = 0; i < r.block_size; ++i) b.positions.push_back(r.position + i);
  }
  return b;
}

}  // namespace tachyon

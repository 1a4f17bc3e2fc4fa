// What speculative decoding needs from a drafter: proposals for the next tokens of several sequences
// at once, and per-slot context that follows the committed text. runtime/generator.cpp drives it;
// CpuDrafter (DFlash, on the CPU) implements it.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace tachyon {

// Target features for `count` consecutive positions start.. of one slot. `taps` points at
// [count, K, H] floats: for each position, the target's residual stream after each of the drafter's
// target_layer_ids, in that order (exactly CpuTargetStep's StepOutput::taps rows when the step was
// built with tap_layers = target_layer_ids). Layer L's tap is decoder layer L's output (HF hidden_states
// [L + 1]). For the last layer that is the residual stream before the final norm, as vLLM and SGLang
// capture it (both serve MiMo's DFlash drafters, which tap the last layer so); Hugging Face's
// hidden_states[N], which z-lab's reference reads, is after the norm. z-lab's default layer choice never
// taps the last layer; model/drafter_config.cpp says so in the log when a drafter does.
struct DraftContext {
  int32_t slot = 0;
  int32_t start = 0;   // must equal the slot's context length (append only; rollback first to rewrite)
  int32_t count = 0;
  // Host memory; or, for a drafter that reads_device_taps(), rows of the target step's device_taps (every
  // chunk of one add_context call in that one buffer).
  const float* taps = nullptr;
};

struct DraftRequest {
  int32_t slot = 0;
  int32_t anchor_token = 0;  // the last committed token, which has no target features yet
  int32_t position = 0;      // the anchor's position p; the slot's context length must be p
  int32_t block_size = 0;    // B in [2, kMaxDraftBlock]: B - 1 draft tokens; 0 = the config's block_size
  // The sequence's committed tokens (prompt, then output; output.back() is the anchor), for drafters
  // that work from the text (the DFlash drafter uses the target's features instead).
  std::span<const int32_t> prompt = {}, output = {};
};

struct Draft {
  std::vector<float> logits;    // [B - 1, vocab]: block rows 1..B-1 through the target's LM head
  std::vector<int32_t> tokens;  // [B - 1]: arg-max of each row, lowest id on ties
};

class Drafter {
 public:
  virtual ~Drafter() = default;
  // Tapped target layers whose features add_context receives (the target step must output them).
  virtual const std::vector<int>& tap_layers() const = 0;
  // Whether add_context takes the target step's device rows (StepOutput::device_taps) instead of host
  // ones: true for a GPU drafter that shares the target step's device and stream, so that it reads them
  // in order, before the next step overwrites them, and nothing goes through the host.
  virtual bool reads_device_taps() const { return false; }
  // Appends committed positions' target features, per slot, in order.
  virtual void add_context(const std::vector<DraftContext>& chunks) = 0;
  // Forgets context positions >= length (0 when a slot is given to a new sequence).
  virtual void rollback(int slot, int length) = 0;
  // One proposal per request (distinct slots): block_size - 1 tokens.
  virtual std::vector<Draft> draft(const std::vector<DraftRequest>& requests) = 0;
};

}  // namespace tachyon

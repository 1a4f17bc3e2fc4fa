#include "runtime/generator.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <fstream>
#include <memory>
#include <optional>

#include "model/error.h"
#include "runtime/drafter.h"
#include "runtime/fault_injection.h"
#include "runtime/result_writer.h"
#include "runtime/sampler.h"
#include "runtime/sequence.h"
#include "runtime/step_plan.h"

namespace tachyon {

namespace {

// Reads non-empty lines one at a time, so a huge prompt file never sits in memory.
class PromptReader {
 public:
  explicit PromptReader(const std::string& path) : path_(path), in_(path) {
    TACHYON_REQUIRE(in_.good(), "cannot open prompt file '{}'", path);
  }
  // Returns false at the end of the file. `origin` is "file:line".
  bool next(std::string& line, std::string& origin) {
    while (std::getline(in_, line)) {
      ++line_no_;
      if (line.find_first_not_of(" \t\r\n") == std::string::npos) continue;
      origin = fmt::format("{}:{}", path_, line_no_);
      return true;
    }
    TACHYON_REQUIRE(!in_.bad(), "reading prompt file '{}' failed at line {}", path_, line_no_);
    return false;
  }

 private:
  std::string path_;
  std::ifstream in_;
  size_t line_no_ = 0;
};

class Driver {
 public:
  Driver(const GenerateOptions& o, const ModelConfig& c, TargetStep& step, comm::Collectives& comm,
         StepWatchdog& watchdog, const Tokenizer* tokenizer, Drafter* drafter)
      : o_(o), c_(c), step_(step), comm_(comm), watchdog_(watchdog), tokenizer_(tokenizer), drafter_(drafter),
        sampler_(comm, step.plan().vocab), reader_(o.prompts_path), writer_(o.output_path),
        slots_(step.num_slots(), nullptr) {
    TACHYON_REQUIRE(o.max_model_len <= step.capacity(), "--max-model-len {} exceeds the KV capacity {}",
                    o.max_model_len, step.capacity());
    TACHYON_CHECK(!drafter_ || o.block_size >= 2, "speculative block size {}", o.block_size);
  }

  GenerationSummary run() {
    const auto start = Clock::now();
    for (;;) {
      admit();
      if (active_.empty()) break;
      StepPlan plan = build_plan();
      broadcast_plan(comm_, plan);
      StepOutput out;
      out.want_host_logits = DistributedSampler::any_sampled(plan.rows);
      watchdog_.begin(fmt::format("step {} ({} tokens, {} sequences)", summary_.steps, plan.batch.tokens.size(),
                                  plan.batch.seqs.size()));
      const auto verify_start = Clock::now();
      inject_fault_if_requested(comm_.rank(), summary_.steps);
      step_.run(plan.batch, out);
      const std::vector<int32_t> chosen = sampler_.choose(out, plan.rows);
      summary_.verify_seconds += std::chrono::duration<double>(Clock::now() - verify_start).count();
      watchdog_.end();
      ++summary_.steps;
      apply(plan, chosen, out);
    }
    StepPlan stop;
    stop.stop = true;
    broadcast_plan(comm_, stop);
    writer_.sync();
    summary_.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return summary_;
  }

 private:
  // Fills free slots with the next requests; bad lines are answered with an error line at once.
  void admit() {
    while (!input_done_ && free_slot() >= 0) {
      std::string line, origin;
      if (!reader_.next(line, origin)) {
        input_done_ = true;
        break;
      }
      const size_t index = summary_.requests++;
      auto parsed = parse_request_line(line, index, origin, o_.defaults);
      if (auto* err = std::get_if<RequestError>(&parsed)) {
        fail(index, err->id, err->message);
        continue;
      }
      Request req = std::move(std::get<Request>(parsed));
      if (std::string problem = prepare(req, origin); !problem.empty()) {
        fail(index, req.id, problem);
        continue;
      }
      auto seq = std::make_unique<ActiveSequence>();
      seq->queued = run_start_;
      seq->admitted = Clock::now();
      seq->slot = free_slot();
      seq->request = std::move(req);
      if (drafter_) drafter_->rollback(seq->slot, 0);  // the slot's previous sequence's context
      if (tokenizer_) seq->detokenizer = std::make_unique<IncrementalDecoder>(*tokenizer_, /*skip_special_tokens=*/true);
      summary_.prompt_tokens += seq->prompt_len();
      slots_[seq->slot] = seq.get();
      active_.push_back(std::move(seq));
    }
  }

  // Tokenizes and validates a request against the model; returns a message when it cannot run.
  std::string prepare(Request& r, const std::string& origin) {
    if (r.prompt_text) {
      if (!tokenizer_)
        return fmt::format("{}: field 'prompt': this checkpoint has no tokenizer; give the prompt as 'input_ids'", origin);
      try {
        r.prompt_ids = tokenizer_->encode(*r.prompt_text);
      } catch (const Error& e) {
        return fmt::format("{}: field 'prompt': {}", origin, e.what());
      }
      if (r.prompt_ids.empty()) return fmt::format("{}: field 'prompt': encodes to no tokens", origin);
    }
    if (!r.stop.empty() && !tokenizer_)
      return fmt::format("{}: field 'stop': stop strings need a tokenizer, which this checkpoint lacks; use "
                         "'stop_token_ids'", origin);
    for (size_t i = 0; i < r.prompt_ids.size(); ++i)
      if (r.prompt_ids[i] >= c_.vocab_size)
        return fmt::format("{}: field 'input_ids': token id {} at position {} is outside the vocabulary of {}", origin,
                           r.prompt_ids[i], i, c_.vocab_size);
    for (int32_t id : r.stop_token_ids)
      if (id >= c_.vocab_size)
        return fmt::format("{}: field 'stop_token_ids': {} is outside the vocabulary of {}", origin, id, c_.vocab_size);
    const int64_t need = static_cast<int64_t>(r.prompt_ids.size()) + r.max_tokens;
    if (need > o_.max_model_len)
      return fmt::format("{}: the prompt has {} tokens and max_tokens is {}: {} positions exceed the context of {} "
                         "(--max-model-len)", origin, r.prompt_ids.size(), r.max_tokens, need, o_.max_model_len);
    return {};
  }

  void fail(size_t index, const nlohmann::json& id, const std::string& message) {
    ++summary_.errors;
    spdlog::warn("request {}: {}", id.dump(), message);
    writer_.submit(index, error_json(id, message));
  }

  int free_slot() const {
    for (size_t i = 0; i < slots_.size(); ++i)
      if (!slots_[i] && static_cast<int>(i) < o_.max_batch) return static_cast<int>(i);
    return -1;
  }

  // The block a decoding sequence verifies this step: as long as the drafter's block, but no more tokens
  // than the request may still produce and no position past the context (1: plain decoding).
  int block_for(const ActiveSequence& seq) const {
    if (!drafter_) return 1;
    const int remaining = seq.request.max_tokens - static_cast<int>(seq.output.size());
    const int room = o_.max_model_len - seq.next_position();
    return std::max(1, std::min({o_.block_size, remaining, room}));
  }

  // Drafts the blocks of every decoding sequence that verifies more than one token, in one batch.
  std::vector<std::vector<int32_t>> draft_blocks(size_t budget) {
    std::vector<std::vector<int32_t>> drafts(active_.size());
    if (!drafter_) return drafts;
    const auto start = Clock::now();
    std::vector<DraftRequest> requests;
    std::vector<size_t> owner;
    size_t used = 0;
    for (size_t i = 0; i < active_.size() && used < budget; ++i) {
      const ActiveSequence& seq = *active_[i];
      used += seq.in_prefill() ? seq.prompt_len() - seq.prompt_done : block_for(seq);
      if (seq.in_prefill() || block_for(seq) < 2) continue;
      requests.push_back({seq.slot, seq.output.back(), seq.next_position(), block_for(seq), seq.request.prompt_ids, seq.output});
      owner.push_back(i);
    }
    if (requests.empty()) return drafts;
    std::vector<Draft> made = drafter_->draft(requests);
    for (size_t j = 0; j < made.size(); ++j) {
      drafts[owner[j]] = std::move(made[j].tokens);
      summary_.drafted += drafts[owner[j]].size();
    }
    summary_.draft_seconds += std::chrono::duration<double>(Clock::now() - start).count();
    return drafts;
  }

  StepPlan build_plan() {
    StepPlan plan;
    producers_.clear();
    int budget = o_.max_step_tokens;
    const std::vector<std::vector<int32_t>> drafts = draft_blocks(static_cast<size_t>(budget));
    for (size_t i = 0; i < active_.size(); ++i) {
      ActiveSequence* seq = active_[i].get();
      if (budget <= 0) break;
      SequenceChunk chunk;
      chunk.slot = seq->slot;
      if (seq->in_prefill()) {
        const int n = std::min(seq->prompt_len() - seq->prompt_done, budget);
        chunk.start = seq->prompt_done;
        chunk.count = n;
        const bool last = seq->prompt_done + n == seq->prompt_len();
        chunk.logits_from = last ? n - 1 : n;
        plan.batch.tokens.insert(plan.batch.tokens.end(), seq->request.prompt_ids.begin() + seq->prompt_done,
                                 seq->request.prompt_ids.begin() + seq->prompt_done + n);
        if (last) plan.rows.push_back({seq->request.sampling, 0});
      } else {
        // [last token, drafts...]; row i chooses the request's output token number size() + i.
        chunk.start = seq->next_position();
        chunk.count = 1 + static_cast<int>(drafts[i].size());
        if (chunk.count > budget) break;
        chunk.logits_from = 0;
        plan.batch.tokens.push_back(seq->output.back());
        plan.batch.tokens.insert(plan.batch.tokens.end(), drafts[i].begin(), drafts[i].end());
        for (int r = 0; r < chunk.count; ++r) plan.rows.push_back({seq->request.sampling, seq->output.size() + r});
      }
      budget -= chunk.count;
      plan.batch.seqs.push_back(chunk);
      producers_.push_back(seq);
    }
    return plan;
  }

  void apply(const StepPlan& plan, const std::vector<int32_t>& chosen, const StepOutput& out) {
    size_t row = 0;  // logits row
    size_t token_row = 0;  // the chunk's first token row in the step (for the taps)
    const auto now = Clock::now();
    std::vector<DraftContext> context;
    const size_t tap_row = drafter_ ? static_cast<size_t>(drafter_->tap_layers().size()) * c_.hidden_size : 0;
    for (size_t s = 0; s < plan.batch.seqs.size(); ++s) {
      ActiveSequence& seq = *producers_[s];
      const SequenceChunk& chunk = plan.batch.seqs[s];
      const float* taps = drafter_ ? out.taps.data() + token_row * tap_row : nullptr;
      token_row += chunk.count;
      if (seq.in_prefill()) {
        seq.prompt_done += chunk.count;
        if (drafter_) context.push_back({seq.slot, chunk.start, chunk.count, taps});  // the prompt's features
        if (chunk.logits_from == chunk.count) continue;  // a prefill chunk that is not the last
        const int32_t token = chosen[row++];
        seq.first_token = now;
        seq.output.push_back(token);
        ++seq.target_passes;
        finish_if_done(seq, token);
        continue;
      }
      // Decode or verify: keep the target's choices while the drafts agree with them, plus one more.
      const int32_t* c = &chosen[row];
      row += chunk.count;
      int accepted = 0;
      while (accepted + 1 < chunk.count && plan.batch.tokens[token_row - chunk.count + accepted + 1] == c[accepted]) ++accepted;
      summary_.accepted += accepted;
      ++seq.target_passes;
      for (int i = 0; i <= accepted && seq.finish_reason.empty(); ++i) {
        seq.output.push_back(c[i]);
        finish_if_done(seq, c[i]);
      }
      // The anchor and the accepted drafts are now committed positions with target features.
      if (drafter_ && seq.finish_reason.empty()) context.push_back({seq.slot, chunk.start, accepted + 1, taps});
    }
    if (drafter_ && !context.empty()) {
      const auto start = Clock::now();
      drafter_->add_context(context);
      summary_.draft_seconds += std::chrono::duration<double>(Clock::now() - start).count();
    }
    // Retire finished sequences: their slots are free for the next admit().
    for (auto it = active_.begin(); it != active_.end();) {
      if ((*it)->finish_reason.empty()) { ++it; continue; }
      ActiveSequence& seq = **it;
      seq.finished = now;
      summary_.completion_tokens += seq.output.size();
      summary_.target_passes += seq.target_passes;
      writer_.submit(seq.request.index, result_json(seq, tokenizer_ != nullptr));
      slots_[seq.slot] = nullptr;
      it = active_.erase(it);
    }
  }

  void finish_if_done(ActiveSequence& seq, int32_t token) {
    const Request& r = seq.request;
    if (seq.detokenizer && append_text(seq, seq.detokenizer->push(token))) return;  // a stop string
    const bool eos = !r.ignore_eos && std::find(c_.eos_token_ids.begin(), c_.eos_token_ids.end(), token) != c_.eos_token_ids.end();
    const bool stop_id = std::find(r.stop_token_ids.begin(), r.stop_token_ids.end(), token) != r.stop_token_ids.end();
    if (eos || stop_id) {
      seq.finish_reason = "stop";
      if (stop_id) seq.stop_reason = token;
    } else if (static_cast<int>(seq.output.size()) >= r.max_tokens) {
      seq.finish_reason = "length";
    }
    if (!seq.finish_reason.empty() && seq.detokenizer) append_text(seq, seq.detokenizer->finish());
  }

  // Adds newly decoded text; when a stop string appears, cuts the text before it and finishes the
  // sequence (the stop string itself is not part of the output text). Returns whether it stopped.
  bool append_text(ActiveSequence& seq, const std::string& piece) {
    if (piece.empty()) return false;
    const size_t before = seq.text.size();
    seq.text += piece;
    size_t best = std::string::npos;
    const std::string* which = nullptr;
    for (const std::string& stop : seq.request.stop) {
      // Only a match that ends in the new text can be new.
      const size_t from = before >= stop.size() ? before - stop.size() + 1 : 0;
      const size_t at = seq.text.find(stop, from);
      if (at != std::string::npos && at < best) { best = at; which = &stop; }
    }
    if (!which) return false;
    seq.text.resize(best);
    seq.finish_reason = "stop";
    seq.stop_reason = *which;
    return true;
  }

  const GenerateOptions& o_;
  const ModelConfig& c_;
  TargetStep& step_;
  comm::Collectives& comm_;
  StepWatchdog& watchdog_;
  const Tokenizer* tokenizer_;
  Drafter* drafter_;
  DistributedSampler sampler_;
  PromptReader reader_;
  ResultWriter writer_;
  std::vector<ActiveSequence*> slots_;
  std::deque<std::unique_ptr<ActiveSequence>> active_;
  std::vector<ActiveSequence*> producers_;  // the sequence of each chunk of the current plan
  bool input_done_ = false;
  GenerationSummary summary_;
  Clock::time_point run_start_ = Clock::now();
};

// Ranks other than 0: run whatever rank 0 plans, until it says stop.
GenerationSummary serve(TargetStep& step, comm::Collectives& comm, StepWatchdog& watchdog) {
  DistributedSampler sampler(comm, step.plan().vocab);
  GenerationSummary summary;
  for (;;) {
    StepPlan plan;
    broadcast_plan(comm, plan);
    if (plan.stop) break;
    StepOutput out;
    out.want_host_logits = DistributedSampler::any_sampled(plan.rows);
    watchdog.begin(fmt::format("step {} ({} tokens)", summary.steps, plan.batch.tokens.size()));
    inject_fault_if_requested(comm.rank(), summary.steps);
    step.run(plan.batch, out);
    sampler.choose(out, plan.rows);
    watchdog.end();
    ++summary.steps;
  }
  return summary;
}

}  // namespace

GenerationSummary run_generation(const GenerateOptions& options, const ModelConfig& config, TargetStep& step,
                                 comm::Collectives& comm, StepWatchdog& watchdog, const Tokenizer* tokenizer,
                                 Drafter* drafter) {
  if (comm.rank() != 0) return serve(step, comm, watchdog);
  Driver driver(options, config, step, comm, watchdog, tokenizer, drafter);
  return driver.run();
}

}  // namespace tachyon

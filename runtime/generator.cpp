#include "runtime/generator.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "model/error.h"
#include "runtime/drafter.h"
#include "runtime/fault_injection.h"
#include "runtime/metrics_export.h"
#include "runtime/openai_batch.h"
#include "runtime/resume.h"
#include "runtime/result_writer.h"
#include "runtime/sampler.h"
#include "runtime/sequence.h"
#include "runtime/step_plan.h"

namespace tachyon {

namespace {

// One input file as the driver goes through it: its reader, its output, and how far both are.
struct FileState {
  InputFile spec;
  std::unique_ptr<LineReader> reader;
  std::unique_ptr<ResultWriter> writer;
  std::unique_ptr<ResumeCursor> resume;
  size_t read = 0;          // requests read (the next one's index)
  size_t resume_lines = 0;  // requests already answered in the output
  bool input_done = false;
};

class Driver {
 public:
  Driver(const GenerateOptions& o, const ModelConfig& c, TargetStep& step, comm::Collectives& comm,
         StepWatchdog& watchdog, const Tokenizer* tokenizer, Drafter* drafter)
      : o_(o), c_(c), step_(step), comm_(comm), watchdog_(watchdog), tokenizer_(tokenizer), drafter_(drafter),
        sampler_(comm, step.plan().vocab), slots_(step.num_slots(), nullptr), chat_(chat_format_for(c.model_type)),
        metrics_(MetricsOptions{o.metrics_json, o.prometheus_file, o.prometheus_interval_s}),
        progress_(o.progress, o.log_interval_s) {
    TACHYON_REQUIRE(o.max_model_len <= step.capacity(), "--max-model-len {} exceeds the KV capacity {}",
                    o.max_model_len, step.capacity());
    TACHYON_CHECK(!drafter_ || o.block_size >= 2, "speculative block size {}", o.block_size);
    std::vector<InputFile> inputs = o.inputs;
    if (inputs.empty()) inputs = resolve_inputs({o.prompts_path}, o.output_path, InputOptions{o.format});
    for (auto& f : inputs) {
      TACHYON_REQUIRE(!o.resume || f.output_path != "-", "--resume needs an output file, not stdout");
      if (f.requests) total_ = total_.value_or(0) + *f.requests;
      else known_total_ = false;
      files_.emplace_back();
      files_.back().spec = std::move(f);
    }
    if (!known_total_) total_.reset();
    created_ = static_cast<int64_t>(std::time(nullptr));
  }

  GenerationSummary run() {
    const auto start = Clock::now();
    run_start_ = start;
    for (;;) {
      admit();
      tick();
      if (active_.empty()) break;
      StepPlan plan = build_plan();
      broadcast_plan(comm_, plan);
      StepOutput out;
      out.want_host_logits = DistributedSampler::any_sampled(plan.rows);
      out.want_host_taps = drafter_ && !drafter_->reads_device_taps();
      watchdog_.begin(fmt::format("step {} ({} tokens, {} sequences)", summary_.steps, plan.batch.tokens.size(),
                                  plan.batch.seqs.size()));
      const auto verify_start = Clock::now();
      inject_fault_if_requested(comm_.rank(), summary_.steps);
      step_.run(plan.batch, out);
      const std::vector<int32_t> chosen = sampler_.choose(out, plan.rows);
      const double step_s = std::chrono::duration<double>(Clock::now() - verify_start).count();
      summary_.verify_seconds += step_s;
      watchdog_.end();
      // The first step pays for lazy set-up (first launches, first touches of the weights).
      if (summary_.steps == 0) spdlog::info("warm-up: first step ({} tokens) took {:.3f} s", plan.batch.tokens.size(), step_s);
      ++summary_.steps;
      ++metrics_.counters.steps;
      apply(plan, chosen, out);
    }
    StepPlan stop;
    stop.stop = true;
    broadcast_plan(comm_, stop);
    for (auto& f : files_) {
      // The loop ends only when every input is read and every result written.
      TACHYON_CHECK(f.input_done && f.writer && f.writer->pending() == 0, "'{}' left unfinished", f.spec.path);
      close_if_done(f);
    }
    summary_.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    progress_.finish(snapshot());
    const RunCounters& c = metrics_.counters;
    summary_.requests = c.requests;
    summary_.errors = c.errors;
    summary_.resumed = c.resumed;
    summary_.files = files_.size();
    summary_.prompt_tokens = c.prompt_tokens;
    summary_.completion_tokens = c.completion_tokens;
    summary_.target_passes = c.target_passes;
    summary_.drafted = c.draft_tokens;
    summary_.accepted = c.accepted_tokens;
    summary_.ttft_ms_p50 = metrics_.ttft_ms().quantile(0.5);
    summary_.ttft_ms_p99 = metrics_.ttft_ms().quantile(0.99);
    summary_.tpot_ms_p50 = metrics_.tpot_ms().quantile(0.5);
    summary_.tpot_ms_p99 = metrics_.tpot_ms().quantile(0.99);
    summary_.peak_rss_mib = peak_rss_mib();
    metrics_.finish(summary_.seconds, {{"ranks", comm_.size()}, {"max_batch", o_.max_batch},
                                       {"draft_s", summary_.draft_seconds}, {"verify_s", summary_.verify_seconds},
                                       {"files", files_.size()}});
    return summary_;
  }

 private:
  // Fills free slots: first with the remaining samples of the request being admitted, then with new
  // requests. Bad lines are answered with an error line at once. Pauses reading while too many
  // finished results wait for an earlier one (memory stays bounded).
  void admit() {
    while (free_slot() >= 0) {
      if (filling_ && !filling_->all_admitted()) {
        admit_sample(*filling_);
        continue;
      }
      filling_ = nullptr;
      if (pending_results() >= o_.max_pending) break;
      if (!read_next_request()) break;
    }
  }

  // Reads lines until one becomes a runnable request (true), or the inputs end or too many results wait
  // (false). The second check is inside the loop because a run of bad lines makes error lines without
  // admitting anything, and they too wait behind a slow earlier request.
  bool read_next_request() {
    while (current_ < files_.size() && pending_results() < o_.max_pending) {
      FileState& f = files_[current_];
      if (!f.reader) open_file(f);
      std::string line, origin;
      if (!f.reader->next(line, origin)) {
        TACHYON_REQUIRE(f.read >= f.resume_lines, "--resume: '{}' holds {} results but '{}' has only {} requests: it is "
                        "not this input's output", f.spec.output_path, f.resume_lines, f.spec.path, f.read);
        f.input_done = true;
        close_if_done(f);
        ++current_;
        continue;
      }
      const size_t index = f.read++;
      ++metrics_.counters.requests;
      auto parsed = parse_input_line(f.spec.format, line, index, origin, o_.defaults, chat_);
      if (index < f.resume_lines) {
        check_resumed(f, index, origin, parsed);
        continue;
      }
      if (auto* err = std::get_if<RequestError>(&parsed)) {
        fail(f, index, err->id, err->message);
        continue;
      }
      Request req = std::move(std::get<Request>(parsed));
      if (std::string problem = prepare(req, origin); !problem.empty()) {
        fail(f, index, req.id, problem);
        continue;
      }
      for (const std::string& w : req.warnings) warn_once(origin, w);
      auto group = std::make_unique<RequestGroup>();
      group->file = current_;
      group->queued = Clock::now();
      group->samples.resize(static_cast<size_t>(req.n));
      group->request = std::move(req);
      filling_ = group.get();
      groups_.emplace(filling_, std::move(group));
      return true;
    }
    return false;
  }

  void admit_sample(RequestGroup& g) {
    auto seq = std::make_unique<ActiveSequence>();
    seq->group = &g;
    seq->sample = g.admitted++;
    seq->request = g.request;
    seq->request.sampling.seed = sample_seed(g.request.sampling.seed, seq->sample);
    seq->admitted = Clock::now();
    seq->slot = free_slot();
    if (drafter_) drafter_->rollback(seq->slot, 0);  // the slot's previous sequence's context
    if (tokenizer_) seq->detokenizer = std::make_unique<IncrementalDecoder>(*tokenizer_, /*skip_special_tokens=*/true);
    slots_[seq->slot] = seq.get();
    active_.push_back(std::move(seq));
  }

  // Opens a file's reader and output; with --resume, repairs the output and positions after its lines.
  void open_file(FileState& f) {
    f.reader = std::make_unique<LineReader>(f.spec.path);
    if (o_.resume) {
      const ResumePoint p = repair_for_resume(f.spec.output_path);
      f.resume_lines = p.complete_lines;
      if (p.dropped_bytes)
        spdlog::warn("--resume: cut a torn last line ({} bytes) off '{}'", p.dropped_bytes, f.spec.output_path);
      spdlog::info("--resume: '{}' holds {} results; carrying on from request {} of '{}'", f.spec.output_path,
                   p.complete_lines, p.complete_lines + 1, f.spec.path);
      f.resume = std::make_unique<ResumeCursor>(f.spec.output_path, p.complete_lines);
      f.writer = std::make_unique<ResultWriter>(f.spec.output_path, /*append=*/true, o_.sync_interval_s, p.complete_lines);
    } else {
      f.writer = std::make_unique<ResultWriter>(f.spec.output_path, /*append=*/false, o_.sync_interval_s);
    }
    spdlog::info("reading '{}' ({} format{}) -> '{}'", f.spec.path, input_format_name(f.spec.format),
                 f.spec.requests ? fmt::format(", {} requests", *f.spec.requests) : std::string(), f.spec.output_path);
  }

  // A request already answered in the output: its line must be for the same request.
  void check_resumed(FileState& f, size_t index, const std::string& origin, const std::variant<Request, RequestError>& parsed) {
    const nlohmann::json id = std::visit([](const auto& r) { return r.id; }, parsed);
    const nlohmann::json had = f.resume->id_of(index);
    TACHYON_REQUIRE(had == id, "--resume: {} has id {} but line {} of '{}' answers id {}: the output is not this "
                    "input's (or the input changed); use another --out or remove it", origin, id.dump(), index + 1,
                    f.spec.output_path, had.dump());
    ++metrics_.counters.resumed;
  }

  // Closes a file's output once its input is read and every result is written.
  void close_if_done(FileState& f) {
    if (!f.writer || !f.input_done || f.writer->next_index() != f.read || !f.writer->is_open()) return;
    f.writer->close();
    spdlog::info("finished '{}': {} results in '{}'", f.spec.path, f.read, f.spec.output_path);
  }

  size_t pending_results() const {
    size_t n = 0;
    for (size_t i = 0; i <= current_ && i < files_.size(); ++i)
      if (files_[i].writer) n += files_[i].writer->pending();
    return n;
  }

  // Tokenizes and validates a request against the model; returns a message when it cannot run.
  std::string prepare(Request& r, const std::string& origin) {
    if (r.endpoint == Endpoint::ChatCompletions && !tokenizer_)
      return fmt::format("{}: chat requests need the checkpoint's tokenizer, which it lacks", origin);
    if (r.prompt_text) {
      if (!tokenizer_)
        return fmt::format("{}: field 'prompt': this checkpoint has no tokenizer; give the prompt as {}", origin,
                           r.endpoint == Endpoint::Tachyon ? "'input_ids'" : "a list of token ids");
      try {
        r.prompt_ids = tokenizer_->encode(*r.prompt_text, r.add_special_tokens);
      } catch (const Error& e) {
        return fmt::format("{}: field 'prompt': {}", origin, e.what());
      }
      r.prompt_text.reset();  // the ids are what runs; the text would only take memory
      if (r.prompt_ids.empty()) return fmt::format("{}: field 'prompt': encodes to no tokens", origin);
    }
    if (!r.stop.empty() && !tokenizer_)
      return fmt::format("{}: field 'stop': stop strings need a tokenizer, which this checkpoint lacks; use "
                         "'stop_token_ids'", origin);
    if (tokenizer_)
      for (const std::string& t : r.stop_special_tokens)
        if (auto id = tokenizer_->token_to_id(t)) r.stop_token_ids.push_back(*id);
    for (size_t i = 0; i < r.prompt_ids.size(); ++i)
      if (r.prompt_ids[i] >= c_.vocab_size)
        return fmt::format("{}: field '{}': token id {} at position {} is outside the vocabulary of {}", origin,
                           r.endpoint == Endpoint::Tachyon ? "input_ids" : "prompt", r.prompt_ids[i], i, c_.vocab_size);
    for (int32_t id : r.stop_token_ids)
      if (id >= c_.vocab_size)
        return fmt::format("{}: field 'stop_token_ids': {} is outside the vocabulary of {}", origin, id, c_.vocab_size);
    const int64_t prompt = static_cast<int64_t>(r.prompt_ids.size());
    if (prompt >= o_.max_model_len)
      return fmt::format("{}: the prompt has {} tokens: it does not fit the context of {} (--max-model-len) with room "
                         "for one generated token", origin, prompt, o_.max_model_len);
    const int64_t need = prompt + r.max_tokens;
    if (need > o_.max_model_len)
      return fmt::format("{}: the prompt has {} tokens and max_tokens is {}: {} positions exceed the context of {} "
                         "(--max-model-len); max_tokens can be at most {}", origin, prompt, r.max_tokens, need,
                         o_.max_model_len, o_.max_model_len - prompt);
    return {};
  }

  void fail(FileState& f, size_t index, const nlohmann::json& id, const std::string& message) {
    ++metrics_.counters.errors;
    // Every error is in the output; the log shows the first ones (a bad file should not flood it).
    if (metrics_.counters.errors <= kLoggedErrors) spdlog::warn("request {}: {}", id.dump(), message);
    if (metrics_.counters.errors == kLoggedErrors)
      spdlog::warn("further request errors are reported in the output files only");
    f.writer->submit(index, f.spec.format == InputFormat::OpenAi ? openai_error_line(id, index, message)
                                                                 : error_json(id, message));
    close_if_done(f);
  }

  void warn_once(const std::string& origin, const std::string& warning) {
    if (warned_.size() >= 64 || !warned_.insert(warning).second) return;
    spdlog::warn("{}: {} (reported once)", origin, warning);
  }

  // A request whose samples have all finished: its line goes out.
  void complete(RequestGroup& g) {
    FileState& f = files_[g.file];
    std::string line;
    if (f.spec.format == InputFormat::OpenAi)
      line = openai_result_line(g, OpenAiLineOptions{o_.reproducible ? f.spec.mtime : created_, o_.model_name,
                                                     tokenizer_ != nullptr, chat_, tokenizer_});
    else
      line = result_json(g, tokenizer_ != nullptr, !o_.reproducible);
    RunCounters& c = metrics_.counters;
    ++c.finished;
    c.prompt_tokens += g.prompt_len();
    c.completion_tokens += g.completion_tokens();
    c.target_passes += g.target_passes();
    ++(g.samples.front().finish_reason == "stop" ? c.finished_stop : c.finished_length);
    metrics_.request_finished(g, f.spec.path);
    f.writer->submit(g.request.index, std::move(line));
    if (filling_ == &g) filling_ = nullptr;
    groups_.erase(&g);
    close_if_done(f);
  }

  ProgressSnapshot snapshot() const {
    const RunCounters& c = metrics_.counters;
    ProgressSnapshot s;
    s.done = c.finished + c.errors + c.resumed;
    s.done_this_run = c.finished + c.errors;
    s.errors = c.errors;
    s.total = total_;
    s.prompt_tokens = c.prompt_tokens;
    s.completion_tokens = c.completion_tokens;
    s.running = active_.size();
    s.acceptance_length = c.acceptance_length();
    s.elapsed_s = std::chrono::duration<double>(Clock::now() - run_start_).count();
    s.speculative = drafter_ != nullptr;
    return s;
  }

  // Once per step: fsync outputs when due, gauges, Prometheus file, progress.
  void tick() {
    for (size_t i = 0; i <= current_ && i < files_.size(); ++i)
      if (files_[i].writer) files_[i].writer->poll();
    RunCounters& c = metrics_.counters;
    c.running = active_.size();
    uint64_t used = 0;
    for (const auto& seq : active_) used += static_cast<uint64_t>(seq->prompt_done + static_cast<int>(seq->output.size()));
    c.kv_usage = static_cast<double>(used) / (static_cast<double>(o_.max_batch) * o_.max_model_len);
    metrics_.poll();
    progress_.update(snapshot());
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

  // Drafts, in one batch, the block of every decode chunk of the plan that verifies more than one token
  // (its count - 1 tokens); other chunks get none.
  std::vector<std::vector<int32_t>> draft_blocks(const StepPlan& plan) {
    std::vector<std::vector<int32_t>> drafts(plan.batch.seqs.size());
    if (!drafter_) return drafts;
    const auto start = Clock::now();
    std::vector<DraftRequest> requests;
    std::vector<size_t> owner;
    for (size_t s = 0; s < plan.batch.seqs.size(); ++s) {
      const ActiveSequence& seq = *producers_[s];
      const SequenceChunk& chunk = plan.batch.seqs[s];
      if (seq.in_prefill() || chunk.count < 2) continue;
      requests.push_back({seq.slot, seq.output.back(), chunk.start, chunk.count, seq.request.prompt_ids, seq.output});
      owner.push_back(s);
    }
    if (requests.empty()) return drafts;
    std::vector<Draft> made = drafter_->draft(requests);
    for (size_t j = 0; j < made.size(); ++j) {
      TACHYON_CHECK(static_cast<int>(made[j].tokens.size()) == requests[j].block_size - 1, "a block of {} got {} drafts",
                    requests[j].block_size, made[j].tokens.size());
      drafts[owner[j]] = std::move(made[j].tokens);
      metrics_.counters.draft_tokens += drafts[owner[j]].size();
      ++metrics_.counters.drafts;
    }
    summary_.draft_seconds += std::chrono::duration<double>(Clock::now() - start).count();
    return drafts;
  }

  StepPlan build_plan() {
    StepPlan plan;
    producers_.clear();
    // Which sequences step, and with how many tokens: prefill chunks and decode blocks within the budget.
    int budget = o_.max_step_tokens;
    for (auto& owned : active_) {
      ActiveSequence* seq = owned.get();
      if (budget <= 0) break;
      SequenceChunk chunk;
      chunk.slot = seq->slot;
      if (seq->in_prefill()) {
        chunk.start = seq->prompt_done;
        chunk.count = std::min(seq->prompt_len() - seq->prompt_done, budget);
        const bool last = seq->prompt_done + chunk.count == seq->prompt_len();
        chunk.logits_from = last ? chunk.count - 1 : chunk.count;
      } else {
        chunk.start = seq->next_position();
        chunk.count = block_for(*seq);
        if (chunk.count > budget) break;
        chunk.logits_from = 0;
      }
      budget -= chunk.count;
      plan.batch.seqs.push_back(chunk);
      producers_.push_back(seq);
    }
    // Their tokens and sampling rows: the prompt chunk, or [last token, drafts...] where row i chooses
    // the request's output token number size() + i.
    const std::vector<std::vector<int32_t>> drafts = draft_blocks(plan);
    for (size_t s = 0; s < plan.batch.seqs.size(); ++s) {
      const ActiveSequence& seq = *producers_[s];
      const SequenceChunk& chunk = plan.batch.seqs[s];
      if (seq.in_prefill()) {
        const auto first = seq.request.prompt_ids.begin() + chunk.start;
        plan.batch.tokens.insert(plan.batch.tokens.end(), first, first + chunk.count);
        if (chunk.logits_from < chunk.count) plan.rows.push_back({seq.request.sampling, 0});
      } else {
        plan.batch.tokens.push_back(seq.output.back());
        plan.batch.tokens.insert(plan.batch.tokens.end(), drafts[s].begin(), drafts[s].end());
        for (int r = 0; r < chunk.count; ++r) plan.rows.push_back({seq.request.sampling, seq.output.size() + r});
      }
    }
    return plan;
  }

  void apply(const StepPlan& plan, const std::vector<int32_t>& chosen, const StepOutput& out) {
    size_t row = 0;  // logits row
    size_t token_row = 0;  // the chunk's first token row in the step (for the taps)
    const auto now = Clock::now();
    std::vector<DraftContext> context;
    const size_t tap_row = drafter_ ? static_cast<size_t>(drafter_->tap_layers().size()) * c_.hidden_size : 0;
    const float* step_taps = nullptr;  // the step's [tokens, tap layers, hidden], where the drafter reads them
    if (drafter_) {
      step_taps = drafter_->reads_device_taps() ? out.device_taps : out.taps.data();
      // A drafter that taps no layer (one drafting from the text) gets none, and reads none.
      TACHYON_CHECK(step_taps || tap_row == 0, "the target step gave the drafter no taps");
    }
    for (size_t s = 0; s < plan.batch.seqs.size(); ++s) {
      ActiveSequence& seq = *producers_[s];
      const SequenceChunk& chunk = plan.batch.seqs[s];
      const float* taps = drafter_ ? step_taps + token_row * tap_row : nullptr;
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
      metrics_.counters.accepted_tokens += accepted;
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
      seq.retire_into_group();
      slots_[seq.slot] = nullptr;
      RequestGroup& g = *seq.group;
      it = active_.erase(it);
      if (g.done()) complete(g);
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
  std::vector<ActiveSequence*> slots_;
  std::deque<std::unique_ptr<ActiveSequence>> active_;
  std::vector<ActiveSequence*> producers_;  // the sequence of each chunk of the current plan
  ChatFormat chat_;
  std::vector<FileState> files_;
  size_t current_ = 0;                      // the file being read
  std::optional<uint64_t> total_;           // requests in all inputs, when counted
  bool known_total_ = true;
  std::map<RequestGroup*, std::unique_ptr<RequestGroup>> groups_;  // read and not yet written
  RequestGroup* filling_ = nullptr;         // the request whose samples are being admitted
  std::set<std::string> warned_;
  static constexpr uint64_t kLoggedErrors = 20;
  int64_t created_ = 0;
  RunMetrics metrics_;
  ProgressReporter progress_;
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
    out.want_host_taps = false;  // rank 0's drafter reads its own rank's
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

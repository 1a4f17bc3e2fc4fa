// Rung 4 of the correctness ladder on the GPU (DESIGN.md section 5): with a DFlash drafter, `tachyon
// generate --device cuda` gives greedy output identical token for token to plain `--device cuda`.
//
// What it covers. Every parity fixture's target (qwen3_moe; the same weights as FP8 dense + MXFP4
// experts; qwen3_moe_tied_sharded: F32, sliding windows everywhere, tied embeddings; gpt_oss: sinks,
// biases, YaRN, alternating windows), each with one of the random drafters of tests/fixtures/dflash
// (base, swa, mimo), its config fitted to the target (vocabulary, layer count, mask id: a DFlash
// drafter borrows the target's embedding and LM head, so nothing else depends on the target). One
// prompts file per target holds 6 requests of mixed prompt lengths (3 to 20 tokens) and max_tokens (20
// to 32; 8 to 12 for gpt_oss), run with --max-batch 4: decode or verify blocks of several sequences
// share steps with each other and with prefills, and sequences finish and slots are refilled mid-run.
// Configurations: 1 rank with every block size 2..16 (block 1, the anchor alone, is plain decoding
// itself, the reference; --block-size takes 2..16), and 2 and 4 ranks (`mpirun --bind-to none`; rank
// counts above the visible GPUs are skipped) under both MoE plans with blocks 3, 8 and 16. Each
// configuration has its own plain run, and each speculative run is compared with the plain run of the
// same ranks and plan. In every speculative run the drafter must run on the GPU and draft, and the
// accepted drafts must account exactly for the tokens gained over one per target pass. Random drafts
// are accepted only by coincidence (on 4 x H200: twice in the tied runs with blocks 4 to 10 and 8, once
// in every gpt_oss run, never for the qwen3_moe weights), so only the total over all runs must be positive: some verify passes do keep drafts, where a wrong acceptance would show.
//
// Why the prompts are guarded, and why the guard is sound. The GPU rounds differently from one step
// shape to another: a step of 1-2 rows takes FP32 FMA paths in the dense layers, one of 3 or more rows
// (a verify pass, or plain decoding of 3+ sequences) BF16 tensor cores, and which one a position gets
// depends on the block size, the batch and how many drafts were accepted. So at a near-tie (top-1 vs
// top-2 logit, or an expert choice at the router) speculative and plain output may legitimately differ;
// the test must not accept that, so it only uses prompts where nothing is near a tie. The rows that
// matter in a verify pass are exactly the positions of the plain greedy trajectory: the anchor and the
// accepted drafts equal the plain tokens, the bonus token is chosen from them, and rows after the first
// rejected draft are causal and influence no earlier row (their K/V is overwritten before any later row
// reads it). So if, on the CPU reference (FP32 throughout), along the plain greedy trajectory of each
// request for its max_tokens tokens, (a) every token's expert choices keep a route margin of at least
// the target's route margin (every prompt token and every token fed back) and (b) every chosen token leads the
// runner-up by at least kLogitMargin, and (c) no GPU logit is off from the CPU's by half of kLogitMargin,
// then every GPU run, whatever the drafter, block size, batch, rank count and plan, chooses the CPU's
// tokens, hence speculative == plain. (a) and (b) are made true by a seeded search on the CPU reference
// (hill climbing over prompts); (c) is measured on this GPU along the found trajectories, in a decode
// shape and a verify shape (test_cuda_step.cpp measured 0.045 at most on the fixtures). Every plain GPU
// run is also compared with the CPU's trajectory: a failure there or in (c) means the guard did not
// hold here, not that speculative decoding is wrong.
#include <doctest/doctest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <cuda_runtime.h>

#include "comm/collectives.h"
#include "comm/cuda/nccl_collectives.h"
#include "kernels/cpu/argmax.h"
#include "model/checkpoint.h"
#include "runtime/cpu_target_step.h"
#include "runtime/cuda/cuda_target_step.h"
#include "../unit/test_util.h"

using namespace tachyon;
using nlohmann::json;

namespace {

// (a) The route margin (cpu::route_margin, logit units) of tests/gpu/test_cuda_step.cpp: a 5.3e-3
// margin flipped on an H200 (the GPU router keeps FP32 activations), and with 1e-2 every row of the
// CUDA step matched the CPU there. The router's error is the relative error of h times the router
// logits' scale, so a model whose router logits are larger needs a wider margin: gpt_oss (router bias,
// top-4 of 8) had a margin of 0.0101 flip on 4 x H200 (a 20-token verify shape: the residual stream
// within 0.75% of the CPU's after layers 0-2, then 14% off at one token after the last layer, the
// signature of an expert choice), so it takes kWideRouteMargin.
constexpr float kRouteMargin = 1e-2f, kWideRouteMargin = 3e-2f;
// (b) The top-1 minus top-2 logit gap. The CUDA step's logits differ from the CPU's by at most 0.045 on
// qwen3_moe and 0.022 on the FP8/MXFP4 fixture (an H200, test_cuda_step.cpp, prompts with clear routes):
// a gap can then move by at most twice that, 0.09, between the CPU and a GPU run. 0.15 is 1.7 times
// that, so the guard holds for GPU errors up to 0.075 (checked here, (c) above). A wider gap would make
// the search much slower (from 0.10 to 0.15 it already takes about 5 times the trajectories).
constexpr float kLogitMargin = 0.15f;

// The requests of a prompts file: mixed prompt lengths (a prompt longer than 16 tokens also reaches
// attention in pieces) and max_tokens, more requests than kMaxBatch.
struct RequestShape {
  int prompt_len, max_tokens;
};
using Requests = std::vector<RequestShape>;
const Requests kRequests = {{3, 32}, {17, 24}, {8, 28}, {20, 20}, {5, 26}, {12, 30}};
constexpr int kMaxBatch = 4;

struct Target {
  const char* name;
  const char* weights;  // tests/fixtures/parity/<weights>
  const char* convert_flags;
  const char* drafter;  // tests/fixtures/dflash/<drafter>/drafter
  const Requests* requests;
  float route_margin;
};
// gpt_oss (top-4 of 8 experts in every layer, and a wider route margin) keeps clear routes and gaps for
// fewer tokens: on 4 x H200 no 3-token prompt in 100000 stayed clear for more than 12.
const Requests kShorterRequests = {{3, 10}, {17, 10}, {8, 12}, {20, 8}, {5, 10}, {12, 10}};
const Target kTargets[] = {
    {"qwen3_moe", "qwen3_moe", "", "swa", &kRequests, kRouteMargin},
    {"qwen3_moe_fp8_mxfp4", "qwen3_moe", "--dense fp8 --experts mxfp4", "base", &kRequests, kRouteMargin},
    {"qwen3_moe_tied_sharded", "qwen3_moe_tied_sharded", "--dense f32 --experts f32", "mimo", &kRequests, kRouteMargin},
    {"gpt_oss", "gpt_oss", "", "base", &kShorterRequests, kWideRouteMargin}};

// TACHYON_TEST_TARGETS=a,b runs only the named targets (to look into one of them); unset, all of them.
bool target_selected(const std::string& name) {
  const char* env = std::getenv("TACHYON_TEST_TARGETS");
  if (!env || !*env) return true;
  std::stringstream in(env);
  for (std::string item; std::getline(in, item, ',');)
    if (item == name) return true;
  return false;
}

const int kAllBlocks[] = {2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};  // on 1 rank
const int kSomeBlocks[] = {3, 8, 16};                                            // on 2 and 4 ranks

// The prompt search's budget: trajectories on the CPU reference per request, and per climb without
// improvement.
constexpr int kMaxEvaluations = 100000, kStaleLimit = 2000;

// ---- The guard: the plain greedy trajectory on the CPU reference, as far as it stays clear ----------

// The plain greedy trajectory of a prompt on the CPU reference, as far as it stays clear.
struct Trajectory {
  std::vector<int32_t> tokens;  // the greedy tokens while every route and gap is clear
  // How far the trajectory gets: its clear tokens, plus how close the first unclear step came to
  // clearing (its route margin or gap as a fraction of the threshold). The search climbs this.
  float score = 0;
  float min_route = INFINITY, min_gap = INFINITY;  // over the clear part
  int weak_prompt_token = -1;  // when the prompt's own routes are unclear: the position of the least clear
};

class Guard {
 public:
  Guard(const std::string& model, int capacity, float route_margin)
      : route_margin_(route_margin), reader_(model), config_(parse_model_config(reader_.config_json(), model)),
        plan_(make_shard_plan(config_, 0, 1, MoeParallel::Tp)),
        cpu_(config_, plan_, load_target_weights(reader_, config_, plan_), self_, 1, capacity) {
    cpu_.trace_route_margins(&margins_);
  }
  const ModelConfig& config() const { return config_; }

  // Runs in slot 0 from position 0 every time (what an earlier prompt left past the new positions is
  // never read). The routes checked are those of the step's input tokens: the prompt, then each token
  // fed back; the gap is that of the row that chooses the next token.
  Trajectory trajectory(const std::vector<int32_t>& prompt, int max_tokens) {
    const size_t V = config_.vocab_size;
    const int len = static_cast<int>(prompt.size());
    Trajectory t;
    StepBatch batch;
    batch.seqs = {{0, 0, len, len - 1}};
    batch.tokens = prompt;
    for (int k = 0; k < max_tokens; ++k) {
      StepOutput out;
      cpu_.run(batch, out);
      const auto weakest = std::min_element(margins_.begin(), margins_.end());
      const float route = *weakest;
      if (route < route_margin_) {
        if (k == 0) t.weak_prompt_token = static_cast<int>(weakest - margins_.begin());
        t.score = static_cast<float>(k) + std::max(0.0f, route) / route_margin_;
        return t;
      }
      const float* row = out.logits.data();
      const int32_t best = cpu::argmax(row, V);
      float second = -INFINITY;
      for (size_t v = 0; v < V; ++v)
        if (static_cast<int32_t>(v) != best) second = std::max(second, row[v]);
      const float gap = row[best] - second;
      if (gap < kLogitMargin) {
        t.score = static_cast<float>(k) + gap / kLogitMargin;
        return t;
      }
      t.min_route = std::min(t.min_route, route);
      t.min_gap = std::min(t.min_gap, gap);
      t.tokens.push_back(best);
      batch.seqs = {{0, len + k, 1, 0}};
      batch.tokens = {best};
    }
    t.score = static_cast<float>(max_tokens);
    return t;
  }

 private:
  float route_margin_;
  CheckpointReader reader_;
  ModelConfig config_;
  ShardPlan plan_;
  comm::SingleProcess self_;
  CpuTargetStep cpu_;
  std::vector<float> margins_;
};

struct GuardedRequest {
  std::vector<int32_t> prompt;
  Trajectory trajectory;  // complete (max_tokens clear tokens: the CPU's plain greedy output) when found
  int evaluations = 0;
  size_t best_cleared = 0;  // the most clear tokens any candidate reached
  bool found = false;
  double seconds = 0;
};

// A prompt of `len` tokens whose trajectory of `max_tokens` is clear: hill climbing from a seeded random
// prompt by one-token mutations (half of them, while the prompt's own routes are unclear, of its least
// clear token), each kept when the trajectory's score does not drop; a climb that has not improved in
// kStaleLimit mutations starts again from a new random prompt.
GuardedRequest find_guarded_prompt(Guard& guard, int len, int max_tokens, uint64_t seed) {
  const auto start = std::chrono::steady_clock::now();
  std::mt19937_64 rng(seed);
  const auto vocab = static_cast<uint64_t>(guard.config().vocab_size);
  GuardedRequest r;
  int stale = kStaleLimit;
  for (; r.evaluations < kMaxEvaluations && r.trajectory.score < max_tokens; ++r.evaluations) {
    std::vector<int32_t> candidate = r.prompt;
    if (stale >= kStaleLimit) {
      candidate.resize(len);
      for (auto& t : candidate) t = static_cast<int32_t>(rng() % vocab);
    } else {
      const int weak = r.trajectory.weak_prompt_token;
      const uint64_t at = weak >= 0 && rng() % 2 ? static_cast<uint64_t>(weak) : rng() % static_cast<uint64_t>(len);
      candidate[at] = static_cast<int32_t>(rng() % vocab);
    }
    Trajectory t = guard.trajectory(candidate, max_tokens);
    r.best_cleared = std::max(r.best_cleared, t.tokens.size());
    if (stale >= kStaleLimit || t.score >= r.trajectory.score) {
      stale = stale < kStaleLimit && t.score == r.trajectory.score ? stale + 1 : 0;
      r.prompt = std::move(candidate);
      r.trajectory = std::move(t);
    } else {
      ++stale;
    }
  }
  r.found = static_cast<int>(r.trajectory.tokens.size()) == max_tokens;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

// The guard's premise, measured on this GPU: the CUDA step's logits along the guarded trajectories differ
// from the CPU's by at most `worst` (every element of every row that chooses a token), in a decode shape
// (the prompt's prefill, then one token a step: the 1-row FP32 paths) and in a verify shape (the prompt
// and the whole trajectory in one pass: the BF16 tensor-core paths). `where` locates the worst step for a
// failure's message: the request, the shape, the CPU's smallest route margin in it and the residual
// stream's error after every layer (both steps tap every layer), relative to the CPU's largest element.
struct GpuError {
  double worst = 0;
  std::string where;
};

GpuError gpu_error_on_trajectories(const std::string& model, const std::vector<GuardedRequest>& requests, int capacity,
                                   comm::NcclComm& nccl) {
  CheckpointReader reader(model);
  const ModelConfig c = parse_model_config(reader.config_json(), model);
  const ShardPlan plan = make_shard_plan(c, 0, 1, MoeParallel::Tp);
  comm::SingleProcess self;
  std::vector<int> every_layer(c.num_layers);
  for (int l = 0; l < c.num_layers; ++l) every_layer[l] = l;
  CpuTargetStep cpu(c, plan, load_target_weights(reader, c, plan), self, 1, capacity, every_layer);
  CudaTargetStep gpu(c, plan, load_device_weights(reader, c, plan), nccl,
                     CudaStepLimits{1, capacity, capacity, capacity, true}, every_layer);
  std::vector<float> margins;
  cpu.trace_route_margins(&margins);
  GpuError e;
  auto compare = [&](const StepBatch& batch, const std::string& label) {
    StepOutput a, b;
    cpu.run(batch, a);
    gpu.run(batch, b);
    REQUIRE(a.logits.size() == b.logits.size());
    REQUIRE(a.taps.size() == b.taps.size());
    double worst = 0;
    for (size_t i = 0; i < a.logits.size(); ++i) worst = std::max(worst, std::fabs(double(a.logits[i]) - b.logits[i]));
    if (worst <= e.worst) return;
    e.worst = worst;
    std::ostringstream w;
    w << label << " (" << batch.tokens.size() << " tokens from position " << batch.seqs[0].start
      << "), smallest CPU route margin " << *std::min_element(margins.begin(), margins.end())
      << "; residual error after each layer:";
    const size_t H = c.hidden_size, L = every_layer.size(), T = batch.tokens.size();
    for (size_t l = 0; l < L; ++l) {
      double err = 0, scale = 0;
      size_t at = 0;
      for (size_t t = 0; t < T; ++t)
        for (size_t h = 0; h < H; ++h) {
          const size_t i = (t * L + l) * H + h;
          scale = std::max(scale, std::fabs(double(a.taps[i])));
          const double d = std::fabs(double(a.taps[i]) - b.taps[i]);
          if (d > err) err = d, at = t;
        }
      w << " " << l << ": " << err / scale << " (token " << at << ", its CPU route margin " << margins[at] << ")";
    }
    e.where = w.str();
  };
  for (size_t r = 0; r < requests.size(); ++r) {
    const std::vector<int32_t>& prompt = requests[r].prompt;
    const std::vector<int32_t>& out = requests[r].trajectory.tokens;
    const int len = static_cast<int>(prompt.size()), n = static_cast<int>(out.size());
    const std::string request = "request " + std::to_string(r);
    StepBatch batch;
    batch.seqs = {{0, 0, len, len - 1}};
    batch.tokens = prompt;
    compare(batch, request + ", prefill");
    for (int k = 0; k + 1 < n; ++k) {
      batch.seqs = {{0, len + k, 1, 0}};
      batch.tokens = {out[k]};
      compare(batch, request + ", decode step " + std::to_string(k + 1));
    }
    batch.seqs = {{0, 0, len + n - 1, len - 1}};
    batch.tokens = prompt;
    batch.tokens.insert(batch.tokens.end(), out.begin(), out.end() - 1);
    compare(batch, request + ", verify shape");
  }
  return e;
}

// ---- Running many generate jobs over the visible GPUs ------------------------------------------------

// The visible GPUs as CUDA_VISIBLE_DEVICES names them (indices, or the entries it already holds).
std::vector<std::string> visible_gpu_names() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) n = 0;
  std::vector<std::string> names;
  if (const char* env = std::getenv("CUDA_VISIBLE_DEVICES")) {
    std::stringstream in(env);
    for (std::string item; std::getline(in, item, ',') && static_cast<int>(names.size()) < n;) names.push_back(item);
  }
  for (int i = static_cast<int>(names.size()); i < n; ++i) names.push_back(std::to_string(i));
  return names;
}

struct Job {
  std::string target;
  int ranks = 1;
  std::string plan;
  int block = 0;  // 0: plain decoding
  std::string args;  // tachyon generate's arguments, output paths included
  std::string out, log, metrics;
  int rc = -1;
  double seconds = 0;
};

// Runs the jobs, at most kJobsPerGpu on each GPU at once, one rank per GPU. The models are tiny: a job
// keeps its GPUs mostly idle (launch- and latency-bound), so two share one.
constexpr int kJobsPerGpu = 2;
constexpr double kJobTimeoutS = 300;

void run_jobs(std::vector<Job>& jobs, const std::vector<std::string>& gpus) {
  std::stable_sort(jobs.begin(), jobs.end(), [](const Job& a, const Job& b) { return a.ranks > b.ranks; });
  using Clock = std::chrono::steady_clock;
  struct Running {
    size_t job;
    int pid;
    std::vector<size_t> gpus;
    Clock::time_point start;
  };
  std::vector<int> load(gpus.size(), 0);
  std::vector<Running> running;
  size_t next = 0;
  while (next < jobs.size() || !running.empty()) {
    while (next < jobs.size()) {
      Job& j = jobs[next];
      std::vector<size_t> order(gpus.size());
      for (size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return load[a] < load[b]; });
      if (static_cast<size_t>(j.ranks) > order.size() || load[order[j.ranks - 1]] >= kJobsPerGpu) break;
      std::vector<size_t> mine(order.begin(), order.begin() + j.ranks);
      std::sort(mine.begin(), mine.end());
      std::string devices;
      for (size_t g : mine) {
        devices += (devices.empty() ? "" : ",") + gpus[g];
        ++load[g];
      }
      const std::string command = "CUDA_VISIBLE_DEVICES=" + devices + " " + test::mpirun(j.ranks) + "--bind-to none " +
                                  TACHYON_EXE + " generate " + j.args + " > " + j.log + " 2>&1";
      running.push_back({next, test::spawn(command), mine, Clock::now()});
      ++next;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    for (auto it = running.begin(); it != running.end();) {
      int rc = test::wait_for(it->pid, 0);
      const double seconds = std::chrono::duration<double>(Clock::now() - it->start).count();
      if (rc == -1 && seconds > kJobTimeoutS) {  // mpirun passes SIGTERM on to its ranks
        ::kill(-it->pid, SIGTERM);
        if (test::wait_for(it->pid, 10) == -1) {
          ::kill(-it->pid, SIGKILL);
          test::wait_for(it->pid, 10);
        }
        rc = 124;
      }
      if (rc == -1) {
        ++it;
        continue;
      }
      jobs[it->job].rc = rc;
      jobs[it->job].seconds = seconds;
      for (size_t g : it->gpus) --load[g];
      it = running.erase(it);
    }
  }
}

std::string tail(const std::string& s, size_t n = 4000) { return s.size() > n ? "..." + s.substr(s.size() - n) : s; }

std::string config_name(const Job& j) {
  return j.target + ", " + std::to_string(j.ranks) + (j.ranks == 1 ? " rank" : " ranks") + ", plan " + j.plan +
         (j.block ? ", block " + std::to_string(j.block) : ", plain");
}

}  // namespace

TEST_CASE("generate --device cuda --drafter: greedy output equals plain, every parity target, blocks 2-16, 1/2/4/8 ranks, "
          "both MoE plans, mixed batches") {
  const auto test_start = std::chrono::steady_clock::now();
  const std::vector<std::string> gpus = visible_gpu_names();
  REQUIRE(!gpus.empty());
  test::TempDir tmp("cuda-speculative");

  // Every target and its drafter converted, and one CPU reference per request to search with.
  struct Prepared {
    const Target* target;
    std::string model, drafter, prompts;
    std::vector<std::unique_ptr<Guard>> guards;
    std::vector<GuardedRequest> requests;
  };
  int capacity = 0;  // positions of the CPU (and premise-check GPU) steps
  for (const Target& target : kTargets)
    for (const RequestShape& s : *target.requests) capacity = std::max(capacity, s.prompt_len + s.max_tokens);
  std::vector<Prepared> prepared;
  for (const Target& target : kTargets) {
    if (!target_selected(target.name)) continue;
    const std::string name = target.name;
    Prepared p{&target, tmp.file(name + ".h5"), "", tmp.file(name + ".jsonl"), {}, {}};
    std::string log;
    REQUIRE_MESSAGE(test::run_tachyon("convert --from " + test::fixture(std::string("parity/") + target.weights) +
                                      " --to " + p.model + " " + target.convert_flags, &log) == 0, log);
    for (size_t i = 0; i < target.requests->size(); ++i)
      p.guards.push_back(std::make_unique<Guard>(p.model, capacity, target.route_margin));
    const ModelConfig& tc = p.guards.front()->config();
    p.drafter = test::fitted_drafter(tmp, target.drafter, target.name, tc.vocab_size, tc.num_layers);
    prepared.push_back(std::move(p));
  }

  // The guarded prompts: every search at once, each on its own CPU reference and its own seed (so the
  // prompts do not depend on the schedule).
  const auto search_start = std::chrono::steady_clock::now();
  {
    std::vector<std::future<GuardedRequest>> searches;
    for (Prepared& p : prepared)
      for (size_t i = 0; i < p.guards.size(); ++i) {
        const RequestShape& s = (*p.target->requests)[i];
        searches.push_back(std::async(std::launch::async, find_guarded_prompt, std::ref(*p.guards[i]), s.prompt_len,
                                      s.max_tokens, 20260611 + i));
      }
    size_t k = 0;
    for (Prepared& p : prepared)
      for (size_t i = 0; i < p.guards.size(); ++i) p.requests.push_back(searches[k++].get());
  }
  const double search_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - search_start).count();
  std::vector<Job> jobs;
  auto nccl = std::make_unique<comm::NcclComm>(0);  // for the premise check, on the first visible GPU
  for (Prepared& p : prepared) {
    const Target& target = *p.target;
    const std::string name = target.name;
    p.guards.clear();
    int evaluations = 0;
    double slowest = 0;
    float min_route = INFINITY, min_gap = INFINITY;
    bool found_all = true;
    std::ofstream file(p.prompts);
    for (size_t i = 0; i < p.requests.size(); ++i) {
      const GuardedRequest& r = p.requests[i];
      const RequestShape& s = (*target.requests)[i];
      evaluations += r.evaluations;
      slowest = std::max(slowest, r.seconds);
      CHECK_MESSAGE(r.found, name, ": no prompt of ", s.prompt_len, " tokens whose plain greedy trajectory stays "
                    "clear for ", s.max_tokens, " tokens in ", kMaxEvaluations, " trajectories (the best cleared ",
                    r.best_cleared, ")");
      found_all = found_all && r.found;
      min_route = std::min(min_route, r.trajectory.min_route);
      min_gap = std::min(min_gap, r.trajectory.min_gap);
      const json line = {{"id", i}, {"input_ids", r.prompt}, {"max_tokens", s.max_tokens}, {"temperature", 0},
                         {"ignore_eos", true}};
      file << line.dump() << "\n";
    }
    file.close();
    if (!found_all) continue;  // each request's failure is reported above
    MESSAGE(name, ": ", p.requests.size(), " guarded prompts in ", evaluations, " CPU trajectories (the slowest search ",
            slowest, " s; all targets' searches, in parallel, ", search_s, " s); along their greedy trajectories the "
            "smallest route margin is ", min_route, " (>= ", target.route_margin, ") and the smallest top-1/top-2 logit gap ",
            min_gap, " (>= ", kLogitMargin, ")");
    // The premise: no logit of this GPU is off by half the gap, so no choice along the trajectories can flip.
    const GpuError error = gpu_error_on_trajectories(p.model, p.requests, capacity, *nccl);
    CHECK_MESSAGE(2 * error.worst < kLogitMargin, name, ": the CUDA step's logits differ from the CPU's by up to ",
                  error.worst, " along the guarded trajectories, so a top-1/top-2 gap of ", kLogitMargin, " does not "
                  "guarantee the CPU's choices on this GPU: the guard's premise fails. The worst step: ", error.where);
    MESSAGE(name, ": max |GPU - CPU| logit along the guarded trajectories (decode and verify shapes) ", error.worst,
            " (the guard needs < ", kLogitMargin / 2, "), at ", error.where);

    // The jobs: per (ranks, plan), a plain run and the speculative runs.
    for (int ranks : {1, 2, 4, 8}) {  // 8: one node's worth (issue 9), where 8 GPUs are visible
      if (ranks > static_cast<int>(gpus.size())) {
        MESSAGE(name, ": ", ranks, " ranks skipped (", gpus.size(), " visible GPUs)");
        continue;
      }
      for (const char* plan : {"tp", "ep"}) {
        if (ranks == 1 && std::string(plan) == "ep") continue;  // one rank holds every expert under either plan
        std::vector<int> blocks = {0};
        if (ranks == 1) blocks.insert(blocks.end(), std::begin(kAllBlocks), std::end(kAllBlocks));
        else blocks.insert(blocks.end(), std::begin(kSomeBlocks), std::end(kSomeBlocks));
        for (int block : blocks) {
          Job j;
          j.target = name;
          j.ranks = ranks;
          j.plan = plan;
          j.block = block;
          const std::string stem = tmp.file(name + "-" + std::to_string(ranks) + plan + "-" +
                                            (block ? "b" + std::to_string(block) : std::string("plain")));
          j.out = stem + ".jsonl";
          j.log = stem + ".log";
          j.args = "--device cuda --model " + p.model + " --prompts " + p.prompts + " --max-batch " +
                   std::to_string(kMaxBatch) + " --moe-parallel " + plan +
                   " --reproducible --progress off --step-timeout 120 --out " + j.out;
          if (block) {
            j.metrics = stem + ".metrics.json";
            j.args += " --drafter " + p.drafter + " --block-size " + std::to_string(block) + " --metrics-json " +
                      j.metrics;
          }
          jobs.push_back(std::move(j));
        }
      }
    }
  }

  nccl.reset();

  const auto jobs_start = std::chrono::steady_clock::now();
  run_jobs(jobs, gpus);
  double job_seconds = 0, longest = 0;
  for (const Job& j : jobs) job_seconds += j.seconds, longest = std::max(longest, j.seconds);
  MESSAGE(jobs.size(), " generate runs on ", gpus.size(), " GPUs (at most ", kJobsPerGpu, " per GPU) in ",
          std::chrono::duration<double>(std::chrono::steady_clock::now() - jobs_start).count(), " s (", job_seconds,
          " s of runs, the longest ", longest, " s)");

  // The checks, per configuration (target, ranks, plan): its plain run, then its speculative runs.
  std::map<std::string, const Prepared*> by_name;
  for (const Prepared& p : prepared) by_name[p.target->name] = &p;
  std::map<std::tuple<std::string, int, std::string>, const Job*> plain_of;
  for (const Job& j : jobs)
    if (j.block == 0) plain_of[{j.target, j.ranks, j.plan}] = &j;
  uint64_t total_accepted = 0, total_drafted = 0;
  std::map<std::string, std::string> summary;  // per target: the accepted drafts of each configuration
  int compared = 0;
  for (const auto& [key, plain] : plain_of) {
    const Prepared& p = *by_name.at(plain->target);
    const std::string where = config_name(*plain);
    CHECK_MESSAGE(plain->rc == 0, where, ": exit ", plain->rc, "\n", tail(test::read_file(plain->log)));
    if (plain->rc != 0) continue;
    const std::vector<json> ref = test::read_jsonl(plain->out);
    REQUIRE_MESSAGE(ref.size() == p.requests.size(), where);
    bool plain_is_cpu = true;
    for (size_t i = 0; i < ref.size(); ++i) {
      REQUIRE_MESSAGE(!ref[i].contains("error"), where, ": ", ref[i].dump());
      // The guard's own check: plain GPU decoding gives the CPU reference's greedy tokens.
      const bool same = ref[i]["token_ids"].get<std::vector<int32_t>>() == p.requests[i].trajectory.tokens;
      CHECK_MESSAGE(same, where, ", request ", i, ": plain GPU decoding departs from the CPU's greedy trajectory, so "
                    "the prompt guard did not hold (not a speculative decoding error)");
      plain_is_cpu = plain_is_cpu && same;
    }
    for (const Job& j : jobs) {
      if (j.block == 0 || j.target != plain->target || j.ranks != plain->ranks || j.plan != plain->plan) continue;
      const std::string what = config_name(j);
      const std::string log = test::read_file(j.log);
      CHECK_MESSAGE(j.rc == 0, what, ": exit ", j.rc, "\n", tail(log));
      if (j.rc != 0) continue;
      CHECK_MESSAGE(log.find("on the GPU") != std::string::npos, what, ": the drafter did not run on the GPU\n",
                    tail(log));
      const std::vector<json> got = test::read_jsonl(j.out);
      REQUIRE_MESSAGE(got.size() == ref.size(), what);
      for (size_t i = 0; i < ref.size(); ++i) {
        REQUIRE_MESSAGE(!got[i].contains("error"), what, ": ", got[i].dump());
        CHECK_MESSAGE(got[i]["token_ids"] == ref[i]["token_ids"], what, ", request ", i, " (prompt of ",
                      p.requests[i].prompt.size(), " tokens): speculative output differs from plain (which ",
                      plain_is_cpu ? "equals" : "does not equal", " the CPU's trajectories)");
        CHECK(got[i]["finish_reason"] == "length");
        ++compared;
      }
      // The drafter drafted, and the accepted drafts account for the tokens gained: every target pass
      // commits one token plus its accepted drafts (blocks never run past max_tokens, EOS is ignored).
      const json a = json::parse(test::read_file(j.metrics))["aggregate"];
      const auto drafts = a["spec_decode"]["drafts"].get<uint64_t>();
      const auto drafted = a["spec_decode"]["draft_tokens"].get<uint64_t>();
      const auto accepted = a["spec_decode"]["accepted_tokens"].get<uint64_t>();
      const auto completion = a["completion_tokens"].get<uint64_t>();
      const double acceptance = a["acceptance_length"].get<double>();
      CHECK_MESSAGE(drafts > 0, what);
      CHECK_MESSAGE((drafted >= drafts && drafted <= drafts * static_cast<uint64_t>(j.block - 1)), what, ": ", drafted,
                    " draft tokens in ", drafts, " drafts");
      CHECK_MESSAGE(accepted <= drafted, what);
      CHECK(acceptance >= 1.0);
      REQUIRE(acceptance > 0);
      CHECK_MESSAGE(std::fabs(completion / acceptance - static_cast<double>(completion - accepted)) < 1e-6 * completion,
                    what, ": ", completion, " tokens, acceptance length ", acceptance, ", ", accepted,
                    " accepted drafts");
      total_accepted += accepted;
      total_drafted += drafted;
      summary[j.target] += " " + std::to_string(j.ranks) + j.plan + "/b" + std::to_string(j.block) + ":" +
                           std::to_string(accepted);
    }
  }
  for (const auto& [name, line] : summary)
    MESSAGE(name, ": accepted drafts per configuration (ranks plan/block:n):", line);
  MESSAGE(compared, " speculative outputs compared with plain; ", total_accepted, " of ", total_drafted,
          " random drafts accepted; ",
          std::chrono::duration<double>(std::chrono::steady_clock::now() - test_start).count(), " s in all");
  // Random drafters are mostly wrong, but the runs must include verify passes that kept drafts: those
  // are where a wrong acceptance would show. All targets together have some (qwen3_moe_tied_sharded's in
  // the runs so far); a selection of targets (TACHYON_TEST_TARGETS) may have none, and then says that it
  // checked rejections only.
  const char* selection = std::getenv("TACHYON_TEST_TARGETS");
  if (selection && *selection && total_accepted == 0)
    MESSAGE("TACHYON_TEST_TARGETS=", selection, ": no random draft was accepted, so these runs checked only "
            "rejected drafts; run every target to check accepted ones too");
  else
    CHECK(total_accepted > 0);
}

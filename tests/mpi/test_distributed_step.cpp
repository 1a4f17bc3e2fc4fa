// Rung 2 of the correctness ladder: N ranks against one. For every parity fixture and two random models
// with awkward shapes, under both MoE plans, a batch of sequences of different lengths is prefilled and
// decoded on N ranks (MPI collectives, each rank holding only its shard) and on one rank (the whole
// model, in the same process). Logits must agree within a stated tolerance at every step, and the
// tokens chosen by the distributed sampler (greedy and seeded sampling) must be identical.
#include <doctest/doctest.h>
#include <mpi.h>

#include <cmath>
#include <filesystem>

#include "comm/collectives.h"
#include "comm/mpi_collectives.h"
#include "model/checkpoint.h"
#include "model/config.h"
#include "model/convert.h"
#include "runtime/cpu_target_step.h"
#include "runtime/sampler.h"
#include "../unit/test_util.h"

using namespace tachyon;

namespace {

// Splitting reductions across ranks changes FP32 summation order only.
constexpr float kLogitAtol = 1e-4f;
constexpr float kLogitRtol = 1e-4f;

struct ModelCase {
  std::string name;
  std::function<void(const std::string& out)> make;
};

std::vector<ModelCase> model_cases() {
  auto convert = [](const std::string& fixture, ConvertOptions o) {
    return [=](const std::string& out) { convert_hf_directory(test::fixture("parity/" + fixture), out, o); };
  };
  auto random = [](const std::string& config) {
    return [=](const std::string& out) {
      write_random_checkpoint(test::read_file(test::fixture("models/" + config)), out, 1234, ConvertOptions{}, std::nullopt);
    };
  };
  ConvertOptions f32;
  f32.dense = WeightFormat::F32;
  f32.experts = WeightFormat::F32;
  ConvertOptions fp8;
  fp8.dense = WeightFormat::FP8;
  fp8.experts = WeightFormat::MXFP4;
  return {{"qwen3_moe", convert("qwen3_moe", {})},
          {"qwen3_moe_tied_sharded", convert("qwen3_moe_tied_sharded", f32)},
          {"gpt_oss", convert("gpt_oss", {})},
          {"qwen3_moe_fp8_mxfp4", convert("qwen3_moe", fp8)},
          {"random_qwen3_moe", random("random_qwen3_moe.json")},
          {"random_gpt_oss", random("random_gpt_oss.json")}};
}

// Every rank's vocabulary slice of the logits, gathered into [rows, V].
std::vector<float> gather_logits(comm::Collectives& comm, const ModelConfig& c, const std::vector<float>& local, size_t rows) {
  const int world = comm.size();
  std::vector<size_t> counts(world);
  for (int r = 0; r < world; ++r) counts[r] = rows * split_range(c.vocab_size, world, r).size();
  std::vector<float> all(rows * c.vocab_size), full(rows * c.vocab_size);
  comm.all_gather_v(local.data(), counts, comm::DType::F32, all.data());
  size_t offset = 0;
  for (int r = 0; r < world; ++r) {
    const Range v = split_range(c.vocab_size, world, r);
    for (size_t i = 0; i < rows; ++i)
      std::copy(all.begin() + offset + i * v.size(), all.begin() + offset + (i + 1) * v.size(),
                full.begin() + i * c.vocab_size + v.begin);
    offset += rows * v.size();
  }
  return full;
}

void run_case(const std::string& path, const std::string& name, MoeParallel moe, comm::Collectives& world_comm) {
  CheckpointReader reader(path);
  const ModelConfig c = parse_model_config(reader.config_json(), path);
  const int rank = world_comm.rank(), world = world_comm.size();
  comm::SingleProcess self;
  // The reference is one rank under tp: the path the parity tests check against transformers. (One rank
  // under ep runs other code, so it is a case to check, not a reference.)
  const ShardPlan full_plan = make_shard_plan(c, 0, 1, MoeParallel::Tp);
  const ShardPlan plan = make_shard_plan(c, rank, world, moe);
  CpuTargetStep reference(c, full_plan, load_target_weights(reader, c, full_plan), self, 3, 64);
  CpuTargetStep distributed(c, plan, load_target_weights(reader, c, plan), world_comm, 3, 64);
  DistributedSampler ref_sampler(self, full_plan.vocab), dist_sampler(world_comm, plan.vocab);

  // Three sequences of different lengths in one prefill step, logits at every position.
  const int lengths[3] = {7, 13, 2};
  StepBatch batch;
  std::vector<SamplingRow> rows;
  for (int s = 0; s < 3; ++s) {
    batch.seqs.push_back({s, 0, lengths[s], 0});
    for (int i = 0; i < lengths[s]; ++i) batch.tokens.push_back((s * 97 + i * 31 + 5) % c.vocab_size);
  }
  SamplingParams sampled{0.8f, 0.9f, 40, 77};
  for (int step = 0; step < 5; ++step) {
    rows.clear();
    for (size_t r = 0; r < static_cast<size_t>(batch.logit_rows()); ++r) rows.push_back({r % 2 ? sampled : SamplingParams{}, r});
    StepOutput ref_out, dist_out;
    reference.run(batch, ref_out);
    distributed.run(batch, dist_out);
    const size_t n = batch.logit_rows();
    const std::vector<float> full = gather_logits(world_comm, c, dist_out.logits, n);
    float worst = 0.0f;
    bool close = true;
    for (size_t i = 0; i < full.size(); ++i) {
      const float d = std::fabs(full[i] - ref_out.logits[i]);
      worst = std::max(worst, d);
      close &= d <= kLogitAtol + kLogitRtol * std::fabs(ref_out.logits[i]);
    }
    CHECK_MESSAGE(close, name, " plan ", moe_parallel_name(moe), " ranks ", world, " step ", step, ": max diff ", worst);
    const std::vector<int32_t> ref_ids = ref_sampler.choose(ref_out.logits.data(), rows);
    const std::vector<int32_t> dist_ids = dist_sampler.choose(dist_out.logits.data(), rows);
    CHECK_MESSAGE(ref_ids == dist_ids, name, " plan ", moe_parallel_name(moe), " ranks ", world, " step ", step);
    // Next step: every sequence decodes the token chosen from its last row.
    StepBatch next;
    size_t row = 0;
    for (const auto& chunk : batch.seqs) {
      row += chunk.count - chunk.logits_from;
      next.seqs.push_back({chunk.slot, chunk.start + chunk.count, 1, 0});
      next.tokens.push_back(ref_ids[row - 1]);
    }
    batch = next;
  }
}

}  // namespace

TEST_CASE("distributed step: N ranks give the single-rank logits and tokens, both MoE plans") {
  comm::MpiCollectives comm(MPI_COMM_WORLD);
  test::TempDir tmp("mpi-step");  // each rank has its own; rank 0's files are shared through the barrier
  std::string dir = tmp.path().string();
  std::vector<char> buf(dir.begin(), dir.end());
  buf.resize(4096, '\0');
  comm.broadcast(buf.data(), buf.size(), comm::DType::U8, 0);
  dir = buf.data();
  for (const ModelCase& m : model_cases()) {
    const std::string path = dir + "/" + m.name + ".h5";
    if (comm.rank() == 0) m.make(path);
    comm.barrier();
    for (MoeParallel moe : {MoeParallel::Ep, MoeParallel::Tp}) run_case(path, m.name, moe, comm);
  }
  comm.barrier();
}

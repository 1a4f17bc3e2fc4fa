// `tachyon bench load` under mpirun (the CPU backend here; issue 9 runs it on 8 GPUs): every rank reads
// its own shard, the shards together cover the model, and the figures it reports agree with each other.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "test_util.h"

using namespace tachyon;
using nlohmann::json;

TEST_CASE("tachyon bench load: each rank reads its shard, 1-4 ranks, both MoE plans, a missing checkpoint is a clear error") {
  test::TempDir tmp("bench-load");
  std::string out;
  const std::string model = tmp.file("m.h5");
  REQUIRE(test::run_tachyon("convert --random-config " + test::fixture("models/random_qwen3_moe.json") + " --seed 3 --to " +
                            model, &out) == 0);

  auto load = [&](int ranks, const char* plan, bool evict = false) {
    const std::string o = tmp.file(fmt::format("load-{}-{}-{}.json", ranks, plan, evict));
    const std::string cmd = fmt::format("{}{} bench load --device cpu --model {} --moe-parallel {} --json {}{} > {}.log 2>&1",
                                        test::mpirun(ranks), TACHYON_EXE, model, plan, o, evict ? " --evict-cache" : "", o);
    REQUIRE_MESSAGE(test::run(cmd) == 0, test::read_file(o + ".log"));
    const json j = json::parse(test::read_file(o));
    CHECK(j["ranks"] == ranks);
    CHECK(j["moe"] == plan);
    CHECK(j["device"] == "cpu");
    REQUIRE(j["rank_bytes"].size() == static_cast<size_t>(ranks));
    REQUIRE(j["rank_seconds"].size() == static_cast<size_t>(ranks));
    uint64_t total = 0;
    double slowest = 0;
    for (int r = 0; r < ranks; ++r) {
      CHECK(j["rank_bytes"][r].get<uint64_t>() > 0);
      CHECK(j["rank_seconds"][r].get<double>() > 0);
      total += j["rank_bytes"][r].get<uint64_t>();
      slowest = std::max(slowest, j["rank_seconds"][r].get<double>());
    }
    CHECK(j["total_bytes"].get<uint64_t>() == total);
    CHECK(j["seconds"].get<double>() == slowest);
    CHECK(std::fabs(j["gb_per_s"].get<double>() - total / slowest / 1e9) <= 1e-9 * j["gb_per_s"].get<double>());
    CHECK(total <= j["file_bytes"].get<uint64_t>() * static_cast<uint64_t>(ranks));
    CHECK(j["page_cache"] == (evict ? "evicted" : "as found"));  // posix_fadvise takes the advice on local files
    return j;
  };

  const json one = load(1, "tp");
  const uint64_t whole = one["total_bytes"];
  CHECK(whole <= one["file_bytes"].get<uint64_t>());  // one rank reads every tensor once
  for (int ranks : {2, 4})
    for (const char* plan : {"tp", "ep"}) {
      CAPTURE(ranks);
      CAPTURE(plan);
      const json j = load(ranks, plan);
      // Each rank reads a part of the model; together they read all of it (the small tensors every
      // rank holds whole, norms and routers, more than once).
      for (int r = 0; r < ranks; ++r) CHECK(j["rank_bytes"][r].get<uint64_t>() < whole);
      CHECK(j["total_bytes"].get<uint64_t>() >= whole);
    }

  // Reading after the page cache was dropped reads the same bytes.
  CHECK(load(2, "ep", true)["total_bytes"] == load(2, "ep")["total_bytes"]);

  CHECK(test::run_tachyon("bench load --device cpu --model " + tmp.file("missing.h5"), &out) != 0);
  CHECK_MESSAGE(out.find("missing.h5") != std::string::npos, out);
  CHECK(test::run_tachyon("bench load --device cpu --model " + test::default_model("drafter.h5"), &out) != 0);
  CHECK_MESSAGE(out.find("drafter.h5: this is a drafter checkpoint, not a target model") != std::string::npos, out);
  CHECK(test::run_tachyon("bench load --device cpu --model " + model + " --moe-parallel sideways", &out) != 0);
  CHECK_MESSAGE(out.find("--moe-parallel: 'sideways' is not one of ep, tp, auto") != std::string::npos, out);
  CHECK(test::run_tachyon("bench load --bogus", &out) != 0);
  CHECK_MESSAGE(out.find("(see `tachyon bench load --help`)") != std::string::npos, out);
  // auto: the plan generate takes.
  REQUIRE(test::run_tachyon("bench load --device cpu --model " + model + " --json " + tmp.file("auto.json"), &out) == 0);
  CHECK(json::parse(test::read_file(tmp.file("auto.json")))["moe"] == "tp");
}

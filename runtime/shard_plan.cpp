#include "runtime/shard_plan.h"

#include "model/error.h"
#include "model/mxfp4.h"

namespace tachyon {

std::string_view moe_parallel_name(MoeParallel p) { return p == MoeParallel::Ep ? "ep" : "tp"; }

MoeParallel parse_moe_parallel(std::string_view name) {
  if (name == "ep") return MoeParallel::Ep;
  if (name == "tp") return MoeParallel::Tp;
  throw Error(fmt::format("--moe-parallel: '{}' is not one of ep, tp, auto", name));
}

MoeParallel resolve_moe_parallel(std::string_view choice) {
  if (choice != "auto") return parse_moe_parallel(choice);
  // Attention is tensor-parallel, so after it every rank holds every token: ep's exchange (reduce-scatter,
  // all-to-all both ways, all-gather) only adds collectives at decode batches. Measured with `tachyon
  // bench step` on 2 x H200 (MiMo-V2.5-Pro slice, docs/benchmarks.md): tp 1.05-1.35x faster than ep from
  // 1 to 64 tokens a step. ep stays for memory (whole experts per rank) and for checking the exchange.
  return MoeParallel::Tp;
}

Range split_range(int64_t total, int parts, int index, int64_t align) {
  TACHYON_CHECK(parts > 0 && index >= 0 && index < parts && align > 0, "split {} of {}", index, parts);
  const int64_t units = (total + align - 1) / align;
  const int64_t base = units / parts, extra = units % parts;
  const int64_t first = index * base + std::min<int64_t>(index, extra);
  const int64_t count = base + (index < extra ? 1 : 0);
  return Range{std::min(total, first * align), std::min(total, (first + count) * align)};
}

std::vector<size_t> token_split_counts(size_t tokens, int world, size_t width) {
  std::vector<size_t> counts(world);
  for (int r = 0; r < world; ++r) counts[r] = static_cast<size_t>(split_range(tokens, world, r).size()) * width;
  return counts;
}

int ShardPlan::owner_of_expert(int expert) const {
  for (int r = 0; r < static_cast<int>(experts_of_rank.size()); ++r)
    if (experts_of_rank[r].contains(expert)) return r;
  TACHYON_CHECK(false, "expert {} has no owner", expert);
  return -1;
}

ShardPlan make_shard_plan(const ModelConfig& c, int rank, int world, MoeParallel moe) {
  TACHYON_REQUIRE(world >= 1 && rank >= 0 && rank < world, "invalid rank {} of {}", rank, world);
  ShardPlan p;
  p.rank = rank;
  p.world = world;
  p.moe = moe;
  for (const LayerConfig& l : c.layers) {
    AttentionShard a;
    const int group = l.num_q_heads / l.num_kv_heads;
    if (l.num_kv_heads % world == 0) {
      // Whole KV groups per rank: no KV head is stored twice.
      a.kv_heads = split_range(l.num_kv_heads, world, rank);
      a.q_heads = Range{a.kv_heads.begin * group, a.kv_heads.end * group};
    } else {
      a.q_heads = split_range(l.num_q_heads, world, rank);
      a.kv_heads = a.q_heads.empty() ? Range{0, 0}
                                     : Range{a.q_heads.begin / group, (a.q_heads.end - 1) / group + 1};
    }
    for (int64_t h = a.q_heads.begin; h < a.q_heads.end; ++h)
      a.kv_head_of.push_back(static_cast<int>(h / group - a.kv_heads.begin));
    p.attention.push_back(std::move(a));
  }
  p.vocab = split_range(c.vocab_size, world, rank);
  p.dense_intermediate = split_range(c.dense_intermediate_size, world, rank);
  if (c.has_moe()) {
    if (moe == MoeParallel::Ep) {
      for (int r = 0; r < world; ++r) p.experts_of_rank.push_back(split_range(c.num_experts, world, r));
      p.experts = p.experts_of_rank[rank];
      p.expert_intermediate = Range{0, c.moe_intermediate_size};
    } else {
      p.experts_of_rank.assign(world, Range{0, c.num_experts});
      p.experts = Range{0, c.num_experts};
      // Slices in whole MXFP4 blocks so that the down projection's column slice stays block-aligned.
      p.expert_intermediate = split_range(c.moe_intermediate_size, world, rank, kMxfp4BlockSize);
    }
  }
  return p;
}

}  // namespace tachyon

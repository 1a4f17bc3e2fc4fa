// Batch-invariant numerics: a token's bits do not depend on the step it rides in.
//
// By default each launcher picks the fastest arithmetic for its call's shape: one or two rows of a dense
// linear multiply FP32 activations on the FMA units (the row stream) while more rows round them to BF16 for
// the tensor cores; K splits, expert-GEMM kernels and attention's key partitions follow the row, token and
// sequence counts. Every choice is exact to within FP32 rounding, but a token's logits then change in their
// last bits with the batch around it, and a near-tie of two logits can fall either way: greedy output at
// batch 1 and at batch 8 can differ, and so can speculative and plain decoding (whose verify passes carry a
// block of rows where plain decoding carries one).
//
// With batch invariance on, every launcher takes one arithmetic per weight shape, whatever the rows:
// - dense linears (linear.h): BF16/FP8 weights on the tensor cores at every row count (no row stream), with the
//   K split the launcher picks for its largest launch; FP32-activation calls (the routers) on the exact split-x
//   path at every row count, or on the FMA path one token a CTA;
// - expert GEMMs (moe.h): the tensor-core kernel over n-tiles only (no one-token, block-column or several-token
//   kernels), its configuration and K split fixed by the weight shape rather than by the routed pairs;
// - attention (attention.h): 16 query rows a CTA and key tiles dealt to a cluster's CTAs by their absolute
//   position, with a cluster size fixed by the cache, so a query meets the same tiles in the same order
//   whether it decodes alone or sits in a verify block beside other sequences;
// - the step (runtime/cuda/cuda_target_step.cpp): no fusion that only small steps take.
// It costs speed (`tachyon bench step --batch-invariant` measures how much) and is what `tachyon generate
// --batch-invariant` asks for, as vLLM's and SGLang's deterministic modes do. One GPU: several ranks' NCCL
// reductions choose their algorithm by message size, which this switch does not pin.
//
// A call that asks for a launch plan (LinearPlan, for benchmarks and tests) gets that plan, not the mode's.
// Process-wide, like set_linear_stream: set it before the first step is built or captured.
#pragma once

namespace tachyon::cuda {

void set_batch_invariant(bool on);
bool batch_invariant();

}  // namespace tachyon::cuda

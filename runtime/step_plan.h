// What every rank needs for one step, decided by rank 0 and broadcast: the tokens (StepBatch), and how
// to choose a token from each logits row (SamplingRow). A plan with `stop` set ends the workers' loop.
#pragma once

#include <vector>

#include "comm/collectives.h"
#include "runtime/sampler.h"
#include "runtime/step.h"

namespace tachyon {

struct StepPlan {
  bool stop = false;
  StepBatch batch;
  std::vector<SamplingRow> rows;  // one per logits row, in the batch's row order
};

// Rank `root` sends `plan`; the others receive it into `plan`. Two broadcasts: the size, then the bytes.
void broadcast_plan(comm::Collectives& comm, StepPlan& plan, int root = 0);

}  // namespace tachyon

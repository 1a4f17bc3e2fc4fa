// Deliberate failures for testing that one rank's failure ends the whole job. Off unless the
// environment variable TACHYON_INJECT_FAULT is set, to "KIND:RANK:STEP" where KIND is
//   throw   the rank throws an error at the start of that step
//   hang    the rank sleeps forever inside that step (the watchdog must end the job)
// e.g. TACHYON_INJECT_FAULT=throw:1:3. Used by tests only; costs one comparison per step otherwise.
#pragma once

#include <cstdint>

namespace tachyon {

void inject_fault_if_requested(int rank, uint64_t step);

}  // namespace tachyon

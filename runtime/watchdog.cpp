#include "runtime/watchdog.h"

#include <fmt/format.h>

#include "comm/mpi_session.h"

namespace tachyon {

StepWatchdog::StepWatchdog(double timeout_s) : timeout_s_(timeout_s) {
  if (timeout_s_ > 0) thread_ = std::thread([this] { watch(); });
}

StepWatchdog::~StepWatchdog() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void StepWatchdog::begin(const std::string& what) {
  if (timeout_s_ <= 0) return;
  std::lock_guard<std::mutex> lock(mutex_);
  running_step_ = true;
  what_ = what;
  started_ = std::chrono::steady_clock::now();
}

void StepWatchdog::end() {
  if (timeout_s_ <= 0) return;
  std::lock_guard<std::mutex> lock(mutex_);
  running_step_ = false;
}

void StepWatchdog::watch() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, std::chrono::milliseconds(100));
    if (!running_step_) continue;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    if (elapsed > timeout_s_)
      comm::abort_job(3, fmt::format("watchdog: {} has run for {:.1f} s, beyond --step-timeout {} s; ending the job",
                                     what_, elapsed, timeout_s_));
  }
}

}  // namespace tachyon

// Ends the whole job when one step takes longer than a limit: a hung collective or kernel must not
// hold a node for hours. A background thread watches the step that is running; on timeout it prints
// what was running and calls MPI_Abort (comm::abort_job), which takes down every rank.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace tachyon {

class StepWatchdog {
 public:
  // timeout_s <= 0 disables the watchdog.
  explicit StepWatchdog(double timeout_s);
  ~StepWatchdog();
  StepWatchdog(const StepWatchdog&) = delete;
  StepWatchdog& operator=(const StepWatchdog&) = delete;

  void begin(const std::string& what);  // a step starts
  void end();                           // it finished

 private:
  void watch();

  double timeout_s_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool running_step_ = false, stopping_ = false;
  std::string what_;
  std::chrono::steady_clock::time_point started_;
  std::thread thread_;
};

}  // namespace tachyon

#include "runtime/cuda/kernel_trace.h"

#include "model/error.h"

#if TACHYON_HAVE_CUPTI
#include <cupti.h>
#include <fmt/format.h>

#include <cstdlib>
#include <mutex>
#endif

namespace tachyon::cuda {

#if TACHYON_HAVE_CUPTI

namespace {

// CUPTI hands records over in buffers from C callbacks, so what they collect lives here; KernelTrace
// allows one instance at a time.
std::mutex g_mutex;
std::vector<KernelRecord> g_records;
bool g_tracing = false;
constexpr size_t kBufferBytes = 8u << 20;

void check(CUptiResult r, const char* what) {
  if (r == CUPTI_SUCCESS) return;
  const char* message = nullptr;
  cuptiGetResultString(r, &message);
  throw Error(fmt::format("CUPTI {}: {}", what, message ? message : "unknown error"));
}

void CUPTIAPI buffer_requested(uint8_t** buffer, size_t* size, size_t* max_records) {
  *buffer = static_cast<uint8_t*>(std::aligned_alloc(alignof(std::max_align_t), kBufferBytes));
  *size = *buffer ? kBufferBytes : 0;
  *max_records = 0;  // as many as fit
}

void CUPTIAPI buffer_completed(CUcontext, uint32_t, uint8_t* buffer, size_t, size_t valid_bytes) {
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    CUpti_Activity* record = nullptr;
    while (cuptiActivityGetNextRecord(buffer, valid_bytes, &record) == CUPTI_SUCCESS) {
      if (record->kind != CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL) continue;
      // The newest kernel record of the CUPTI this was built against (the toolkit's).
      const auto* k = reinterpret_cast<const CUpti_ActivityKernel10*>(record);
      g_records.push_back({k->name ? k->name : "(unnamed)", k->start, k->end});
    }
  }
  std::free(buffer);
}

}  // namespace

KernelTrace::KernelTrace() {
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    TACHYON_REQUIRE(!g_tracing, "KernelTrace: one at a time");
    g_tracing = true;
    g_records.clear();
  }
  check(cuptiActivityRegisterCallbacks(buffer_requested, buffer_completed), "cuptiActivityRegisterCallbacks");
  // CONCURRENT_KERNEL leaves kernels free to overlap (KIND_KERNEL would serialize them).
  check(cuptiActivityEnable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL), "cuptiActivityEnable");
}

KernelTrace::~KernelTrace() {
  cuptiActivityDisable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL);
  cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
  std::lock_guard<std::mutex> lock(g_mutex);
  g_records.clear();
  g_tracing = false;
}

uint64_t KernelTrace::now_ns() {
  uint64_t t = 0;
  check(cuptiGetTimestamp(&t), "cuptiGetTimestamp");
  return t;
}

std::vector<KernelRecord> KernelTrace::take() {
  check(cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED), "cuptiActivityFlushAll");
  std::lock_guard<std::mutex> lock(g_mutex);
  std::vector<KernelRecord> out;
  out.swap(g_records);
  return out;
}

#else  // built without CUPTI

namespace {
[[noreturn]] void no_cupti() {
  throw Error("the kernel timeline needs CUPTI (libcupti and cupti.h of the CUDA toolkit), which this build did not find");
}
}  // namespace

KernelTrace::KernelTrace() { no_cupti(); }
KernelTrace::~KernelTrace() = default;
uint64_t KernelTrace::now_ns() { no_cupti(); }
std::vector<KernelRecord> KernelTrace::take() { no_cupti(); }

#endif

}  // namespace tachyon::cuda

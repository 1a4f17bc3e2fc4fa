// Owned device memory: cudaMalloc in the constructor, cudaFree in the destructor (never throws).
// Move-only. Typed views for kernels; host<->device copies that check their sizes.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "kernels/cuda/cuda_check.h"

namespace tachyon::cuda {

// Waits for set-up work issued on the legacy default stream (cudaMemcpy, cudaMemset). Kernels on
// non-blocking streams (the step's, the drafter's, the tests') are not ordered after that stream, and
// such a call may return before its work ends: cudaMemcpy from pageable memory once the data are staged,
// device-to-device copies and cudaMemset at once. (tests/mpi's peer all-reduce test read stale 1 MB
// inputs before uploads waited.)
inline void finish_setup_copies() { CUDA_CHECK(cudaStreamSynchronize(cudaStreamLegacy)); }

// Whether device memory at p allows 16-byte (float4 / uint4) accesses: the vector paths' precondition.
inline bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t count) : count_(count) {
    if (count_) CUDA_CHECK(cudaMalloc(&ptr_, count_ * sizeof(T)));
  }
  ~DeviceBuffer() {
    if (ptr_) cudaFree(ptr_);
  }
  DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(std::exchange(o.ptr_, nullptr)), count_(std::exchange(o.count_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      if (ptr_) cudaFree(ptr_);
      ptr_ = std::exchange(o.ptr_, nullptr);
      count_ = std::exchange(o.count_, 0);
    }
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  T* get() { return ptr_; }
  const T* get() const { return ptr_; }
  size_t size() const { return count_; }
  size_t bytes() const { return count_ * sizeof(T); }
  bool empty() const { return count_ == 0; }

  // Synchronous copies (for set-up and tests; the step uses cudaMemcpyAsync on its stream).
  void upload(const T* host, size_t count) {
    CUDA_REQUIRE(count <= count_, "upload larger than the buffer");
    if (!count) return;
    CUDA_CHECK(cudaMemcpy(ptr_, host, count * sizeof(T), cudaMemcpyHostToDevice));
    finish_setup_copies();
  }
  void upload(const std::vector<T>& host) { upload(host.data(), host.size()); }
  std::vector<T> download(size_t count) const {
    CUDA_REQUIRE(count <= count_, "download larger than the buffer");
    std::vector<T> out(count);
    if (count) CUDA_CHECK(cudaMemcpy(out.data(), ptr_, count * sizeof(T), cudaMemcpyDeviceToHost));
    return out;
  }
  std::vector<T> download() const { return download(count_); }

  static DeviceBuffer from(const std::vector<T>& host) {
    DeviceBuffer b(host.size());
    b.upload(host);
    return b;
  }

 private:
  T* ptr_ = nullptr;
  size_t count_ = 0;
};

// Owned page-locked host memory (cudaMallocHost / cudaFreeHost), for asynchronous copies. Move-only.
template <typename T>
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  explicit PinnedBuffer(size_t count) : count_(count) {
    if (count_) CUDA_CHECK(cudaMallocHost(&ptr_, count_ * sizeof(T)));
  }
  ~PinnedBuffer() {
    if (ptr_) cudaFreeHost(ptr_);
  }
  PinnedBuffer(PinnedBuffer&& o) noexcept : ptr_(std::exchange(o.ptr_, nullptr)), count_(std::exchange(o.count_, 0)) {}
  PinnedBuffer& operator=(PinnedBuffer&& o) noexcept {
    if (this != &o) {
      if (ptr_) cudaFreeHost(ptr_);
      ptr_ = std::exchange(o.ptr_, nullptr);
      count_ = std::exchange(o.count_, 0);
    }
    return *this;
  }
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;

  T* get() { return ptr_; }
  const T* get() const { return ptr_; }
  size_t size() const { return count_; }

 private:
  T* ptr_ = nullptr;
  size_t count_ = 0;
};

// An owned CUDA stream and event, for the same reasons.
class Stream {
 public:
  Stream() { CUDA_CHECK(cudaStreamCreateWithFlags(&s_, cudaStreamNonBlocking)); }
  ~Stream() { if (s_) cudaStreamDestroy(s_); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  cudaStream_t get() const { return s_; }
  void sync() const { CUDA_CHECK(cudaStreamSynchronize(s_)); }

 private:
  cudaStream_t s_ = nullptr;
};

class Event {
 public:
  Event() { CUDA_CHECK(cudaEventCreate(&e_)); }
  ~Event() { if (e_) cudaEventDestroy(e_); }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  cudaEvent_t get() const { return e_; }
  void record(cudaStream_t s) { CUDA_CHECK(cudaEventRecord(e_, s)); }
  // Waits until the work before the last record() is done (at once when never recorded).
  void synchronize() const { CUDA_CHECK(cudaEventSynchronize(e_)); }
  // Milliseconds from `start` to this event (both recorded and completed).
  float since(const Event& start) const {
    float ms = 0;
    CUDA_CHECK(cudaEventSynchronize(e_));
    CUDA_CHECK(cudaEventElapsedTime(&ms, start.e_, e_));
    return ms;
  }

 private:
  cudaEvent_t e_ = nullptr;
};

}  // namespace tachyon::cuda

// One CUDA graph per shape, captured the first time a shape is seen and replayed after. A step's work
// depends on its shape only (its metadata lives in fixed device buffers that every kernel reads), so a
// replay needs nothing but those buffers refreshed. The graphs are destroyed with the cache.
#pragma once

#include <cuda_runtime.h>

#include <map>

#include "kernels/cuda/cuda_check.h"

namespace tachyon::cuda {

template <typename Key>
class GraphCache {
 public:
  GraphCache() = default;
  ~GraphCache() {
    for (auto& [key, exec] : execs_) cudaGraphExecDestroy(exec);
  }
  GraphCache(const GraphCache&) = delete;
  GraphCache& operator=(const GraphCache&) = delete;

  // Enqueues the work of `key` on `stream`: its graph if there is one; else `enqueue` runs directly (its
  // results are this call's, and first launches set kernel attributes, which a capture must not do),
  // then again under capture, and the graph is kept. With `use_graphs` false, always directly.
  template <typename Enqueue>
  void run(const Key& key, cudaStream_t stream, bool use_graphs, Enqueue&& enqueue) {
    if (!use_graphs) return enqueue();
    if (auto it = execs_.find(key); it != execs_.end()) {
      CUDA_CHECK(cudaGraphLaunch(it->second, stream));
      return;
    }
    enqueue();
    CUDA_CHECK(cudaStreamSynchronize(stream));
    cudaGraph_t graph;
    CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    enqueue();
    CUDA_CHECK(cudaStreamEndCapture(stream, &graph));
    cudaGraphExec_t exec;
    const cudaError_t made = cudaGraphInstantiate(&exec, graph, 0);
    cudaGraphDestroy(graph);
    CUDA_CHECK(made);
    execs_.emplace(key, exec);
  }

  size_t size() const { return execs_.size(); }

 private:
  std::map<Key, cudaGraphExec_t> execs_;
};

}  // namespace tachyon::cuda

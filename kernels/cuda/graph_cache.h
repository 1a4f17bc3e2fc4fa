// One CUDA graph per shape, captured the second time a shape is seen and replayed from then on. A step's
// work depends on its shape only (its metadata lives in fixed device buffers that every kernel reads), so a
// replay needs nothing but those buffers refreshed. A shape seen once runs directly: under continuous
// batching most steps that mix a new request's prefill chunk with the decodes of the others have a shape
// of their own, and capturing and instantiating a graph that is never replayed costs more than the step's
// own launches. The graphs are destroyed with the cache.
#pragma once

#include <cuda_runtime.h>

#include <map>
#include <set>

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

  // Enqueues the work of `key` on `stream`: its graph if there is one. Else, the first time, `enqueue` runs
  // directly (its first launches also set kernel attributes, which a capture must not do); the second time
  // it runs under capture, the graph is kept and launched. With `use_graphs` false, always directly.
  template <typename Enqueue>
  void run(const Key& key, cudaStream_t stream, bool use_graphs, Enqueue&& enqueue) {
    if (!use_graphs) return enqueue();
    if (auto it = execs_.find(key); it != execs_.end()) {
      CUDA_CHECK(cudaGraphLaunch(it->second, stream));
      return;
    }
    if (seen_once_.insert(key).second) return enqueue();
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
    seen_once_.erase(key);
    CUDA_CHECK(cudaGraphLaunch(exec, stream));
  }

  size_t size() const { return execs_.size(); }  // graphs kept (shapes seen at least twice)

 private:
  std::map<Key, cudaGraphExec_t> execs_;
  std::set<Key> seen_once_;  // shapes run once, directly
};

}  // namespace tachyon::cuda

#include "runtime/step_plan.h"

#include <cstring>
#include <type_traits>

#include "model/error.h"

namespace tachyon {

static_assert(std::is_trivially_copyable_v<SamplingRow>, "sampling rows travel as bytes");

void broadcast_plan(comm::Collectives& comm, StepPlan& plan, int root) {
  std::vector<uint8_t> bytes;
  if (comm.rank() == root) {
    const std::vector<int32_t> words = plan.batch.serialize();
    const int64_t header[3] = {plan.stop ? 1 : 0, static_cast<int64_t>(words.size()), static_cast<int64_t>(plan.rows.size())};
    bytes.resize(sizeof(header) + words.size() * sizeof(int32_t) + plan.rows.size() * sizeof(SamplingRow));
    uint8_t* p = bytes.data();
    std::memcpy(p, header, sizeof(header));
    std::memcpy(p + sizeof(header), words.data(), words.size() * sizeof(int32_t));
    std::memcpy(p + sizeof(header) + words.size() * sizeof(int32_t), plan.rows.data(), plan.rows.size() * sizeof(SamplingRow));
  }
  uint64_t size = bytes.size();
  comm.broadcast(&size, 1, comm::DType::U64, root);
  bytes.resize(size);
  comm.broadcast(bytes.data(), size, comm::DType::U8, root);
  if (comm.rank() == root) return;
  int64_t header[3];
  TACHYON_CHECK(size >= sizeof(header), "plan of {} bytes", size);
  std::memcpy(header, bytes.data(), sizeof(header));
  std::vector<int32_t> words(static_cast<size_t>(header[1]));
  std::memcpy(words.data(), bytes.data() + sizeof(header), words.size() * sizeof(int32_t));
  plan.stop = header[0] != 0;
  plan.batch = StepBatch::deserialize(words);
  plan.rows.resize(static_cast<size_t>(header[2]));
  std::memcpy(plan.rows.data(), bytes.data() + sizeof(header) + words.size() * sizeof(int32_t),
              plan.rows.size() * sizeof(SamplingRow));
}

}  // namespace tachyon

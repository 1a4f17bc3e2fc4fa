#include "runtime/result_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "model/error.h"

namespace tachyon {

ResultWriter::ResultWriter(const std::string& path, bool append, double sync_interval_s, size_t first_index)
    : path_(path), next_(first_index), sync_interval_s_(sync_interval_s), last_sync_(std::chrono::steady_clock::now()) {
  if (path == "-") {
    fd_ = STDOUT_FILENO;
    return;
  }
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC) | O_CLOEXEC, 0644);
  TACHYON_REQUIRE(fd_ >= 0, "cannot open output file '{}' for writing: {}", path, std::strerror(errno));
  owns_fd_ = true;
}

ResultWriter::~ResultWriter() { close(); }

void ResultWriter::close() {
  if (fd_ < 0) return;
  ::fsync(fd_);
  if (owns_fd_) ::close(fd_);
  fd_ = -1;
}

void ResultWriter::write_all(const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    TACHYON_REQUIRE(n > 0, "writing to '{}' failed: {}", path_, std::strerror(errno));
    done += static_cast<size_t>(n);
  }
}

void ResultWriter::submit(size_t index, std::string line) {
  TACHYON_CHECK(fd_ >= 0, "result {} submitted to the closed '{}'", index, path_);
  TACHYON_CHECK(index >= next_ && !waiting_.count(index), "result {} submitted twice", index);
  line.push_back('\n');
  waiting_.emplace(index, std::move(line));
  drain();
}

void ResultWriter::skip(size_t index) {
  TACHYON_CHECK(index >= next_ && !waiting_.count(index), "result {} skipped twice", index);
  waiting_.emplace(index, std::string());
  drain();
}

void ResultWriter::drain() {
  std::string batch;
  for (auto it = waiting_.begin(); it != waiting_.end() && it->first == next_; it = waiting_.erase(it), ++next_)
    batch += it->second;
  // Whole lines only, in one write each batch: a kill between writes loses no completed line.
  if (!batch.empty()) {
    write_all(batch);
    dirty_ = true;
  }
  poll();
}

void ResultWriter::poll() {
  if (!dirty_ || fd_ < 0) return;
  const auto now = std::chrono::steady_clock::now();
  if (std::chrono::duration<double>(now - last_sync_).count() >= sync_interval_s_) sync();
}

void ResultWriter::sync() {
  if (fd_ >= 0) ::fsync(fd_);
  dirty_ = false;
  last_sync_ = std::chrono::steady_clock::now();
}

}  // namespace tachyon

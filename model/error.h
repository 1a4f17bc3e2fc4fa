// Errors for Tachyon.
//
// Two kinds of failure, two macros:
//   TACHYON_REQUIRE(cond, fmt, args...)  bad input from a user (a file, a field, a request): the message
//                                        alone must say what is wrong and what to do; no source location.
//   TACHYON_CHECK(cond, fmt, args...)    an internal invariant: the message carries file:line and the
//                                        failed expression, because it means a bug in Tachyon.
// Both throw tachyon::Error. Host code throws; `apps/` mains catch, print, and end every rank.
// CUDA sources (.cu) do not include this header: nvcc cannot compile fmt 9; they use
// kernels/cuda/cuda_check.h, whose throwers live in .cpp files.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace tachyon {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
[[noreturn]] void throw_internal(const char* file, int line, const char* expr, const std::string& msg);
}  // namespace detail

}  // namespace tachyon

#define TACHYON_REQUIRE(cond, ...)                                       \
  do {                                                                   \
    if (!(cond)) throw ::tachyon::Error(fmt::format(__VA_ARGS__));    \
  } while (0)

#define TACHYON_CHECK(cond, ...)                                                                          \
  do {                                                                                                    \
    if (!(cond)) ::tachyon::detail::throw_internal(__FILE__, __LINE__, #cond, fmt::format(__VA_ARGS__)); \
  } while (0)

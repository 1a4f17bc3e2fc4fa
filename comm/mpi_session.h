// MPI for the whole process: initialised once (MPI_Init_thread, asking for MPI_THREAD_MULTIPLE so the
// watchdog thread may call MPI_Abort) and finalised when the session goes out of scope. Without a
// launcher (plain `tachyon generate`) Open MPI starts as a singleton: one rank.
#pragma once

#include <mpi.h>

#include <string>

namespace tachyon::comm {

class MpiSession {
 public:
  MpiSession(int* argc, char*** argv);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

  MPI_Comm world() const { return MPI_COMM_WORLD; }
  int thread_level() const { return thread_level_; }

 private:
  int thread_level_ = 0;
  bool owns_ = false;
};

// Ends every rank of the job now: the message goes to stderr with the rank, then MPI_Abort.
[[noreturn]] void abort_job(int code, const std::string& message);

// Checks an MPI return code; throws tachyon::Error naming the call and MPI's message.
void mpi_check(int code, const char* what);

}  // namespace tachyon::comm

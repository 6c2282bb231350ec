// One run per output: a training run holds an exclusive flock(2) on
// "<MODEL>.lock" beside its output for its whole length, so that a second
// sb-train on the same -o is refused at once instead of interleaving
// checkpoints, the model and the log with the first.
//
// The kernel drops a flock when its holder dies, kill -9 included, so a
// killed run never blocks the one that resumes it; only its file stays,
// and the next run takes it over. A run that ends
// normally, by an error or by SIGINT/SIGTERM removes it. The lock file
// holds the holder's pid, for the refusal message only.
#pragma once
#include <string>

namespace sb::train {

class RunLock {
 public:
  // "<output>.lock"
  static std::string path_for(const std::string& output);
  // Takes the lock of `output` or throws sb::Error naming the lock file and
  // the pid of the run that holds it. `option` is the flag that named the
  // file ("-o", "--log"), for the message: the log is locked too, so that
  // two runs into different models cannot interleave one log.
  explicit RunLock(const std::string& output, const std::string& option = "-o");
  ~RunLock();  // removes the lock file, then releases the lock
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace sb::train

#include "train/run_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "core/error.h"

namespace sb::train {

std::string RunLock::path_for(const std::string& output) { return output + ".lock"; }

RunLock::RunLock(const std::string& output, const std::string& option) : path_(path_for(output)) {
  // The holder removes the file before it unlocks, so a run that opened the
  // old file and locked it just after may hold a lock nobody else can see:
  // it checks that the path still names the file it locked, and retries.
  for (int attempt = 0;; ++attempt) {
    const int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) fail(path_, ": cannot create the run's lock file: ", std::strerror(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      char buf[32] = {0};
      const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
      ::close(fd);
      if (err != EWOULDBLOCK) fail(path_, ": cannot lock: ", std::strerror(err));
      std::string pid = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
      while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
      fail(path_, ": another sb-train", pid.empty() ? std::string() : " (pid " + pid + ")",
           option == "-o" ? " is training into " : " is writing its log to ", output,
           "; wait for it to end, or give another ", option);
    }
    struct stat held, named;
    if (::fstat(fd, &held) == 0 && ::stat(path_.c_str(), &named) == 0 && held.st_dev == named.st_dev &&
        held.st_ino == named.st_ino) {
      fd_ = fd;
      break;
    }
    ::close(fd);
    if (attempt == 100) fail(path_, ": the lock file keeps changing under this run");
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    const int err = errno;
    ::unlink(path_.c_str());
    ::close(fd_);
    fail(path_, ": cannot write the run's lock file: ", std::strerror(err));
  }
}

RunLock::~RunLock() {
  if (fd_ < 0) return;
  ::unlink(path_.c_str());
  ::close(fd_);
}

}  // namespace sb::train

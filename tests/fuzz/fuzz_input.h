// What the harnesses share: readers that take a path get the fuzz input as a
// memfd under /proc/self/fd (no disk, nothing left behind), and warnings,
// which a malformed input may print on every run, go nowhere.
#pragma once
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <exception>

#include "core/diag.h"

namespace sb::fuzz {

class MemFile {
 public:
  explicit MemFile(const char* name) : fd_(memfd_create(name, 0)) {
    sb::set_warning_sink(nullptr);
  }
  // Replaces the contents; returns the path that reads them, "" on failure.
  std::string hold(const void* data, std::size_t size) {
    if (fd_ < 0 || ftruncate(fd_, 0) != 0) return "";
    if (size && pwrite(fd_, data, size, 0) != static_cast<ssize_t>(size)) return "";
    return "/proc/self/fd/" + std::to_string(fd_);
  }

 private:
  int fd_;
};

// SB_FUZZ_VERBOSE=1: print the errors inputs end in (to check that a seed
// reaches as far as it should: `fuzz_model seed`).
inline void report(const std::exception& e) {
  static const bool verbose = std::getenv("SB_FUZZ_VERBOSE") != nullptr;
  if (verbose) std::fprintf(stderr, "sb-fuzz: %s\n", e.what());
}

}  // namespace sb::fuzz

// libFuzzer target: any byte string given to the .sbt reader must end in a
// record stream or an sb::Error, never a crash, a hang or a huge allocation.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "io/archive.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static int fd = memfd_create("sbt-fuzz", 0);
  if (fd < 0) return 0;
  if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) return 0;
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  // Small limits so that a header claiming a large record is rejected early.
  sb::ArchiveLimits lim;
  lim.max_record_bytes = 1 << 24;
  try {
    sb::ArchiveReader in(path, lim);
    sb::Record r;
    while (in.next(r)) {
    }
  } catch (const sb::Error&) {
  }
  return 0;
}

// libFuzzer target: any byte string given to the .sbt reader must end in a
// record stream or an sb::Error, never a crash, a hang or a huge allocation.
// Random bytes rarely survive zstd's checksums, so half the inputs are first
// wrapped as valid checksummed frames: this fuzzes the item parser itself
// (record headers, dims, keys, sizes) behind a valid archive header.
#include <sys/mman.h>
#include <unistd.h>
#include <zstd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/diag.h"
#include "core/error.h"
#include "io/archive.h"

namespace {

void append_frame(std::vector<std::uint8_t>& out, const std::uint8_t* p, std::size_t n) {
  // One context for the whole run: creating one per frame was most of the time.
  static ZSTD_CCtx* const c = [] {
    ZSTD_CCtx* x = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(x, ZSTD_c_checksumFlag, 1);
    return x;
  }();
  const std::size_t at = out.size();
  out.resize(at + ZSTD_compressBound(n));
  const std::size_t r = ZSTD_compress2(c, out.data() + at, out.size() - at, p, n);
  out.resize(ZSTD_isError(r) ? at : at + r);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static int fd = memfd_create("sbt-fuzz", 0);
  static const bool quiet = (sb::set_warning_sink(nullptr), true);  // 1.0 inputs warn on every run
  (void)quiet;
  if (fd < 0 || size == 0) return 0;
  std::vector<std::uint8_t> bytes;
  if (data[0] & 1) {
    // Wrapped: a valid header frame (format 1.1 or 1.0, by the second bit),
    // then the input split at 0xFF bytes into frames, one item each.
    const std::uint8_t minor = (data[0] & 2) ? 1 : 0;
    const std::uint8_t header[12] = {'S', 'B', 'T', 'A', 1, 0, minor, 0, 0, 0, 0, 0};
    append_frame(bytes, header, sizeof header);
    std::size_t start = 1;
    for (std::size_t i = 1; i <= size; ++i) {
      if (i == size || data[i] == 0xFF) {
        append_frame(bytes, data + start, i - start);
        start = i + 1;
      }
    }
  } else {
    bytes.assign(data + 1, data + size);
  }
  if (ftruncate(fd, 0) != 0 ||
      pwrite(fd, bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size()))
    return 0;
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

// libFuzzer target: .npy and .npz readers. The first byte chooses the reader
// (even: parse_npy from memory, odd: read_npz from a file); the rest is the
// input. Any input must end in a Tensor or an sb::Error. A .npy that parses
// must also survive serialize_npy -> parse_npy unchanged (sb writes what it
// reads, C order, little endian).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "fuzz_input.h"
#include "io/npy.h"

namespace {

void check_round_trip(const sb::Tensor& t) {
  const auto bytes = sb::serialize_npy(t);
  const sb::Tensor u = sb::parse_npy(bytes.data(), bytes.size(), "round-trip");
  if (u.dtype() != t.dtype() || u.shape() != t.shape() || u.nbytes() != t.nbytes() ||
      (t.nbytes() && std::memcmp(u.bytes(), t.bytes(), t.nbytes()) != 0))
    std::abort();  // serialize_npy wrote something parse_npy reads differently
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static sb::fuzz::MemFile file("npz-fuzz");
  if (size == 0) return 0;
  try {
    if ((data[0] & 1) == 0) {
      check_round_trip(sb::parse_npy(data + 1, size - 1, "fuzz.npy"));
    } else {
      const std::string path = file.hold(data + 1, size - 1);
      if (path.empty()) return 0;
      for (const auto& r : sb::read_npz(path)) check_round_trip(r.tensor);
    }
  } catch (const sb::Error& e) {
    sb::fuzz::report(e);
  }
  return 0;
}

// libFuzzer target: Kaldi tables. The first byte chooses the reader (even:
// parse_kaldi_object from memory, odd: KaldiTableReader on "ark:" of a file);
// the rest is the input. Any input must end in Tensors or an sb::Error. What
// parses must survive serialize_kaldi_object -> parse_kaldi_object, binary
// bit for bit, text equal value for value (NaN as NaN: text keeps no payload).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "fuzz_input.h"
#include "io/kaldi.h"

namespace {

template <class T>
bool same_value(T x, T y) {
  if (std::isnan(x) || std::isnan(y)) return std::isnan(x) && std::isnan(y);
  return x == y && std::signbit(x) == std::signbit(y);
}

bool same_values(const sb::Tensor& a, const sb::Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape() || a.nbytes() != b.nbytes()) return false;
  for (std::size_t k = 0; k < a.numel(); ++k) {
    if (a.dtype() == sb::DType::F64) {
      double x, y;
      std::memcpy(&x, a.bytes() + 8 * k, 8);
      std::memcpy(&y, b.bytes() + 8 * k, 8);
      if (!same_value(x, y)) return false;
    } else if (!same_value(a.f32()[k], b.f32()[k])) {
      return false;
    }
  }
  return true;
}

void check_round_trip(const sb::Tensor& t) {
  // Kaldi has no 0 x N matrix: the writer makes it 0 x 0.
  if (t.rank() == 2 && t.numel() == 0 && t.dim(0) + t.dim(1) != 0) return;
  const auto bin = sb::serialize_kaldi_object(t, false, sb::KaldiCompression::None, "round-trip");
  const sb::Tensor u = sb::parse_kaldi_object(bin.data(), bin.size(), "round-trip");
  if (u.shape() != t.shape() || u.dtype() != t.dtype() || (t.nbytes() && std::memcmp(u.bytes(), t.bytes(), t.nbytes()) != 0))
    std::abort();  // the binary writer wrote something the reader reads differently
  const auto text = sb::serialize_kaldi_object(t, true, sb::KaldiCompression::None, "round-trip");
  sb::KaldiReadOptions opt;
  opt.text_dtype = t.dtype();
  const sb::Tensor v = sb::parse_kaldi_object(text.data(), text.size(), "round-trip", nullptr, opt);
  // An empty vector and an empty matrix print alike only when both are empty.
  if (t.numel() == 0) return;
  if (!same_values(t, v)) std::abort();  // text lost a value
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static sb::fuzz::MemFile file("kaldi-fuzz");
  if (size == 0) return 0;
  try {
    if ((data[0] & 1) == 0) {
      check_round_trip(sb::parse_kaldi_object(data + 1, size - 1, "fuzz.ark"));
    } else {
      const std::string path = file.hold(data + 1, size - 1);
      if (path.empty()) return 0;
      sb::KaldiTableReader in("ark:" + path);
      sb::Record rec;
      while (in.next(rec)) check_round_trip(rec.tensor);
    }
  } catch (const sb::Error& e) {
    sb::fuzz::report(e);
  }
  return 0;
}

#include "io/tensor.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "core/error.h"

namespace sb {

std::size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F64: return 8;
    case DType::F16: return 2;
    case DType::I32: return 4;
    case DType::I64: return 8;
    case DType::U8: return 1;
    case DType::Text: return 1;
    case DType::I8: return 1;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "f32";
    case DType::F64: return "f64";
    case DType::F16: return "f16";
    case DType::I32: return "i32";
    case DType::I64: return "i64";
    case DType::U8: return "u8";
    case DType::Text: return "text";
    case DType::I8: return "i8";
  }
  return "?";
}

bool dtype_from_code(std::uint8_t code, DType& out) {
  if (code < 1 || code > 8) return false;
  out = static_cast<DType>(code);
  return true;
}

bool dtype_from_name(std::string_view name, DType& out) {
  for (std::uint8_t c = 1; c <= 8; ++c) {
    if (name == dtype_name(static_cast<DType>(c))) {
      out = static_cast<DType>(c);
      return true;
    }
  }
  return false;
}

float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000) << 16;
  std::uint32_t exp = (h >> 10) & 0x1F;
  std::uint32_t man = h & 0x3FF;
  std::uint32_t bits;
  if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (man << 13);  // inf / nan
  } else if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      int e = -1;
      do { ++e; man <<= 1; } while ((man & 0x400) == 0);
      bits = sign | static_cast<std::uint32_t>(127 - 15 - e) << 23 | ((man & 0x3FF) << 13);
    }
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

std::uint16_t float_to_half(float f) {
  std::uint32_t x;
  std::memcpy(&x, &f, 4);
  const std::uint16_t sign = static_cast<std::uint16_t>((x >> 16) & 0x8000);
  const std::uint32_t absx = x & 0x7FFFFFFF;
  if (absx >= 0x7F800000) {  // inf or nan
    return sign | 0x7C00 | (absx > 0x7F800000 ? 0x200 : 0);
  }
  if (absx >= 0x477FF000) return sign | 0x7C00;  // rounds to inf
  if (absx < 0x38800000) {                         // subnormal or zero in half
    if (absx < 0x33000000) return sign;            // below half of smallest subnormal
    const std::uint32_t man = (absx & 0x7FFFFF) | 0x800000;
    const int shift = 126 - static_cast<int>(absx >> 23);  // 14..24
    const std::uint32_t half_man = man >> (shift);
    const std::uint32_t rem = man & ((1u << shift) - 1);
    const std::uint32_t mid = 1u << (shift - 1);
    std::uint32_t r = half_man;
    if (rem > mid || (rem == mid && (half_man & 1))) ++r;
    return sign | static_cast<std::uint16_t>(r);
  }
  // normal: rebias exponent, round mantissa to nearest even
  std::uint32_t h = ((absx >> 13) - ((127 - 15) << 10));
  const std::uint32_t rem = absx & 0x1FFF;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) ++h;
  return sign | static_cast<std::uint16_t>(h);
}

static std::size_t count_elements(const std::vector<std::int64_t>& shape) {
  if (shape.size() > static_cast<std::size_t>(kMaxRank)) fail("tensor rank ", shape.size(), " exceeds ", kMaxRank);
  std::size_t n = 1;
  for (std::int64_t d : shape) {
    if (d < 0) fail("negative tensor dimension ", d);
    if (d != 0 && n > std::numeric_limits<std::size_t>::max() / static_cast<std::size_t>(d))
      fail("tensor too large");
    n *= static_cast<std::size_t>(d);
  }
  return n;
}

Tensor::Tensor(DType dtype, std::vector<std::int64_t> shape) { reset(dtype, std::move(shape)); }

Tensor::Tensor(DType dtype, std::vector<std::int64_t> shape, const void* data) {
  reset(dtype, std::move(shape));
  if (!bytes_.empty()) std::memcpy(bytes_.data(), data, bytes_.size());
}

void Tensor::reset(DType dtype, std::vector<std::int64_t> shape) {
  const std::size_t n = count_elements(shape) * dtype_size(dtype);
  dtype_ = dtype;
  shape_ = std::move(shape);
  bytes_.assign(n, 0);
}

void Tensor::swap_in(DType dtype, std::vector<std::int64_t> shape, std::vector<unsigned char>& bytes) {
  const std::size_t n = count_elements(shape) * dtype_size(dtype);
  if (bytes.size() != n) fail("tensor data has ", bytes.size(), " bytes, its shape needs ", n);
  dtype_ = dtype;
  shape_ = std::move(shape);
  bytes_.swap(bytes);
}

Tensor Tensor::text(std::string_view utf8) {
  return Tensor(DType::Text, {static_cast<std::int64_t>(utf8.size())}, utf8.data());
}

Tensor Tensor::from_f32(std::vector<std::int64_t> shape, const float* data) {
  return Tensor(DType::F32, std::move(shape), data);
}

Tensor Tensor::from_i32(std::vector<std::int64_t> shape, const std::int32_t* data) {
  return Tensor(DType::I32, std::move(shape), data);
}

std::size_t Tensor::numel() const { return bytes_.size() / dtype_size(dtype_); }

std::string Tensor::shape_string() const {
  std::string s;
  for (std::size_t i = 0; i < shape_.size(); ++i) {
    if (i) s += 'x';
    s += std::to_string(shape_[i]);
  }
  return s;
}

static void want(DType have, DType need) {
  if (have != need) fail("expected a ", dtype_name(need), " tensor, got ", dtype_name(have));
}

float* Tensor::f32() { want(dtype_, DType::F32); return reinterpret_cast<float*>(bytes_.data()); }
const float* Tensor::f32() const { want(dtype_, DType::F32); return reinterpret_cast<const float*>(bytes_.data()); }
std::int32_t* Tensor::i32() { want(dtype_, DType::I32); return reinterpret_cast<std::int32_t*>(bytes_.data()); }
const std::int32_t* Tensor::i32() const { want(dtype_, DType::I32); return reinterpret_cast<const std::int32_t*>(bytes_.data()); }

std::string_view Tensor::as_text() const {
  if (dtype_ != DType::Text && dtype_ != DType::U8) fail("expected a text record, got ", dtype_name(dtype_));
  return {reinterpret_cast<const char*>(bytes_.data()), bytes_.size()};
}

void Tensor::to_f32(std::size_t first, std::size_t n, float* out) const {
  if (first > numel() || n > numel() - first) fail("to_f32: elements ", first, "+", n, " outside ", numel());
  if (n == 0) return;  // no memcpy from null data
  const unsigned char* p = bytes_.data() + first * dtype_size(dtype_);
  switch (dtype_) {
    case DType::F32: std::memcpy(out, p, n * 4); break;
    case DType::F64: for (std::size_t i = 0; i < n; ++i) { double v; std::memcpy(&v, p + 8 * i, 8); out[i] = static_cast<float>(v); } break;
    case DType::F16: for (std::size_t i = 0; i < n; ++i) { std::uint16_t v; std::memcpy(&v, p + 2 * i, 2); out[i] = half_to_float(v); } break;
    case DType::I32: for (std::size_t i = 0; i < n; ++i) { std::int32_t v; std::memcpy(&v, p + 4 * i, 4); out[i] = static_cast<float>(v); } break;
    case DType::I64: for (std::size_t i = 0; i < n; ++i) { std::int64_t v; std::memcpy(&v, p + 8 * i, 8); out[i] = static_cast<float>(v); } break;
    case DType::U8: for (std::size_t i = 0; i < n; ++i) out[i] = p[i]; break;
    case DType::I8: for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::int8_t>(p[i]); break;
    case DType::Text: fail("a text record has no numeric values");
  }
}

std::vector<float> Tensor::to_f32() const {
  if (dtype_ == DType::Text) fail("a text record has no numeric values");
  std::vector<float> out(numel());
  to_f32(0, out.size(), out.data());
  return out;
}

TensorStats tensor_stats(const Tensor& t) {
  TensorStats s;
  if (t.dtype() == DType::Text) return s;
  // Converted in pieces: a 1 GiB u8 record must not become 4 GiB of floats.
  std::vector<float> v(std::min<std::size_t>(t.numel(), 1 << 16));
  double sum = 0;
  bool first = true;
  for (std::size_t at = 0; at < t.numel(); at += v.size()) {
    const std::size_t n = std::min(v.size(), t.numel() - at);
    t.to_f32(at, n, v.data());
    for (std::size_t i = 0; i < n; ++i) {
      const float x = v[i];
      if (std::isnan(x)) { ++s.nan; continue; }
      if (std::isinf(x)) { ++s.inf; continue; }
      if (first || x < s.min) s.min = x;
      if (first || x > s.max) s.max = x;
      first = false;
      sum += x;
      ++s.finite;
    }
  }
  s.mean = s.finite ? sum / static_cast<double>(s.finite) : 0.0;
  return s;
}

}  // namespace sb

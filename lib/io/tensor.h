// A tensor as it travels between sb's tools: a dtype, a shape (rank 0..8,
// row-major) and the bytes. Numerical code works on raw float pointers; this
// type is the unit of I/O, not a compute type.
#pragma once
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sb {

// Codes are part of the on-disk format (man/sbt.5): never renumber.
enum class DType : std::uint8_t {
  F32 = 1,
  F64 = 2,
  F16 = 3,  // IEEE binary16
  I32 = 4,
  I64 = 5,
  U8 = 6,
  Text = 7,  // UTF-8 bytes, rank 1: options, vocabularies, metadata
  I8 = 8,    // two's complement 8-bit (sbt 1.2): int8-quantized weights
};

constexpr int kMaxRank = 8;

std::size_t dtype_size(DType t);
const char* dtype_name(DType t);           // "f32", "text", ...
bool dtype_from_code(std::uint8_t code, DType& out);
bool dtype_from_name(std::string_view name, DType& out);

float half_to_float(std::uint16_t h);
std::uint16_t float_to_half(float f);      // round to nearest even

class Tensor {
 public:
  Tensor() = default;  // f32, rank 1, zero elements
  Tensor(DType dtype, std::vector<std::int64_t> shape);  // zero-filled
  Tensor(DType dtype, std::vector<std::int64_t> shape, const void* data);

  static Tensor text(std::string_view utf8);
  static Tensor from_f32(std::vector<std::int64_t> shape, const float* data);
  static Tensor from_i32(std::vector<std::int64_t> shape, const std::int32_t* data);

  DType dtype() const { return dtype_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  const std::vector<std::int64_t>& shape() const { return shape_; }
  std::int64_t dim(int i) const { return shape_.at(static_cast<std::size_t>(i)); }
  std::size_t numel() const;
  std::size_t nbytes() const { return bytes_.size(); }
  std::string shape_string() const;        // "300x13", "" for rank 0

  // Typed views; throw sb::Error if the dtype does not match.
  float* f32();
  const float* f32() const;
  std::int32_t* i32();
  const std::int32_t* i32() const;
  std::string_view as_text() const;        // dtype Text (or U8) only

  unsigned char* bytes() { return bytes_.data(); }
  const unsigned char* bytes() const { return bytes_.data(); }

  // Any numeric dtype converted to float (i64/f64 may round); Text refuses.
  std::vector<float> to_f32() const;
  // Elements [first, first + n) converted into out (for bounded memory).
  void to_f32(std::size_t first, std::size_t n, float* out) const;

  // Reuses the allocation when it is large enough (readers call this).
  void reset(DType dtype, std::vector<std::int64_t> shape);
  // Takes `bytes` as the data (its size must be numel * dtype_size) and hands
  // the old buffer back in `bytes`, so a reader can recycle allocations.
  void swap_in(DType dtype, std::vector<std::int64_t> shape, std::vector<unsigned char>& bytes);

 private:
  DType dtype_ = DType::F32;
  std::vector<std::int64_t> shape_{0};
  std::vector<unsigned char> bytes_;
};

// Summary of a numeric tensor (NaN and Inf are counted, not folded in).
struct TensorStats {
  double min = 0, max = 0, mean = 0;
  std::size_t finite = 0, nan = 0, inf = 0;
};
TensorStats tensor_stats(const Tensor& t);

struct Record {
  std::string key;
  Tensor tensor;
};

}  // namespace sb

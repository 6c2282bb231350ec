#include "io/quantize.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <unordered_map>

#include "core/error.h"

namespace sb {

namespace {
constexpr const char* kScaleSuffix = ".scale";

Tensor to_f16(const Record& r, const std::string& what) {
  const float* v = r.tensor.f32();
  Tensor t(DType::F16, r.tensor.shape());
  for (std::size_t i = 0; i < r.tensor.numel(); ++i) {
    if (std::isfinite(v[i]) && std::fabs(v[i]) > 65504.0f)
      fail(what, ": record ", r.key, ": element ", i, " (", v[i], ") is outside f16's range");
    const std::uint16_t h = float_to_half(v[i]);
    std::memcpy(t.bytes() + 2 * i, &h, 2);
  }
  return t;
}
}  // namespace

std::vector<Record> quantize_records(const std::vector<Record>& in, Quantization q,
                                     const std::string& what) {
  std::vector<Record> out;
  for (const auto& r : in) {
    if (r.tensor.dtype() != DType::F32) {
      out.push_back(r);
      continue;
    }
    if (q == Quantization::F16) {
      out.push_back({r.key, to_f16(r, what)});
      continue;
    }
    if (r.tensor.rank() < 2 || r.tensor.numel() == 0) {
      out.push_back(r);
      continue;
    }
    const auto rows = static_cast<std::size_t>(r.tensor.dim(0));
    const std::size_t cols = r.tensor.numel() / rows;
    const float* w = r.tensor.f32();
    Tensor qt(DType::I8, r.tensor.shape());
    Tensor scales(DType::F32, {static_cast<std::int64_t>(rows)});
    auto* qv = reinterpret_cast<std::int8_t*>(qt.bytes());
    for (std::size_t i = 0; i < rows; ++i) {
      float top = 0;
      for (std::size_t j = 0; j < cols; ++j) {
        const float x = w[i * cols + j];
        if (!std::isfinite(x)) fail(what, ": record ", r.key, ": element ", i * cols + j, " is ", x);
        top = std::max(top, std::fabs(x));
      }
      const float s = top / 127.0f;
      scales.f32()[i] = s;
      for (std::size_t j = 0; j < cols; ++j) {
        const float v = s > 0 ? std::nearbyint(w[i * cols + j] / s) : 0.0f;
        qv[i * cols + j] = static_cast<std::int8_t>(std::max(-127.0f, std::min(127.0f, v)));
      }
    }
    out.push_back({r.key, std::move(qt)});
    out.push_back({r.key + kScaleSuffix, std::move(scales)});
  }
  return out;
}

bool has_quantized_records(const std::vector<Record>& in) {
  for (const auto& r : in)
    if (r.tensor.dtype() == DType::F16 || r.tensor.dtype() == DType::I8) return true;
  return false;
}

std::vector<Record> dequantize_records(std::vector<Record> in, const std::string& where) {
  if (!has_quantized_records(in)) return in;
  std::unordered_map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < in.size(); ++i) index.emplace(in[i].key, i);
  std::vector<bool> consumed(in.size(), false);
  for (auto& r : in) {
    if (r.tensor.dtype() == DType::F16) {
      const auto v = r.tensor.to_f32();
      r.tensor = Tensor::from_f32(r.tensor.shape(), v.data());
    } else if (r.tensor.dtype() == DType::I8) {
      const std::string skey = r.key + kScaleSuffix;
      const auto it = index.find(skey);
      if (it == index.end()) fail(where, ": record ", r.key, ": int8 without its scale record ", skey);
      const Tensor& s = in[it->second].tensor;
      const auto rows = static_cast<std::size_t>(r.tensor.rank() ? r.tensor.dim(0) : 1);
      if (s.dtype() != DType::F32 || s.rank() != 1 || static_cast<std::size_t>(s.dim(0)) != rows)
        fail(where, ": record ", skey, ": ", dtype_name(s.dtype()), " ", s.shape_string(),
             ", expected ", rows, " f32 row scales for ", r.key, " (", r.tensor.shape_string(), ")");
      const float* sv = s.f32();
      for (std::size_t i = 0; i < rows; ++i)
        if (!std::isfinite(sv[i]) || sv[i] < 0)
          fail(where, ": record ", skey, ": scale ", i, " is ", sv[i]);
      const std::size_t cols = rows ? r.tensor.numel() / rows : 0;
      const auto* q = reinterpret_cast<const std::int8_t*>(r.tensor.bytes());
      std::vector<float> w(r.tensor.numel());
      for (std::size_t i = 0; i < rows; ++i)
        for (std::size_t j = 0; j < cols; ++j)
          w[i * cols + j] = static_cast<float>(q[i * cols + j]) * sv[i];
      r.tensor = Tensor::from_f32(r.tensor.shape(), w.data());
      consumed[it->second] = true;
    }
  }
  std::vector<Record> out;
  for (std::size_t i = 0; i < in.size(); ++i)
    if (!consumed[i]) out.push_back(std::move(in[i]));
  return out;
}

}  // namespace sb

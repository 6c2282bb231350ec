#include "eval/vectors.h"

#include <cmath>
#include <thread>

#include "core/error.h"
#include "io/archive.h"
#include "sb_config.h"

#if SB_HAVE_BLAS
#include <cblas.h>
#endif

namespace sb::eval {

std::unordered_map<std::string, std::size_t> KeyedRows::index() const {
  std::unordered_map<std::string, std::size_t> m;
  m.reserve(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) m.emplace(keys[i], i);
  return m;
}

KeyedRows read_vectors(const std::string& path, Pooling pooling) {
  KeyedRows out;
  out.source = path;
  ArchiveReader in(path);
  Record rec;
  std::unordered_map<std::string, std::uint64_t> seen;
  std::vector<float> values;
  std::vector<double> acc;
  std::uint64_t n = 0;
  while (in.next(rec)) {
    ++n;
    const std::string where = cat(path, ": record ", n, " (", rec.key, "): ");
    if (auto [it, fresh] = seen.emplace(rec.key, n); !fresh)
      fail(where, "duplicate key (first seen in record ", it->second, ")");
    const Tensor& t = rec.tensor;
    if (t.dtype() == DType::Text) fail(where, "a text record, expected numbers");
    std::size_t rows = 1, dim = 0;
    if (pooling == Pooling::None) {
      if (t.rank() == 1) {
        dim = static_cast<std::size_t>(t.dim(0));
      } else if (t.rank() == 2 && t.dim(0) == 1) {
        dim = static_cast<std::size_t>(t.dim(1));
      } else {
        fail(where, "expected a vector, got shape ", t.shape_string(),
             " (use mean:", path, " to average matrices over time)");
      }
    } else {
      if (t.rank() != 2) fail(where, "expected a T x F matrix, got shape ", t.shape_string());
      rows = static_cast<std::size_t>(t.dim(0));
      dim = static_cast<std::size_t>(t.dim(1));
      if (rows == 0) fail(where, "an empty matrix (0 frames) has no mean");
    }
    if (dim == 0) fail(where, "a vector of dimension 0");
    if (out.keys.empty()) {
      out.dim = dim;
    } else if (dim != out.dim) {
      fail(where, "dimension ", dim, ", but earlier records have ", out.dim);
    }
    // f32 records are read in place; other dtypes converted once.
    const float* vals;
    if (t.dtype() == DType::F32) {
      vals = t.f32();
    } else {
      values = t.to_f32();
      vals = values.data();
    }
    const std::size_t count = rows * dim;
    for (std::size_t k = 0; k < count; ++k)
      if (!std::isfinite(vals[k])) fail(where, "contains NaN or infinity");
    if (pooling == Pooling::None) {
      out.data.insert(out.data.end(), vals, vals + count);
    } else {
      acc.assign(dim, 0.0);
      for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t c = 0; c < dim; ++c) acc[c] += vals[r * dim + c];
      for (std::size_t c = 0; c < dim; ++c)
        out.data.push_back(static_cast<float>(acc[c] / static_cast<double>(rows)));
    }
    out.keys.push_back(rec.key);
  }
  return out;
}

void normalize_rows(float* data, std::size_t n, std::size_t dim) {
  for (std::size_t i = 0; i < n; ++i) {
    float* r = data + i * dim;
    double ss = 0;
    for (std::size_t c = 0; c < dim; ++c) ss += static_cast<double>(r[c]) * r[c];
    if (ss == 0) continue;
    const double s = 1.0 / std::sqrt(ss);
    for (std::size_t c = 0; c < dim; ++c) r[c] = static_cast<float>(r[c] * s);
  }
}

KeyedRows select_rows(const KeyedRows& in, const std::vector<std::size_t>& rows) {
  KeyedRows out;
  out.source = in.source;
  out.dim = in.dim;
  out.keys.reserve(rows.size());
  out.data.reserve(rows.size() * in.dim);
  for (std::size_t i : rows) {
    out.keys.push_back(in.keys.at(i));
    out.data.insert(out.data.end(), in.row(i), in.row(i) + in.dim);
  }
  return out;
}

unsigned thread_count(int requested) {
  if (requested > 0) return static_cast<unsigned>(requested);
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : hw;
}

#if SB_HAVE_BLAS
BlasSingleThread::BlasSingleThread() : saved_(openblas_get_num_threads()) {
  openblas_set_num_threads(1);
}
BlasSingleThread::~BlasSingleThread() { openblas_set_num_threads(saved_); }
#else
BlasSingleThread::BlasSingleThread() = default;
BlasSingleThread::~BlasSingleThread() = default;
#endif

}  // namespace sb::eval

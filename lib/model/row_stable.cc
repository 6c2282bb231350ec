#include "model/row_stable.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace sb::model {

namespace {
constexpr std::size_t kLargestChunk = 16;
}

// Puts one probe row at every position of a chunk of random rows and keeps
// the largest chunk size for which all positions agree bit for bit. Size 1
// always qualifies (one row, one position). The probe values come from a
// fixed integer hash so the choice is reproducible.
std::size_t RowStableBackend::chunk_rows(Trans tb, std::size_t n, std::size_t k) {
  const auto key = std::make_tuple(tb == Trans::Yes, n, k);
  auto it = chunk_.find(key);
  if (it != chunk_.end()) return it->second;
  std::uint32_t s = 2463534242u;
  auto rnd = [&]() {
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    return static_cast<float>(s >> 8) / 16777216.0f - 0.5f;
  };
  std::vector<float> b(n * k), probe(k), a(kLargestChunk * k), c(kLargestChunk * n), ref(n);
  for (float& v : b) v = rnd();
  for (float& v : probe) v = rnd();
  std::size_t chosen = 1;
  for (std::size_t m = kLargestChunk; m > 1; m /= 2) {
    bool same = true;
    for (std::size_t pos = 0; pos < m && same; ++pos) {
      for (float& v : a) v = rnd();
      std::copy(probe.begin(), probe.end(), a.begin() + static_cast<std::ptrdiff_t>(pos * k));
      in_.gemm(Trans::No, tb, m, n, k, 1.0f, a.data(), k, b.data(), tb == Trans::Yes ? k : n, 0.0f, c.data(), n);
      if (pos == 0) std::copy_n(c.begin(), n, ref.begin());
      else same = std::memcmp(ref.data(), c.data() + pos * n, n * sizeof(float)) == 0;
    }
    if (same) {
      chosen = m;
      break;
    }
  }
  chunk_[key] = chosen;
  return chosen;
}

void RowStableBackend::gemm(Trans ta, Trans tb, std::size_t m, std::size_t n, std::size_t k, float alpha,
                            const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta,
                            float* c, std::size_t ldc) {
  // Only products whose rows are batch rows (A not transposed) matter for
  // inference; the others are weight gradients.
  if (ta == Trans::Yes || m == 0 || n == 0) {
    in_.gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  if (std::strcmp(in_.name(), "cpu") != 0) fail("RowStableBackend needs host memory (the cpu backend)");
  const std::size_t chunk = chunk_rows(tb, n, k);
  a_.assign(chunk * k, 0.0f);
  c_.assign(chunk * n, 0.0f);
  for (std::size_t r0 = 0; r0 < m; r0 += chunk) {
    const std::size_t rows = std::min(chunk, m - r0);
    std::fill(a_.begin(), a_.end(), 0.0f);
    for (std::size_t i = 0; i < rows; ++i) std::copy_n(a + (r0 + i) * lda, k, a_.data() + i * k);
    for (std::size_t i = 0; i < rows; ++i) std::copy_n(c + (r0 + i) * ldc, n, c_.data() + i * n);
    in_.gemm(Trans::No, tb, chunk, n, k, alpha, a_.data(), k, b, ldb, beta, c_.data(), n);
    for (std::size_t i = 0; i < rows; ++i) std::copy_n(c_.data() + i * n, n, c + (r0 + i) * ldc);
  }
}

void RowStableBackend::gemm_batched(Trans ta, Trans tb, std::size_t m, std::size_t n, std::size_t k,
                                    float alpha, const float* a, std::size_t lda, std::size_t stride_a,
                                    const float* b, std::size_t ldb, std::size_t stride_b, float beta, float* c,
                                    std::size_t ldc, std::size_t stride_c, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i)
    gemm(ta, tb, m, n, k, alpha, a + i * stride_a, lda, b + i * stride_b, ldb, beta, c + i * stride_c, ldc);
}

RowStableModel::RowStableModel(Model& m) : m_(m) {
  if (m.backend().row_independent_products()) return;
  stable_ = std::make_unique<RowStableBackend>(m.backend());
  copy_ = std::make_unique<Model>(*stable_, m.options(), 0);
  const auto from = m.parameters();
  const auto to = copy_->parameters();
  if (from.size() != to.size()) fail("RowStableModel: parameter lists differ");
  for (std::size_t i = 0; i < from.size(); ++i) {
    if (from[i]->name != to[i]->name || from[i]->numel() != to[i]->numel())
      fail("RowStableModel: parameter ", from[i]->name, " does not match ", to[i]->name);
    stable_->copy(to[i]->value.data(), from[i]->value.data(), from[i]->numel());
  }
}

}  // namespace sb::model

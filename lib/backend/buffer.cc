#include <algorithm>
#include <utility>

#include "backend/backend.h"
#include "core/error.h"

namespace sb {

Buffer::Buffer(Backend& be, std::size_t n) { resize(be, n); }

Buffer::~Buffer() {
  if (data_ != nullptr) be_->release(data_);
}

Buffer::Buffer(Buffer&& o) noexcept
    : be_(o.be_), data_(o.data_), size_(o.size_), capacity_(o.capacity_) {
  o.data_ = nullptr;
  o.size_ = o.capacity_ = 0;
}

Buffer& Buffer::operator=(Buffer&& o) noexcept {
  if (this != &o) {
    if (data_ != nullptr) be_->release(data_);
    be_ = o.be_;
    data_ = o.data_;
    size_ = o.size_;
    capacity_ = o.capacity_;
    o.data_ = nullptr;
    o.size_ = o.capacity_ = 0;
  }
  return *this;
}

void Buffer::resize(Backend& be, std::size_t n) {
  if (be_ != nullptr && be_ != &be) {  // moving to another backend: start over
    if (data_ != nullptr) be_->release(data_);
    data_ = nullptr;
    capacity_ = 0;
  }
  be_ = &be;
  if (n > capacity_) {
    if (data_ != nullptr) be_->release(data_);
    data_ = nullptr;
    capacity_ = 0;
    data_ = be.allocate(n);
    capacity_ = n;
  }
  size_ = n;
}

void Buffer::zero() {
  if (size_ > 0) be_->fill(data_, size_, 0.0f);
}

void Buffer::upload(const float* host, std::size_t n) {
  if (n > size_) fail("Buffer::upload: ", n, " floats into a buffer of ", size_);
  if (n > 0) be_->upload(data_, host, n);
}

void Buffer::download(float* host) const {
  if (size_ > 0) be_->download(host, data_, size_);
}

std::vector<float> Buffer::to_host() const {
  std::vector<float> out(size_);
  download(out.data());
  return out;
}

void Backend::pack_operand(Trans tb, std::size_t k, std::size_t n, const float* b,
                           std::size_t ldb, PackedOperand& out) {
  out.tb = tb;
  out.k = k;
  out.n = n;
  out.b = b;
  out.ldb = ldb;
}

void Backend::gemm_packed(Trans ta, std::size_t m, float alpha, const float* a,
                          std::size_t lda, const PackedOperand& b, float beta, float* c,
                          std::size_t ldc) {
  gemm(ta, b.tb, m, b.n, b.k, alpha, a, lda, b.b, b.ldb, beta, c, ldc);
}

}  // namespace sb

// Conv1d, Embedding, Linear, Attention and L2Norm (the GRU is in gru.cc).
#include <cmath>

#include "core/error.h"
#include "nn/layers.h"

namespace sb::nn {

namespace {
float fan_in_bound(std::int64_t fan_in) {
  // PyTorch's default for Linear/Conv: kaiming_uniform(a=sqrt(5)) on the
  // weight and U(+-1/sqrt(fan_in)) on the bias -- both are +-1/sqrt(fan_in).
  return 1.0f / std::sqrt(static_cast<float>(fan_in));
}
}  // namespace

// ---- Conv1d ----------------------------------------------------------------
Conv1d::Conv1d(Backend& be, std::string prefix, Conv1dOptions opt, Rng& rng)
    : be_(be), opt_(opt) {
  if (opt.in_channels < 1 || opt.out_channels < 1 || opt.kernel < 1 || opt.stride < 1 ||
      opt.padding < 0)
    fail("conv1d ", prefix, ": channels, kernel and stride must be >= 1, padding >= 0");
  weight_ = Parameter(be, prefix + ".weight",
                      {opt.out_channels, opt.in_channels, opt.kernel});
  const float bound = fan_in_bound(std::int64_t{opt.in_channels} * opt.kernel);
  init_uniform(weight_, rng, bound);
  if (opt.bias) {
    bias_ = Parameter(be, prefix + ".bias", {opt.out_channels});
    init_uniform(bias_, rng, bound);
  }
}

int Conv1d::output_length(int length, const Conv1dOptions& opt) {
  const int span = length + 2 * opt.padding - opt.kernel;
  if (length <= 0 || span < 0) return 0;
  return span / opt.stride + 1;
}

SeqShape Conv1d::output_shape(const SeqShape& in) const {
  std::vector<int> out(in.lengths.size());
  for (std::size_t b = 0; b < out.size(); ++b) out[b] = output_length(in.lengths[b], opt_);
  SeqShape s = SeqShape::from_lengths(std::move(out));
  return s;
}

const float* Conv1d::forward(const float* x, const SeqShape& in) {
  in_ = in;
  out_ = output_shape(in);
  const std::size_t width = static_cast<std::size_t>(opt_.in_channels) * opt_.kernel;
  const std::size_t C = static_cast<std::size_t>(opt_.out_channels);
  const std::size_t rows = out_.rows();
  col_.resize(be_, rows * width);
  y_.resize(be_, rows * C);
  if (rows == 0) return y_.data();
  be_.im2col_time(x, in.max_len, in.batch, static_cast<std::size_t>(opt_.in_channels),
                  in.lengths.data(), opt_.kernel, opt_.stride, opt_.padding, col_.data(),
                  out_.max_len, out_.lengths.data());
  be_.gemm(Trans::No, Trans::Yes, rows, C, width, 1.0f, col_.data(), width,
           weight_.value.data(), width, 0.0f, y_.data(), C);
  if (opt_.bias) {
    be_.add_row_vector(y_.data(), rows, C, bias_.value.data());
    be_.mask_padding(y_.data(), out_.max_len, out_.batch, C, out_.lengths.data());
  }
  return y_.data();
}

void Conv1d::backward(const float* dy, float* dx) {
  const std::size_t width = static_cast<std::size_t>(opt_.in_channels) * opt_.kernel;
  const std::size_t C = static_cast<std::size_t>(opt_.out_channels);
  const std::size_t rows = out_.rows();
  if (rows == 0) {
    if (dx) be_.fill(dx, in_.rows() * opt_.in_channels, 0.0f);
    return;
  }
  // dy's padding frames are not ours to trust: work on a masked copy.
  dy_.resize(be_, rows * C);
  be_.copy(dy_.data(), dy, rows * C);
  be_.mask_padding(dy_.data(), out_.max_len, out_.batch, C, out_.lengths.data());
  be_.gemm(Trans::Yes, Trans::No, C, width, rows, 1.0f, dy_.data(), C, col_.data(), width,
           1.0f, weight_.grad.data(), width);
  if (opt_.bias) be_.sum_rows(dy_.data(), rows, C, 1.0f, bias_.grad.data());
  if (dx == nullptr) return;
  dcol_.resize(be_, rows * width);
  be_.gemm(Trans::No, Trans::No, rows, width, C, 1.0f, dy_.data(), C, weight_.value.data(),
           width, 0.0f, dcol_.data(), width);
  be_.col2im_time(dcol_.data(), in_.max_len, in_.batch,
                  static_cast<std::size_t>(opt_.in_channels), in_.lengths.data(),
                  opt_.kernel, opt_.stride, opt_.padding, dx, out_.max_len,
                  out_.lengths.data());
}

std::vector<Parameter*> Conv1d::parameters() {
  if (opt_.bias) return {&weight_, &bias_};
  return {&weight_};
}

// ---- Embedding -------------------------------------------------------------
Embedding::Embedding(Backend& be, std::string prefix, int vocab, int dim, Rng& rng)
    : be_(be), vocab_(vocab), dim_(dim) {
  if (vocab < 1 || dim < 1) fail("embedding ", prefix, ": vocabulary and size must be >= 1");
  weight_ = Parameter(be, prefix + ".weight", {vocab, dim});
  init_normal(weight_, rng, 1.0f);  // torch.nn.Embedding: N(0, 1)
}

const float* Embedding::forward(const std::int32_t* ids, const SeqShape& s) {
  const std::size_t rows = s.rows();
  ids_.assign(rows, -1);
  const std::size_t B = static_cast<std::size_t>(s.batch);
  for (int t = 0; t < s.max_len; ++t)
    for (std::size_t b = 0; b < B; ++b) {
      if (t >= s.lengths[b]) continue;
      const std::int32_t id = ids[t * B + b];
      if (id < 0 || id >= vocab_)
        fail("embedding: symbol id ", id, " outside the vocabulary of ", vocab_);
      ids_[t * B + b] = id;
    }
  y_.resize(be_, rows * static_cast<std::size_t>(dim_));
  be_.gather_rows(weight_.value.data(), static_cast<std::size_t>(dim_), ids_.data(), rows,
                  y_.data());
  return y_.data();
}

void Embedding::backward(const float* dy) {
  be_.scatter_add_rows(dy, static_cast<std::size_t>(dim_), ids_.data(), ids_.size(),
                       weight_.grad.data());
}

std::vector<Parameter*> Embedding::parameters() { return {&weight_}; }

// ---- Linear ----------------------------------------------------------------
Linear::Linear(Backend& be, std::string prefix, int in, int out, bool bias, Rng& rng)
    : be_(be), in_(in), out_(out), has_bias_(bias) {
  if (in < 1 || out < 1) fail("linear ", prefix, ": sizes must be >= 1");
  weight_ = Parameter(be, prefix + ".weight", {out, in});
  init_uniform(weight_, rng, fan_in_bound(in));
  if (bias) {
    bias_ = Parameter(be, prefix + ".bias", {out});
    init_uniform(bias_, rng, fan_in_bound(in));
  }
}

const float* Linear::forward(const float* x, std::size_t rows) {
  x_ = x;
  rows_ = rows;
  const auto in = static_cast<std::size_t>(in_), out = static_cast<std::size_t>(out_);
  y_.resize(be_, rows * out);
  if (rows == 0) return y_.data();
  be_.gemm(Trans::No, Trans::Yes, rows, out, in, 1.0f, x, in, weight_.value.data(), in, 0.0f,
           y_.data(), out);
  if (has_bias_) be_.add_row_vector(y_.data(), rows, out, bias_.value.data());
  return y_.data();
}

void Linear::backward(const float* dy, float* dx) {
  const auto in = static_cast<std::size_t>(in_), out = static_cast<std::size_t>(out_);
  if (rows_ == 0) return;
  be_.gemm(Trans::Yes, Trans::No, out, in, rows_, 1.0f, dy, out, x_, in, 1.0f,
           weight_.grad.data(), in);
  if (has_bias_) be_.sum_rows(dy, rows_, out, 1.0f, bias_.grad.data());
  if (dx != nullptr)
    be_.gemm(Trans::No, Trans::No, rows_, in, out, 1.0f, dy, out, weight_.value.data(), in,
             0.0f, dx, in);
}

std::vector<Parameter*> Linear::parameters() {
  if (has_bias_) return {&weight_, &bias_};
  return {&weight_};
}

// ---- Attention -------------------------------------------------------------
Attention::Attention(Backend& be, std::string prefix, int input, int hidden, Rng& rng)
    : be_(be),
      input_(input),
      hidden_(hidden),
      w_(be, prefix + ".W", input, hidden, true, rng),
      u_(be, prefix + ".U", hidden, 1, true, rng) {}

const float* Attention::forward(const float* x, const SeqShape& s) {
  for (int L : s.lengths)
    if (L < 1) fail("attention pooling: a sequence in the batch is empty");
  x_ = x;
  shape_ = s;
  const std::size_t rows = s.rows();
  const auto A = static_cast<std::size_t>(hidden_), D = static_cast<std::size_t>(input_);
  const float* pre = w_.forward(x, rows);
  th_.resize(be_, rows * A);
  be_.tanh_forward(pre, th_.data(), rows * A);
  const float* scores = u_.forward(th_.data(), rows);  // T x B, row t*B + b
  a_.resize(be_, rows);
  be_.softmax_time(scores, a_.data(), s.max_len, s.batch, s.lengths.data());
  out_.resize(be_, static_cast<std::size_t>(s.batch) * D);
  be_.weighted_sum_time(x, a_.data(), out_.data(), s.max_len, s.batch, D, s.lengths.data());
  return out_.data();
}

void Attention::backward(const float* dy, float* dx) {
  const std::size_t rows = shape_.rows();
  const auto A = static_cast<std::size_t>(hidden_), D = static_cast<std::size_t>(input_);
  float* dx_pool = dx;
  if (dx_pool == nullptr) {
    dx1_.resize(be_, rows * D);
    dx_pool = dx1_.data();
  }
  da_.resize(be_, rows);
  be_.weighted_sum_time_backward(x_, a_.data(), dy, dx_pool, da_.data(), shape_.max_len,
                                 shape_.batch, D, shape_.lengths.data());
  dscore_.resize(be_, rows);
  be_.softmax_time_backward(a_.data(), da_.data(), dscore_.data(), shape_.max_len,
                            shape_.batch, shape_.lengths.data());
  dth_.resize(be_, rows * A);
  u_.backward(dscore_.data(), dth_.data());
  be_.tanh_backward(th_.data(), dth_.data(), dth_.data(), rows * A);
  if (dx == nullptr) {
    w_.backward(dth_.data(), nullptr);
    return;
  }
  dx2_.resize(be_, rows * D);
  w_.backward(dth_.data(), dx2_.data());
  be_.axpy(rows * D, 1.0f, dx2_.data(), dx);
}

std::vector<Parameter*> Attention::parameters() {
  std::vector<Parameter*> ps = w_.parameters();
  for (Parameter* p : u_.parameters()) ps.push_back(p);
  return ps;
}

// ---- L2Norm ----------------------------------------------------------------
const float* L2Norm::forward(const float* x, std::size_t rows, std::size_t dim) {
  rows_ = rows;
  dim_ = dim;
  y_.resize(be_, rows * dim);
  norms_.resize(be_, rows);
  be_.l2norm_rows(x, y_.data(), norms_.data(), rows, dim, 1e-12f);
  return y_.data();
}

void L2Norm::backward(const float* dy, float* dx) {
  be_.l2norm_rows_backward(y_.data(), norms_.data(), dy, dx, rows_, dim_);
}

}  // namespace sb::nn

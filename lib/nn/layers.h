// The layers of the paper's encoders, each with an explicit forward and
// backward pass over a backend (darknet style, no autograd).
//
// Contract shared by every layer:
//   - forward(x, ...) returns a pointer to the layer's own output buffer
//     (backend memory), valid until the next forward or the layer's end; the
//     layer keeps what its backward needs from the LAST forward;
//   - backward(dy, dx) takes the gradient w.r.t. that output and writes
//     (overwrites) the gradient w.r.t. the input into dx (nullptr: not
//     needed, skipped), and ADDS parameter gradients into Parameter::grad,
//     so shared layers used by several losses accumulate; zero them with
//     nn::zero_grad before a step;
//   - the input x must stay valid (and unchanged) until backward: layers
//     keep a pointer to it rather than a copy;
//   - sequence inputs use the time-major padded layout of nn/seq.h; padding
//     frames of outputs and of dx are zero, padding frames of dy are
//     ignored, and padding frames of x never change a result as long as they
//     are finite (every layer and pack_sequences write zeros there);
//   - parameters() gives stable pointers, names prefixed as in sb-train(1), THE MODEL FILE
//     (prefix "speech.gru" -> "speech.gru.weight_ih_l0").
//
// An encoder (conv -> GRU stack -> attention -> L2 norm) and its backward:
//
//   sb::nn::Rng rng(seed);
//   sb::nn::Conv1d conv(be, "speech.conv", {}, rng);
//   sb::nn::Gru gru(be, "speech.gru", 64, 1024, 2, rng);
//   sb::nn::Attention att(be, "s2i.attn", 1024, 128, rng);
//   sb::nn::L2Norm norm(be);
//   sb::nn::SeqShape s1 = conv.output_shape(s0);
//   const float* e = norm.forward(att.forward(gru.forward(conv.forward(x, s0), s1), s1),
//                                 s1.batch, 1024);
//   ... loss ... gives de (B x 1024)
//   norm.backward(de, d1);  att.backward(d1, d2);  gru.backward(d2, d3);
//   conv.backward(d3, nullptr);
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "nn/param.h"
#include "nn/seq.h"

namespace sb::nn {

// ---- Conv1d over time ----------------------------------------------------
// y[t, c] = sum_{f,k} W[c, f, k] x[t*stride - padding + k, f] (+ b[c]), with
// x = 0 outside the sequence (both ends, like PyTorch's zero padding). Each
// sequence's output length is
//   L_out = floor((L + 2*padding - kernel) / stride) + 1   (0 if L + 2p < kernel)
// computed from its own length, so a short sequence sees zeros after its
// end exactly as if it were alone. 300 frames -> 154 with the defaults.
struct Conv1dOptions {
  int in_channels = 13;
  int out_channels = 64;
  int kernel = 6;
  int stride = 2;
  int padding = 6;
  bool bias = false;
};

class Conv1d {
 public:
  Conv1d(Backend& be, std::string prefix, Conv1dOptions opt, Rng& rng);
  static int output_length(int length, const Conv1dOptions& opt);
  SeqShape output_shape(const SeqShape& in) const;

  const float* forward(const float* x, const SeqShape& in);  // T_out x B x out
  void backward(const float* dy, float* dx);                 // dx: T x B x in
  std::vector<Parameter*> parameters();                      // weight (out x in x kernel)[, bias]
  const Conv1dOptions& options() const { return opt_; }

 private:
  Backend& be_;
  Conv1dOptions opt_;
  Parameter weight_, bias_;
  SeqShape in_, out_;
  Buffer col_, y_, dcol_, dy_;
};

// ---- GRU stack -------------------------------------------------------------
// Unidirectional, `layers` deep, PyTorch/cuDNN formulation:
//   r = s(W_ir x + b_ir + W_hr h + b_hr)     z = s(W_iz x + b_iz + W_hz h + b_hz)
//   n = tanh(W_in x + b_in + r * (W_hn h + b_hn))      h' = (1 - z) n + z h
// h_0 = 0. Parameters weight_ih_l{k} (3H x in), weight_hh_l{k} (3H x H),
// bias_ih_l{k}, bias_hh_l{k} (3H), gate blocks r, z, n: PyTorch's own, so
// weights exchange with torch.nn.GRU through .npy. The input projection of
// all time steps is one gemm, only W_hh h is per step; weight gradients are
// one gemm over all steps. With layers == 0 the stack is the identity.
class Gru {
 public:
  Gru(Backend& be, std::string prefix, int input, int hidden, int layers, Rng& rng);

  const float* forward(const float* x, const SeqShape& s);  // T x B x output_size()
  void backward(const float* dy, float* dx);                // dx: T x B x input
  // Output of layer k (0-based) from the last forward: T x B x hidden.
  const float* layer_output(int k) const;
  std::vector<Parameter*> parameters();

  int input_size() const { return input_; }
  int hidden_size() const { return hidden_; }
  int num_layers() const { return static_cast<int>(layers_.size()); }
  int output_size() const { return layers_.empty() ? input_ : hidden_; }

 private:
  struct Layer {
    Parameter w_ih, w_hh, b_ih, b_hh;
    Buffer out;     // T x B x H
  };
  GruLayerShape layer_shape(int k) const;  // of the last forward
  static GruLayerWeights weights(const Layer& L);
  Backend& be_;
  int input_, hidden_;
  std::vector<Layer> layers_;
  const float* x_ = nullptr;   // the last forward's input (caller's memory)
  SeqShape shape_;
  std::vector<std::unique_ptr<GruLayerCache>> caches_;  // the backend's, one per layer
  Buffer dmid_[2];  // gradients between layers
};

// ---- character Embedding ---------------------------------------------------
// ids: T x B (time-major, host int32); ids of padding frames are ignored.
class Embedding {
 public:
  Embedding(Backend& be, std::string prefix, int vocab, int dim, Rng& rng);
  const float* forward(const std::int32_t* ids, const SeqShape& s);  // T x B x dim
  void backward(const float* dy);
  std::vector<Parameter*> parameters();  // weight (vocab x dim)
  int vocab_size() const { return vocab_; }
  int dim() const { return dim_; }

 private:
  Backend& be_;
  int vocab_, dim_;
  Parameter weight_;
  std::vector<std::int32_t> ids_;
  Buffer y_;
};

// ---- Linear ----------------------------------------------------------------
// y = x W^T (+ b) on rows x in; W is out x in (PyTorch).
class Linear {
 public:
  Linear(Backend& be, std::string prefix, int in, int out, bool bias, Rng& rng);
  const float* forward(const float* x, std::size_t rows);  // rows x out
  void backward(const float* dy, float* dx);               // dx: rows x in
  std::vector<Parameter*> parameters();                    // weight[, bias]
  int in_features() const { return in_; }
  int out_features() const { return out_; }

 private:
  friend class Attention;
  Backend& be_;
  int in_, out_;
  bool has_bias_;
  Parameter weight_, bias_;
  const float* x_ = nullptr;
  std::size_t rows_ = 0;
  Buffer y_;
};

// ---- attention pooling over time -----------------------------------------
// a_t = softmax_t(U tanh(W x_t + b_W) + b_U), out = sum_t a_t x_t, over each
// sequence's own frames. Parameters "<prefix>.W.weight" (hidden x input),
// ".W.bias", ".U.weight" (1 x hidden), ".U.bias". Lengths must be >= 1.
class Attention {
 public:
  Attention(Backend& be, std::string prefix, int input, int hidden, Rng& rng);
  const float* forward(const float* x, const SeqShape& s);  // B x input
  void backward(const float* dy, float* dx);                // dx: T x B x input
  const float* weights() const { return a_.data(); }        // T x B
  std::vector<Parameter*> parameters();
  int input_size() const { return input_; }

 private:
  Backend& be_;
  int input_, hidden_;
  Linear w_, u_;
  const float* x_ = nullptr;
  SeqShape shape_;
  Buffer th_, a_, out_, da_, dscore_, dth_, dx1_, dx2_;
};

// ---- L2 normalisation of rows ------------------------------------------------
// y = x / max(|x|_2, 1e-12) (torch.nn.functional.normalize).
class L2Norm {
 public:
  explicit L2Norm(Backend& be) : be_(be) {}
  const float* forward(const float* x, std::size_t rows, std::size_t dim);
  void backward(const float* dy, float* dx);

 private:
  Backend& be_;
  std::size_t rows_ = 0, dim_ = 0;
  Buffer y_, norms_;
};

}  // namespace sb::nn

// The multi-task model of Chrupała (2019), section 3: shared encoders S
// (Conv1d + GRU stack over MFCC frames) and T (character embedding + GRU
// stack), the fixed image encoder I (the input vectors themselves), and
// the task-specific encoders S2I, S2T, T2S, T2I (GRU stack + attention
// pooling + L2 norm) and I2S, I2T (linear + L2 norm). Only the encoders of
// the model's tasks exist.
//
//   sb::model::Model m(sb::cpu_backend(), opts, seed);
//   m.zero_grad(Task::SI);
//   float loss = m.train_loss(Task::SI, batch);   // forward + backward
//   clip and step the task's Adam over m.parameters(Task::SI)
//
// Layers keep the activations of their last forward, so one Model runs one
// batch at a time; embedding never depends on which sequences share a batch
// because every layer masks padding (lib/nn).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "io/tensor.h"
#include "model/options.h"
#include "nn/nn.h"

namespace sb {
class ArchiveWriter;
}

namespace sb::model {

// One batch of inputs on the host, for any task: the fields a task does
// not use stay empty. speech[b] is frames[b] x feat_dim, text[b] character
// ids, images B x image_dim row-major.
struct BatchInput {
  std::vector<const float*> speech;
  std::vector<int> frames;
  std::vector<const std::vector<std::int32_t>*> text;
  std::vector<float> images;
  int size() const;
};

// The speech encoder S: Conv1d then `s` GRU layers.
class SpeechEncoder {
 public:
  SpeechEncoder(Backend& be, const ModelOptions& o, nn::Rng& rng);
  // x: packed T x B x feat_dim; returns T' x B x output_size().
  const float* forward(const float* x, const nn::SeqShape& s);
  void backward(const float* dy);
  const nn::SeqShape& output_shape() const { return out_; }
  int output_size() const { return gru_.output_size(); }
  int layers() const { return gru_.num_layers(); }
  // Activations of the last forward: layer 0 = conv output, k = GRU layer k.
  const float* layer(int k) const;
  int layer_size(int k) const;
  std::vector<nn::Parameter*> parameters();

 private:
  Backend& be_;
  nn::Conv1d conv_;
  nn::Gru gru_;
  nn::SeqShape in_, out_;
  const float* conv_out_ = nullptr;
  Buffer dconv_;
};

// The text encoder T: character embedding then `t` GRU layers.
class TextEncoder {
 public:
  TextEncoder(Backend& be, const ModelOptions& o, nn::Rng& rng);
  const float* forward(const std::int32_t* ids, const nn::SeqShape& s);
  void backward(const float* dy);
  int output_size() const { return gru_.output_size(); }
  const float* layer(int k) const;
  int layer_size(int k) const;
  int layers() const { return gru_.num_layers(); }
  std::vector<nn::Parameter*> parameters();

 private:
  Backend& be_;
  nn::Embedding embed_;
  nn::Gru gru_;
  nn::SeqShape shape_;
  const float* embed_out_ = nullptr;
  Buffer dembed_;
};

// A task-specific sequence encoder (S2I, S2T, T2S, T2I): GRU stack,
// attention pooling, L2 normalisation.
class PoolingEncoder {
 public:
  PoolingEncoder(Backend& be, const std::string& name, int input, int hidden, int layers,
                 int attn, nn::Rng& rng);
  const float* forward(const float* x, const nn::SeqShape& s);  // B x output_size()
  void backward(const float* dy, float* dx);                    // dx: T x B x input
  int output_size() const { return gru_.output_size(); }
  int layers() const { return gru_.num_layers(); }
  const float* layer(int k) const { return gru_.layer_output(k - 1); }  // k = 1..layers
  std::vector<nn::Parameter*> parameters();

 private:
  Backend& be_;
  nn::Gru gru_;
  nn::Attention attn_;
  nn::L2Norm norm_;
  nn::SeqShape shape_;
  Buffer dpool_, dgru_;
};

// I2S, I2T: linear map of the image vector, then L2 normalisation.
class ImageEncoder {
 public:
  ImageEncoder(Backend& be, const std::string& name, int input, int output, nn::Rng& rng);
  const float* forward(const float* x, std::size_t rows);
  void backward(const float* dy);
  std::vector<nn::Parameter*> parameters();

 private:
  Backend& be_;
  nn::Linear linear_;
  nn::L2Norm norm_;
  std::size_t rows_ = 0;
  Buffer dlin_;
};

class Model {
 public:
  // Builds the encoders of opts.tasks in a fixed order from one generator
  // seeded with `seed`, so the same seed gives the same initial bits.
  Model(Backend& be, ModelOptions opts, std::uint64_t seed);
  ~Model();

  const ModelOptions& options() const { return opts_; }
  Backend& backend() { return be_; }

  // All parameters, in the archive's order; those a task's loss reaches
  // (its shared encoders included), which its optimiser updates.
  std::vector<nn::Parameter*> parameters();
  std::vector<nn::Parameter*> parameters(Task t);

  // Forward + backward of task t's contrastive loss on one batch; gradients
  // are added to Parameter::grad (call zero_grad first). Returns the loss.
  float train_loss(Task t, const BatchInput& in, float margin);
  // Forward only.
  float eval_loss(Task t, const BatchInput& in, float margin);

  // Unit vectors (B x dim, row-major, host) from one encoder.
  std::vector<float> embed(Encoder e, const BatchInput& in);
  int embedding_size() const { return opts_.hidden; }
  // Frames after the convolution for an utterance of `frames` frames; 0
  // means too short to encode.
  int speech_output_length(int frames) const;

  // Per-frame activations of a layer, one T_b x D host matrix per input.
  // part "speech": K = 0 conv, 1..s the shared GRU layers; "text": 0 the
  // embedding, 1..t; "s2i", "s2t", "t2s", "t2i": K = 1..layers of that
  // encoder's GRU stack (K = 0: its input, the shared encoder's output).
  std::vector<std::vector<float>> layer_frames(const std::string& part, int k,
                                               const BatchInput& in, int& dim);

  // The model archive: the options record ("options"), then one f32
  // record per parameter. `extra_options` is appended to the options text.
  void save(ArchiveWriter& out, const std::string& extra_options = "");
  // Reads a model (or checkpoint) archive: options, then parameters.
  static std::unique_ptr<Model> load(Backend& be, const std::vector<Record>& records,
                                     const std::string& where);

 private:
  const float* encode_speech(const BatchInput& in, PoolingEncoder& head);
  const float* encode_text(const BatchInput& in, PoolingEncoder& head);
  const float* encode_images(const BatchInput& in, ImageEncoder& head);
  float pair_loss(Task t, const BatchInput& in, float margin, bool backward);

  Backend& be_;
  ModelOptions opts_;
  std::unique_ptr<SpeechEncoder> speech_;
  std::unique_ptr<TextEncoder> text_;
  std::unique_ptr<PoolingEncoder> s2i_, s2t_, t2s_, t2i_;
  std::unique_ptr<ImageEncoder> i2s_, i2t_;
  std::unique_ptr<nn::ContrastiveLoss> loss_;
  Buffer x_, img_, du_, dv_, dspeech_, dtext_;
  std::vector<std::int32_t> ids_;
};

// The parameters a model of these options has, in the archive's order, with
// PyTorch's shapes (DESIGN's table): what Model::parameters() holds, known
// before anything is allocated, so that a loader checks a file's records
// against it first (tests keep the two in step for every preset).
struct ParameterShape {
  std::string name;
  std::vector<std::int64_t> shape;
};
std::vector<ParameterShape> parameter_shapes(const ModelOptions& o);

// Checks that the layout gives every task's two sides the same width
// (e.g. s=0 and s2i=0 would pool the 64-channel conv output against a
// hidden-size image projection). Throws UsageError naming the encoders.
void check_layout(const ModelOptions& o);

}  // namespace sb::model

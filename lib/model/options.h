// The multi-task model's options: which tasks, how many GRU layers in each
// encoder (the paper's Table 1 columns), the sizes, and the presets that
// name the thirteen configurations of Table 1. One struct shared by
// sb-train, sb-embed, the tests and the man page.
#pragma once
#include <array>
#include <functional>
#include <map>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sb::model {

// The three tasks in round-robin order (paper 3.8, peer code): st, si, ti.
enum class Task : int { ST = 0, SI = 1, TI = 2 };
constexpr std::array<Task, 3> kTaskOrder = {Task::ST, Task::SI, Task::TI};
const char* task_name(Task t);  // "st", "si", "ti"

struct TaskSet {
  bool si = true, st = false, ti = false;
  bool has(Task t) const;
  int count() const { return int(si) + int(st) + int(ti); }
  std::string str() const;  // "si,st,ti" in a fixed order
};
// Parses "si", "si,st", "si,st,ti" (any order, no duplicates). si is
// required: it is the main task, and without it st and ti share nothing
// learnable (paper 3.6).
TaskSet parse_tasks(std::string_view s);

// GRU layers per encoder (0 for a task encoder = attention directly on the
// shared encoder's output).
struct Layers {
  int s = 2, t = 1, s2i = 2, s2t = 0, t2s = 0, t2i = 1;
  std::string str() const;  // "s=2,t=1,s2i=2,s2t=0,t2s=0,t2i=1"
};
// Parses "s=2,t=1,..." on top of `base` (keys not named keep base values).
Layers parse_layers(std::string_view s, Layers base = {});

enum class DataCondition { None, Aligned, NonAligned };
const char* condition_name(DataCondition c);  // "NA", "aligned", "non-aligned"

// One row of the paper's Table 1.
struct Preset {
  const char* name;  // "row1" ... "row13"
  TaskSet tasks;
  Layers layers;     // columns of ablated encoders hold the defaults, unused
  DataCondition data;
  double paper_r10;  // the paper's validation R@10 and Medr (for the man page)
  double paper_medr;
};
const std::vector<Preset>& presets();
const Preset& find_preset(std::string_view name);  // UsageError listing names

struct ModelOptions {
  TaskSet tasks;
  Layers layers;
  int hidden = 1024;        // GRU size, also the joint embedding size
  int feat_dim = 13;        // MFCC dims (taken from the data)
  int conv_channels = 64;
  int conv_kernel = 6;
  int conv_stride = 2;
  int conv_padding = 6;
  int embed_size = 128;     // character embedding
  int attn_size = 128;      // attention MLP hidden size
  int image_dim = 4096;     // image vector size (taken from the data)
  // Characters of the vocabulary, id 1.. in this order; id 0 is the unknown
  // symbol for characters never seen in training.
  std::vector<char32_t> vocab;

  int vocab_size() const { return static_cast<int>(vocab.size()) + 1; }
  // Checks ranges; throws UsageError naming the option.
  void validate() const;
  // The options text record of a model archive ("key value" lines).
  std::string to_text() const;
  // Parses to_text()'s output; `where` names the archive in messages.
  static ModelOptions from_text(std::string_view text, const std::string& where);
};

// Splits an options text record into key -> value ("key value" lines; blank
// lines skipped, a later key wins): sb::parse_key_values (core/key_values.h). ModelOptions::from_text and the trainer's
// checkpoint state both read their records with it.
std::map<std::string, std::string, std::less<>> parse_options_text(std::string_view text);

// Which encoder a caller wants from a trained model.
enum class Encoder { S2I, S2T, T2I, T2S, I2S, I2T };
Encoder parse_encoder(std::string_view s);
const char* encoder_name(Encoder e);
// The task an encoder belongs to (s2i/i2s -> si, s2t/t2s -> st, t2i/i2t -> ti).
Task encoder_task(Encoder e);

}  // namespace sb::model

// Kaldi-style data directories (sb(7), DATA DIRECTORIES) and the examples each task takes
// from them. A task reads only what it needs:
//   si: feats.sbt + utt2img + images.sbt
//   st: feats.sbt + text
//   ti: text + utt2img + images.sbt
// Keys that do not match up (an utterance without features, an image
// without a vector) are counted and skipped (the first few named); a task left with no examples is
// an error naming the directory.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/options.h"

namespace sb::train {

// Feature matrices (frames x dim), in archive order.
struct FeatureSet {
  std::string path;
  int dim = 0;
  std::vector<std::string> keys;
  std::vector<std::vector<float>> data;
  std::vector<int> frames;
  std::unordered_map<std::string, int> index;
};

// Image vectors (n x dim, row-major), in archive order.
struct ImageSet {
  std::string path;
  int dim = 0;
  std::vector<std::string> keys;
  std::vector<float> data;
  std::unordered_map<std::string, int> index;
  const float* row(int i) const { return data.data() + static_cast<std::size_t>(i) * dim; }
};

// One data directory; each file is read on first use and only once, so
// tasks sharing a directory (ALIGNED) share one copy.
class DataDir {
 public:
  explicit DataDir(std::string dir) : dir_(std::move(dir)) {}
  const std::string& dir() const { return dir_; }
  std::string file(const std::string& name) const { return dir_ + "/" + name; }
  bool has(const std::string& name) const;

  const FeatureSet& feats();
  const ImageSet& images();
  // key -> caption, and the keys in file order
  const std::vector<std::string>& text_keys();
  const std::unordered_map<std::string, std::string>& text();
  const std::vector<std::string>& utt2img_keys();
  const std::unordered_map<std::string, std::string>& utt2img();

 private:
  void load_text();
  void load_utt2img();
  std::string dir_;
  std::unique_ptr<FeatureSet> feats_;
  std::unique_ptr<ImageSet> images_;
  bool text_loaded_ = false, utt2img_loaded_ = false;
  std::vector<std::string> text_keys_, utt2img_keys_;
  std::unordered_map<std::string, std::string> text_, utt2img_;
};

// A pair for one task: si (utt, img), st (utt, text), ti (text, img).
// `text` indexes TaskData::texts (captions encoded after the vocabulary is
// built), utt indexes the FeatureSet, img the ImageSet.
struct Example {
  int utt = -1;
  int img = -1;
  int text = -1;
};

struct TaskData {
  model::Task task = model::Task::SI;
  std::string dir;
  const FeatureSet* feats = nullptr;   // si, st
  const ImageSet* images = nullptr;    // si, ti
  std::vector<std::string> keys;       // the example's utterance key
  std::vector<std::string> captions;   // st, ti: raw UTF-8, index = Example::text
  std::vector<std::vector<std::int32_t>> text_ids;  // filled by encode_text
  std::vector<Example> examples;
  // What did not match, for the report: "N utterances ... (first: u1, u7, u9)", ...
  std::vector<std::string> skipped;

  std::size_t size() const { return examples.size(); }
  // The length that batches are bucketed by: frames, or characters for ti.
  int length(std::size_t i) const;
  // The distinct images of this set, in first-use order (retrieval targets).
  std::vector<int> distinct_images() const;
};

// Items skipped for one reason: how many, and the first few keys, so that
// a warning can name them ("3 ... (first: u1, u7, u9)").
constexpr std::size_t kFirstKeys = 3;
struct Skipped {
  std::size_t count = 0;
  std::vector<std::string> first;  // at most kFirstKeys
  void add(const std::string& key);
  // "<count> <what> (first: a, b, c)", with ", ..." when there are more.
  std::string note(const std::string& what) const;
};

// Removes the examples for which drop(data, i) is true (order kept).
Skipped drop_examples(TaskData& d, const std::function<bool(const TaskData&, std::size_t)>& drop);

// Builds a task's examples from a directory. Throws sb::Error naming the
// directory and the missing file, or when no example is left.
TaskData load_task(model::Task task, DataDir& dir);

}  // namespace sb::train

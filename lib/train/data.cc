#include "train/data.h"

#include <sys/stat.h>

#include <cmath>
#include <unordered_set>

#include "core/error.h"
#include "io/archive.h"
#include "io/table.h"

namespace sb::train {

using model::Task;

bool DataDir::has(const std::string& name) const {
  struct stat st;
  return ::stat(file(name).c_str(), &st) == 0;
}

static void need(const DataDir& d, const std::string& name, Task task) {
  if (!d.has(name))
    fail(d.file(name), ": no such file (task ", model::task_name(task), " needs it in ", d.dir(), ")");
}

// Matrices of any numeric dtype are accepted (f16 features are common) and
// converted to f32; every record must have the same column count.
const FeatureSet& DataDir::feats() {
  if (feats_) return *feats_;
  auto fs = std::make_unique<FeatureSet>();
  fs->path = file("feats.sbt");
  ArchiveReader in(fs->path);
  Record r;
  while (in.next(r)) {
    const auto n = in.records_read();
    const Tensor& t = r.tensor;
    if (t.dtype() == DType::Text)
      fail(fs->path, ": record ", n, " (", r.key, "): text record, expected a frames x dims matrix");
    if (t.rank() != 2)
      fail(fs->path, ": record ", n, " (", r.key, "): rank ", t.rank(), ", expected a frames x dims matrix");
    if (t.dim(0) < 1 || t.dim(1) < 1)
      fail(fs->path, ": record ", n, " (", r.key, "): empty matrix ", t.shape_string());
    if (fs->dim == 0) fs->dim = static_cast<int>(t.dim(1));
    if (t.dim(1) != fs->dim)
      fail(fs->path, ": record ", n, " (", r.key, "): ", t.dim(1), " columns, earlier records have ", fs->dim);
    if (!fs->index.emplace(r.key, static_cast<int>(fs->keys.size())).second)
      fail(fs->path, ": record ", n, " (", r.key, "): duplicate key");
    auto v = t.to_f32();
    for (float x : v)
      if (!std::isfinite(x)) fail(fs->path, ": record ", n, " (", r.key, "): NaN or Inf in features");
    fs->keys.push_back(r.key);
    fs->frames.push_back(static_cast<int>(t.dim(0)));
    fs->data.push_back(std::move(v));
  }
  if (fs->keys.empty()) fail(fs->path, ": no records");
  feats_ = std::move(fs);
  return *feats_;
}

const ImageSet& DataDir::images() {
  if (images_) return *images_;
  auto is = std::make_unique<ImageSet>();
  is->path = file("images.sbt");
  ArchiveReader in(is->path);
  Record r;
  while (in.next(r)) {
    const auto n = in.records_read();
    const Tensor& t = r.tensor;
    if (t.dtype() == DType::Text)
      fail(is->path, ": record ", n, " (", r.key, "): text record, expected an image vector");
    // A 1 x D matrix is accepted as a vector: some extractors write rows.
    const bool vec = t.rank() == 1 || (t.rank() == 2 && t.dim(0) == 1);
    if (!vec || t.numel() == 0)
      fail(is->path, ": record ", n, " (", r.key, "): shape ", t.shape_string(), ", expected a vector");
    const int d = static_cast<int>(t.numel());
    if (is->dim == 0) is->dim = d;
    if (d != is->dim)
      fail(is->path, ": record ", n, " (", r.key, "): ", d, " values, earlier records have ", is->dim);
    if (!is->index.emplace(r.key, static_cast<int>(is->keys.size())).second)
      fail(is->path, ": record ", n, " (", r.key, "): duplicate key");
    auto v = t.to_f32();
    for (float x : v)
      if (!std::isfinite(x)) fail(is->path, ": record ", n, " (", r.key, "): NaN or Inf in image vector");
    is->keys.push_back(r.key);
    is->data.insert(is->data.end(), v.begin(), v.end());
  }
  if (is->keys.empty()) fail(is->path, ": no records");
  images_ = std::move(is);
  return *images_;
}

void DataDir::load_text() {
  if (text_loaded_) return;
  for (auto& e : read_table(file("text"))) {
    text_keys_.push_back(e.key);
    text_.emplace(e.key, std::move(e.value));
  }
  if (text_keys_.empty()) fail(file("text"), ": no records");
  text_loaded_ = true;
}

void DataDir::load_utt2img() {
  if (utt2img_loaded_) return;
  for (auto& e : read_table(file("utt2img"))) {
    if (e.value.find_first_of(" \t") != std::string::npos)
      fail(file("utt2img"), ": line ", e.line, " (", e.key, "): expected one image key, got '", e.value, "'");
    utt2img_keys_.push_back(e.key);
    utt2img_.emplace(e.key, std::move(e.value));
  }
  if (utt2img_keys_.empty()) fail(file("utt2img"), ": no records");
  utt2img_loaded_ = true;
}

const std::vector<std::string>& DataDir::text_keys() { load_text(); return text_keys_; }
const std::unordered_map<std::string, std::string>& DataDir::text() { load_text(); return text_; }
const std::vector<std::string>& DataDir::utt2img_keys() { load_utt2img(); return utt2img_keys_; }
const std::unordered_map<std::string, std::string>& DataDir::utt2img() { load_utt2img(); return utt2img_; }

int TaskData::length(std::size_t i) const {
  const Example& e = examples[i];
  if (e.utt >= 0) return feats->frames[static_cast<std::size_t>(e.utt)];
  if (!text_ids.empty()) return static_cast<int>(text_ids[static_cast<std::size_t>(e.text)].size());
  return static_cast<int>(captions[static_cast<std::size_t>(e.text)].size());
}

std::vector<int> TaskData::distinct_images() const {
  std::vector<int> out;
  std::unordered_set<int> seen;
  for (const auto& e : examples)
    if (e.img >= 0 && seen.insert(e.img).second) out.push_back(e.img);
  return out;
}

static std::string first_keys(const std::vector<std::string>& keys, std::size_t count) {
  std::string s = " (first: ";
  for (std::size_t i = 0; i < keys.size(); ++i) s += (i ? ", " : "") + keys[i];
  return s + (count > keys.size() ? ", ...)" : ")");
}

void Skipped::add(const std::string& key) {
  if (first.size() < kFirstKeys) first.push_back(key);
  ++count;
}

std::string Skipped::note(const std::string& what) const { return cat(count, " ", what, first_keys(first, count)); }

static void note(TaskData& td, const Skipped& s, const std::string& what) {
  if (s.count) td.skipped.push_back(s.note(what));
}

Skipped drop_examples(TaskData& d, const std::function<bool(const TaskData&, std::size_t)>& drop) {
  Skipped s;
  std::size_t kept = 0;
  for (std::size_t i = 0; i < d.examples.size(); ++i) {
    if (drop(d, i)) {
      s.add(d.keys[i]);
      continue;
    }
    d.examples[kept] = d.examples[i];
    d.keys[kept] = d.keys[i];
    ++kept;
  }
  d.examples.resize(kept);
  d.keys.resize(kept);
  return s;
}

TaskData load_task(Task task, DataDir& dir) {
  TaskData td;
  td.task = task;
  td.dir = dir.dir();
  const char* tn = model::task_name(task);
  if (task == Task::SI || task == Task::ST) need(dir, "feats.sbt", task);
  if (task == Task::SI || task == Task::TI) {
    need(dir, "utt2img", task);
    need(dir, "images.sbt", task);
  }
  if (task == Task::ST || task == Task::TI) need(dir, "text", task);

  if (task == Task::SI) {
    const auto& fs = dir.feats();
    const auto& u2i = dir.utt2img();
    const auto& is = dir.images();
    td.feats = &fs;
    td.images = &is;
    Skipped no_img_entry, no_vector, no_feats;
    for (std::size_t u = 0; u < fs.keys.size(); ++u) {
      auto it = u2i.find(fs.keys[u]);
      if (it == u2i.end()) { no_img_entry.add(fs.keys[u]); continue; }
      auto im = is.index.find(it->second);
      if (im == is.index.end()) { no_vector.add(fs.keys[u]); continue; }
      td.examples.push_back({static_cast<int>(u), im->second, -1});
      td.keys.push_back(fs.keys[u]);
    }
    for (const auto& k : dir.utt2img_keys())
      if (!fs.index.count(k)) no_feats.add(k);
    note(td, no_img_entry, "utterances in feats.sbt without an utt2img entry");
    note(td, no_vector, "utterances whose image has no vector in images.sbt");
    note(td, no_feats, "utt2img entries without features in feats.sbt");
  } else if (task == Task::ST) {
    const auto& fs = dir.feats();
    const auto& text = dir.text();
    td.feats = &fs;
    Skipped no_text, no_feats;
    for (std::size_t u = 0; u < fs.keys.size(); ++u) {
      auto it = text.find(fs.keys[u]);
      if (it == text.end()) { no_text.add(fs.keys[u]); continue; }
      td.examples.push_back({static_cast<int>(u), -1, static_cast<int>(td.captions.size())});
      td.captions.push_back(it->second);
      td.keys.push_back(fs.keys[u]);
    }
    for (const auto& k : dir.text_keys())
      if (!fs.index.count(k)) no_feats.add(k);
    note(td, no_text, "utterances in feats.sbt without a transcription in text");
    note(td, no_feats, "text entries without features in feats.sbt");
  } else {
    const auto& text = dir.text();
    const auto& u2i = dir.utt2img();
    const auto& is = dir.images();
    td.images = &is;
    Skipped no_img_entry, no_vector, no_text;
    for (const auto& k : dir.text_keys()) {
      auto it = u2i.find(k);
      if (it == u2i.end()) { no_img_entry.add(k); continue; }
      auto im = is.index.find(it->second);
      if (im == is.index.end()) { no_vector.add(k); continue; }
      td.examples.push_back({-1, im->second, static_cast<int>(td.captions.size())});
      td.captions.push_back(text.at(k));
      td.keys.push_back(k);
    }
    for (const auto& k : dir.utt2img_keys())
      if (!text.count(k)) no_text.add(k);
    note(td, no_img_entry, "captions in text without an utt2img entry");
    note(td, no_vector, "captions whose image has no vector in images.sbt");
    note(td, no_text, "utt2img entries without a caption in text");
  }
  if (td.examples.empty())
    fail(dir.dir(), ": task ", tn, ": no usable examples (keys of the files do not match)");
  return td;
}

}  // namespace sb::train

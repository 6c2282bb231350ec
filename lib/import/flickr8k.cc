// Flickr8K Audio Captions (Harwath & Glass 2015) with Karpathy's splits
// (dataset_flickr8k.json) and NeuralTalk's VGG-16 features (vgg_feats.mat,
// 4096 x N, column i = the json's image i), or any N x D .npy with a list
// of image names.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <unordered_map>

#include "core/error.h"
#include "core/strings.h"
#include "import/import.h"
#include "io/npy.h"

namespace sb::import {

namespace fs = std::filesystem;

namespace {

std::string strip_jpg(std::string s) {
  if (s.size() > 4 && s.compare(s.size() - 4, 4, ".jpg") == 0) s.resize(s.size() - 4);
  return s;
}

struct JsonImage {
  std::string key;    // filename without .jpg
  std::string split;  // "" when missing
  std::vector<std::string> raw;
};

std::vector<JsonImage> read_karpathy_json(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(path, ": cannot open (Karpathy's splits, dataset_flickr8k.json)");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(f);
  } catch (const nlohmann::json::exception& e) {
    // nlohmann's message names the byte and line ("at line 3, column 5").
    fail(path, ": not valid JSON: ", e.what());
  }
  if (!j.is_object() || !j.contains("images") || !j["images"].is_array())
    fail(path, ": no \"images\" array");
  std::vector<JsonImage> out;
  std::size_t i = 0;
  for (const auto& im : j["images"]) {
    const std::string where = cat(path, ": images[", i, "]");
    if (!im.is_object() || !im.contains("filename") || !im["filename"].is_string())
      fail(where, ": no \"filename\" string");
    JsonImage x;
    x.key = strip_jpg(im["filename"].get<std::string>());
    const auto fields = split_ws(x.key);
    if (fields.size() != 1 || fields[0].size() != x.key.size())
      fail(where, ": filename '", x.key, "' is empty or holds whitespace");
    if (im.contains("split")) {
      if (!im["split"].is_string()) fail(where, ": \"split\" is not a string");
      x.split = im["split"].get<std::string>();
    }
    if (im.contains("sentences")) {
      if (!im["sentences"].is_array()) fail(where, ": \"sentences\" is not an array");
      for (const auto& s : im["sentences"]) {
        if (!s.is_object() || !s.contains("raw") || !s["raw"].is_string())
          fail(where, ": a sentence without a \"raw\" string");
        x.raw.push_back(s["raw"].get<std::string>());
      }
    }
    out.push_back(std::move(x));
    ++i;
  }
  return out;
}

}  // namespace

ImportResult import_flickr8k(const std::string& root_in, const ImportOptions& opt) {
  ImportResult res;
  res.report = Report(opt.strict);
  Report& rep = res.report;
  const fs::path root = fs::absolute(root_in).lexically_normal();
  if (!fs::is_directory(root)) fail(root_in, ": not a directory");
  const fs::path audio_dir = root / "flickr_audio";
  const std::string wav2capt = (audio_dir / "wav2capt.txt").string();
  const std::string wav2spk = (audio_dir / "wav2spk.txt").string();
  const fs::path wav_dir = audio_dir / "wavs";
  const std::string json_path = (root / "dataset_flickr8k.json").string();
  if (!fs::is_directory(wav_dir)) fail(wav_dir.string(), ": not a directory (Flickr8K's flickr_audio/wavs)");

  // 1. Karpathy's images, splits and sentences.
  const std::vector<JsonImage> images = read_karpathy_json(json_path);
  std::unordered_map<std::string, std::size_t> image_index;
  for (std::size_t i = 0; i < images.size(); ++i)
    if (!image_index.emplace(images[i].key, i).second)
      fail(json_path, ": images[", i, "]: image '", images[i].key, "' listed twice");

  // 2. Features: a vector per image of the json (empty = none).
  std::vector<std::vector<float>> feats(images.size());
  if (!opt.features_npy.empty()) {
    if (opt.feature_names.empty()) usage_fail("--features needs --feature-names LIST");
    const Tensor t = read_npy(opt.features_npy);
    if (t.rank() != 2) fail(opt.features_npy, ": features must be N x D, not ", t.shape_string());
    const std::vector<float> m = t.to_f32();
    const auto rows = static_cast<std::size_t>(t.dim(0)), dim = static_cast<std::size_t>(t.dim(1));
    const std::vector<std::string> lines = read_lines(opt.feature_names);
    std::vector<std::string> names;
    std::vector<std::size_t> line_of;
    for (std::size_t l = 0; l < lines.size(); ++l) {
      const auto f = split_ws(lines[l]);
      if (f.empty()) continue;
      if (f.size() != 1) fail(opt.feature_names, ": line ", l + 1, ": expected one image name");
      names.emplace_back(strip_jpg(std::string(f[0])));
      line_of.push_back(l + 1);
    }
    if (names.size() != rows)
      fail(opt.feature_names, ": ", names.size(), " names for the ", rows, " rows of ", opt.features_npy);
    std::set<std::string> seen;
    for (std::size_t r = 0; r < rows; ++r) {
      if (!seen.insert(names[r]).second)
        fail(opt.feature_names, ": line ", line_of[r], ": image '", names[r], "' listed twice");
      auto it = image_index.find(names[r]);
      if (it == image_index.end()) {
        rep.add("feature rows for images not in dataset_flickr8k.json", names[r],
                cat(opt.feature_names, ": line ", line_of[r]), "not used");
        continue;
      }
      feats[it->second].assign(m.begin() + static_cast<std::ptrdiff_t>(r * dim),
                               m.begin() + static_cast<std::ptrdiff_t>((r + 1) * dim));
    }
  } else {
    if (!opt.feature_names.empty()) usage_fail("--feature-names needs --features FILE.npy");
    const std::string mat = opt.mat_file.empty() ? (root / "vgg_feats.mat").string() : opt.mat_file;
    if (!have_matio())
      fail(mat, ": this sb-import was built without libmatio (libmatio-dev), so it cannot read .mat files; "
                "convert the features to .npy and give --features FILE.npy --feature-names LIST");
    std::size_t dim = 0, cols = 0;
    const std::vector<float> m = read_mat_matrix(mat, "feats", dim, cols);
    // NeuralTalk's layout: one column per image, in the json's order. A
    // count that differs means the pairing is unknown: no guessing.
    if (cols != images.size())
      fail(mat, ": variable 'feats' is ", dim, " x ", cols, ", but ", json_path, " lists ", images.size(),
           " images (NeuralTalk's layout: D x N, column i = image i)");
    for (std::size_t c = 0; c < cols; ++c)
      feats[c].assign(m.begin() + static_cast<std::ptrdiff_t>(c * dim),
                      m.begin() + static_cast<std::ptrdiff_t>((c + 1) * dim));
  }

  // 3. Speakers.
  std::unordered_map<std::string, std::string> speaker;
  std::set<std::string> spk_twice;
  if (!fs::exists(wav2spk)) fail(wav2spk, ": cannot open (Flickr8K's speaker list)");
  {
    const auto lines = read_lines(wav2spk);
    for (std::size_t l = 0; l < lines.size(); ++l) {
      const auto f = split_ws(lines[l]);
      if (f.empty()) continue;
      if (f.size() != 2) fail(wav2spk, ": line ", l + 1, ": expected '<wav> <speaker>'");
      if (!speaker.emplace(std::string(f[0]), std::string(f[1])).second &&
          speaker[std::string(f[0])] != std::string(f[1]))
        fail(wav2spk, ": line ", l + 1, ": ", f[0], " has two speakers");
    }
  }

  // 4. The captions: wav -> image #n.
  struct Capt {
    std::string wav, image;
    std::size_t n = 0, line = 0;
  };
  std::vector<Capt> capts;
  std::map<std::string, std::size_t> times_listed;
  {
    const auto lines = read_lines(wav2capt);
    for (std::size_t l = 0; l < lines.size(); ++l) {
      const auto f = split_ws(lines[l]);
      if (f.empty()) continue;
      if (f.size() != 3 || f[2].size() < 2 || f[2][0] != '#')
        fail(wav2capt, ": line ", l + 1, ": expected '<wav> <image>.jpg #<n>'");
      Capt c;
      c.wav = std::string(f[0]);
      c.image = strip_jpg(std::string(f[1]));
      c.n = static_cast<std::size_t>(parse_int(f[2].substr(1), cat(wav2capt, ": line ", l + 1, ": caption number")));
      c.line = l + 1;
      ++times_listed[c.wav];
      capts.push_back(std::move(c));
    }
  }

  // 5. The audio present.
  std::set<std::string> wavs;
  for (const auto& e : fs::directory_iterator(wav_dir))
    if (e.path().extension() == ".wav") wavs.insert(e.path().filename().string());

  std::map<std::string, Split> by_split;
  for (const char* s : {"train", "val", "test"}) by_split[s].name = s;
  std::set<std::string> captioned;
  std::set<std::string> twice_reported;
  std::vector<std::size_t> image_used(images.size(), 0);
  for (const Capt& c : capts) {
    const std::string where = cat(wav2capt, ": line ", c.line);
    captioned.insert(c.wav);
    if (times_listed[c.wav] > 1) {
      if (twice_reported.insert(c.wav).second) rep.add("wavs listed more than once (all their lines skipped)", c.wav, where);
      continue;
    }
    std::string key = c.wav;
    if (key.size() > 4 && key.compare(key.size() - 4, 4, ".wav") == 0) key.resize(key.size() - 4);
    if (!wavs.count(c.wav)) {
      rep.add("captions without audio in flickr_audio/wavs", c.wav, where);
      continue;
    }
    auto it = image_index.find(c.image);
    if (it == image_index.end()) {
      rep.add("captions of images not in dataset_flickr8k.json", c.wav, where);
      continue;
    }
    const JsonImage& im = images[it->second];
    std::string split = im.split == "restval" ? opt.restval : im.split;
    if (split == "skip") {
      rep.add("captions of restval images (--restval skip)", c.wav, where);
      continue;
    }
    if (im.split.empty() || !by_split.count(split)) {
      rep.add("captions of images without a split (train/val/test/restval)", c.wav,
              cat(where, " (image ", im.key, im.split.empty() ? ": no split" : ": split '" + im.split + "'", ")"));
      continue;
    }
    if (feats[it->second].empty()) {
      rep.add("captions of images without features", c.wav, cat(where, " (image ", im.key, ")"));
      continue;
    }
    if (c.n >= im.raw.size()) {
      rep.add("captions whose sentence #n is not in dataset_flickr8k.json", c.wav, where);
      continue;
    }
    auto sp = speaker.find(c.wav);
    if (sp == speaker.end()) {
      rep.add("captions without a speaker in wav2spk.txt", c.wav, where);
      continue;
    }
    std::string text = apply_case(one_line(im.raw[c.n]), opt.case_mode);
    if (text.empty()) {
      rep.add("captions with an empty transcript", c.wav, where);
      continue;
    }
    by_split[split].utts.push_back(Utterance{key, (wav_dir / c.wav).string(), text, sp->second, im.key});
    ++image_used[it->second];
  }
  for (const std::string& w : wavs)
    if (!captioned.count(w)) rep.add("wavs without a caption in wav2capt.txt", w, wav_dir.string(), "not imported");

  // images.sbt: the images that have an utterance, in the json's order
  // (an image nobody spoke about would be a retrieval target no query has).
  for (std::size_t i = 0; i < images.size(); ++i) {
    if (!image_used[i]) {
      rep.add("images without a spoken caption", images[i].key, json_path, "not written");
      continue;
    }
    Split& sp = by_split[images[i].split == "restval" ? opt.restval : images[i].split];
    sp.image_keys.push_back(images[i].key);
    sp.image_vectors.push_back(feats[i]);
  }
  for (const char* s : {"train", "val", "test"}) {
    if (by_split[s].utts.empty()) fail(root_in, ": no utterance left for the ", s, " split");
    res.splits.push_back(std::move(by_split[s]));
  }
  return res;
}

}  // namespace sb::import

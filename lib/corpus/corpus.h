// The grounded spoken-caption corpus of samples/: scenes -> image vectors,
// captions -> speech (espeak-ng) with phone alignments, written as Kaldi-style
// data directories train/, val/, test/ and st-disjoint/ (see sb-corpus(1)).
// The output is a function of the options alone: the same seed gives
// byte-identical files, whatever -j.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/options_itf.h"
#include "corpus/image_map.h"
#include "corpus/scene.h"
#include "corpus/speech.h"

namespace sb::corpus {

struct SizePreset {
  std::string name;
  int train = 0, val = 0, test = 0;  // images
  int disjoint = 0;                  // st-disjoint utterances
  int speakers = 0;                  // caption speakers
  int disjoint_speakers = 0;
};

// tiny (CI), small (the demo), flickr8k (Flickr8K's shape).
const std::vector<SizePreset>& size_presets();
const SizePreset& size_preset(const std::string& name);  // UsageError if unknown

struct CorpusOptions {
  SizePreset size;                 // counts (a preset, possibly overridden)
  int captions = 5;                // per image
  std::uint64_t seed = 1;
  ImageMapOptions image_map;       // its own seed: the fixed "encoder"
  int jobs = 1;                    // synthesis processes
  bool speech = true;              // false: tables and images only (tests)
  bool force = false;              // replace existing split directories

  // Kaldi's Register: the settings a user picks besides the size (sb-corpus
  // declares --size and its per-split overrides, which edit `size`).
  // jobs 0 means all cores; the caller resolves it.
  void Register(OptionsItf& o) {
    o.add("seed", &seed, "corpus seed (scenes, captions, speakers, jitter)", 0, UINT64_MAX);
    o.add("map-seed", &image_map.seed, "seed of the fixed image map (the simulated image encoder)", 0,
          UINT64_MAX);
    o.add("j,jobs", &jobs, "synthesis processes (0 = all cores)", 0, 1024);
    o.add("captions", &captions, "captions per image", 1, 99);
    o.add("force", &force, "replace existing split directories");
  }
};

// One line of progress ("train: 1200/4000 utterances"); may be empty.
using Progress = std::function<void(const std::string&)>;

// Writes the corpus under `out` (created if missing). Throws sb::Error
// naming the file or utterance on any failure.
void generate_corpus(const CorpusOptions& opt, const std::string& out, const Progress& progress = {});

// The pieces generate_corpus is made of, for tests and other generators.
struct Caption {
  std::string utt;      // "s007-i00012-3"
  std::string image;    // "i00012"
  std::string speaker;  // "s007"
  std::string text;
  double rate_factor = 1, pitch_offset = 0;  // this utterance's jitter
};

struct Split {
  std::string name;                        // "train", ...
  std::vector<std::string> images;         // image ids, in order
  std::vector<Scene> scenes;               // one per image
  std::vector<std::uint64_t> image_index;  // global image number (seeds its nuisance)
  std::vector<Caption> captions;           // sorted by utt key
};

// An image's vector: the map applied to its scene with its own nuisance.
std::vector<float> image_vector(const ImageMap& map, const Scene& s, std::uint64_t seed,
                                std::uint64_t image_index);

// The symbolic part of the corpus (everything but audio), deterministic.
std::vector<Split> plan_corpus(const CorpusOptions& opt, std::vector<Speaker>* speakers = nullptr,
                               std::vector<Speaker>* disjoint_speakers = nullptr);

}  // namespace sb::corpus

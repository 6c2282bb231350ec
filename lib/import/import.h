// Importers: corpora as distributed -> sb's Kaldi-style data directories
// (sb(7), DATA DIRECTORIES). One function per corpus; sb-import is the tool.
//
//   flickr8k     Flickr8K Audio Captions + Karpathy's splits + VGG features
//                -> OUTDIR/{train,val,test}/{wav.scp,text,utt2spk,utt2img,images.sbt}
//                   (+ utt-images.sbt in val/ and test/)
//   librispeech  LibriSpeech's <subset>/<spk>/<chapter>/ layout
//                -> OUTDIR/{train,heldout}/{wav.scp,text,utt2spk}
//   asterisk     Debian's asterisk-core-sounds-en(-wav) prompts
//                -> OUTDIR/{train,heldout}/{wav.scp,text,utt2spk}
//
// The rule for what does not fit (sb-import(1), ANOMALIES): a structural
// problem -- a file missing or unreadable, a line that does not parse, a
// feature matrix of the wrong shape, a duplicate feature name -- is an
// error (sb::Error naming the file and line). A problem of one item -- a
// caption without audio, audio without a caption, a wav listed twice, an
// image without features or without a split, a speaker missing, an empty
// transcript -- skips that item and is reported on stderr by name (the
// first few, then "and N more"); with strict every such skip is an error
// instead. Nothing is dropped without a line saying so.
//
// Outputs are atomic: every file is written under a temporary name and all
// of them are renamed into place only after the whole import succeeded.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace sb::import {

enum class CaseMode { Keep, Lower, Upper };
CaseMode case_mode_from_name(const std::string& name);  // keep|lower|upper
// Applies the case mode to UTF-8 text (Unicode-aware through C.UTF-8's
// towlower/towupper; ASCII-only where that locale is missing).
std::string apply_case(const std::string& utf8, CaseMode mode);
// A transcript as one table value: tabs, CR and LF become spaces, runs of
// spaces are kept as they are, both ends are trimmed.
std::string one_line(const std::string& text);

// Items skipped for one reason: the count, the first few names and where
// the first was found (for the --strict error).
struct Anomaly {
  std::string what;     // "captions without audio"
  std::string action;   // "skipped", "not written"
  std::size_t count = 0;
  std::vector<std::string> first;  // at most kShown names
  std::string first_where;         // "ROOT/flickr_audio/wav2capt.txt: line 7"
};
constexpr std::size_t kShown = 5;

class Report {
 public:
  explicit Report(bool strict) : strict_(strict) {}
  // Counts `name` under `what`. In strict mode the first one throws
  // sb::Error "<where>: <what>: <name> (--strict)".
  void add(const std::string& what, const std::string& name, const std::string& where,
           const std::string& action = "skipped");
  // "3 captions without audio (skipped): a, b, c" / "..., e and 2 more"
  std::vector<std::string> lines() const;
  const std::vector<Anomaly>& anomalies() const { return list_; }
  std::size_t total() const;

 private:
  bool strict_;
  std::vector<Anomaly> list_;  // in order of first appearance
  std::map<std::string, std::size_t> index_;
};

struct ImportOptions {
  CaseMode case_mode = CaseMode::Keep;
  bool strict = false;
  bool force = false;  // replace split directories that already hold a data directory
  // Held-out utterances (librispeech, asterisk), drawn with sb::Random(seed).
  long long heldout = -1;  // -1: the corpus's default (1000; asterisk 60)
  std::uint64_t seed = 1;
  // flickr8k: features from NeuralTalk's vgg_feats.mat (default) or from an
  // N x D .npy whose row i is the image on line i of feature_names.
  std::string features_npy, feature_names;
  std::string mat_file;  // default ROOT/vgg_feats.mat
  // flickr8k: where Karpathy's "restval" images go: train (the default, as
  // NeuralTalk trains on them) or skip.
  std::string restval = "train";
  // asterisk: the transcript list; default ROOT/core-sounds-en.txt if it
  // exists, else Debian's /usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz
  std::string transcripts;
};

// One utterance of a data directory. Tables are written sorted by key.
struct Utterance {
  std::string key, audio, text, speaker, image;
};
struct Split {
  std::string name;  // "train"
  std::vector<Utterance> utts;
  // images.sbt: key -> vector, in the order written (flickr8k only)
  std::vector<std::string> image_keys;
  std::vector<std::vector<float>> image_vectors;
};

// What an import made (for the summary line and the tests).
struct ImportResult {
  std::vector<Split> splits;
  Report report{false};
};

using Progress = std::function<void(const std::string&)>;

ImportResult import_flickr8k(const std::string& root, const ImportOptions& opt);
ImportResult import_librispeech(const std::string& root, const ImportOptions& opt);
ImportResult import_asterisk(const std::string& root, const ImportOptions& opt);

// Writes each split as OUTDIR/<split>/ (wav.scp, text, utt2spk, and
// utt2img + images.sbt where the split has images, + utt-images.sbt
// outside train); every file appears
// only when all of them have been written.
void write_data_dirs(const std::string& outdir, const std::vector<Split>& splits, bool force);

// Reads variable `name` of a MATLAB file (v4, v5, v7.3 via libmatio) as a
// rows x cols matrix, column-major as MATLAB stores it (out[r + rows*c]).
// Throws sb::Error naming the file when libmatio was not built in.
bool have_matio();
std::vector<float> read_mat_matrix(const std::string& path, const std::string& name, std::size_t& rows,
                                   std::size_t& cols);

// Chooses `n` of `keys` reproducibly: a Fisher-Yates shuffle of the sorted
// keys with sb::Random(seed), the first n. Returns the chosen ones, sorted.
std::vector<std::string> choose_heldout(std::vector<std::string> keys, std::size_t n, std::uint64_t seed);

// Lines of a text file, or of a gzip-compressed one (name ends in .gz).
std::vector<std::string> read_lines(const std::string& path);

}  // namespace sb::import

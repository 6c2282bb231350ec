// Diagnostic probes (sb-probe; paper section 3.7): L2-regularised logistic
// regression predicting a label (speaker, phone) from a representation.
//
// The classifier is liblinear's L2R_LR solver (trust-region Newton on the
// primal), the one scikit-learn's LogisticRegression(solver='liblinear')
// wraps, with the same settings: a bias feature of value 1 (penalised, as
// liblinear does), tolerance 1e-4, and one-vs-rest for more than two
// classes (liblinear has no multinomial L2R_LR): one binary model per class,
// the prediction the class with the largest decision value (the first class
// in sorted label order on ties). Classes are the labels' sorted byte strings.
//
// Splits reproduce scikit-learn exactly (see random.h): train_test_split
// (test_size = f, random_state = seed) and KFold(k, shuffle=True,
// random_state = seed). Standardisation is scikit-learn's StandardScaler
// fitted on the training part (population variance; constant features are
// centred and left unscaled).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/options_itf.h"

namespace sb::eval {

struct ProbeOptions {
  double C = 100;               // inverse regularisation strength
  double test_fraction = 0.25;  // single split: share of items tested
  std::size_t folds = 0;        // >= 2: K-fold cross-validation instead
  std::uint32_t seed = 42;
  bool standardize = false;
  double tolerance = 1e-4;      // liblinear eps (scikit-learn's tol)
  int threads = 0;              // binary models trained at once; 0 = all cores
  bool split_by_group = false;  // split whole groups (utterances), not items

  // The peer code's settings (Chrupała 2019's released code; sb-probe(1)).
  static ProbeOptions speaker() { return {}; }

  // Kaldi's Register, with this object's values as the defaults shown
  // (sb-probe registers speaker() and switches to phone()'s values for
  // the options not given with --ctm). The 32-bit seed and --standardize's
  // yes/no are sb-probe's.
  void Register(OptionsItf& o) {
    o.add("C", &C, "inverse L2 regularisation strength (--ctm: 1)", 1e-12, 1e12);
    o.add("test-fraction", &test_fraction, "share of items tested (--ctm: 0.5)", 1e-9, 1 - 1e-9);
    o.add("folds", &folds, "K-fold cross-validation instead of one split (K >= 2; 0 = one split)", 0, 1000000);
    o.add("threads", &threads, "binary models trained at once (0 = all cores)", 0, 4096);
  }
  static ProbeOptions phone() {
    ProbeOptions o;
    o.C = 1;
    o.test_fraction = 0.5;
    o.standardize = true;
    return o;
  }
};

// Items to classify: n rows of dim floats and a class id per row.
struct ProbeData {
  std::size_t dim = 0;
  std::vector<float> x;               // n x dim
  std::vector<std::uint32_t> y;       // class ids, index into classes
  std::vector<std::string> classes;   // sorted
  // Optional: a group id per item (0.., dense), for splits that keep a
  // group's items together (a phone probe's utterances).
  std::vector<std::uint32_t> group;
  std::size_t size() const { return y.size(); }
};

// Turns string labels (one per row) into sorted class ids.
void set_labels(ProbeData& d, const std::vector<std::string>& labels);

struct Split {
  std::vector<std::size_t> train, test;
};
// n_test = ceil(f n), n_train = n - n_test; both must be >= 1.
Split train_test_split(std::size_t n, double test_fraction, std::uint32_t seed);
// Test folds of n / k items, the first n % k folds one larger.
std::vector<Split> kfold_splits(std::size_t n, std::size_t k, std::uint32_t seed);

// The same splits over groups: the groups are split (or folded) as above
// and each item goes where its group goes, keeping item order.
Split group_train_test_split(const std::vector<std::uint32_t>& group, double test_fraction,
                             std::uint32_t seed);
std::vector<Split> group_kfold_splits(const std::vector<std::uint32_t>& group, std::size_t k,
                                     std::uint32_t seed);

struct Standardizer {
  std::vector<double> mean, scale;
  void fit(const ProbeData& d, const std::vector<std::size_t>& rows);
  void apply(const float* in, double* out) const;
};

struct FoldResult {
  std::size_t train = 0, test = 0;
  std::size_t correct = 0;           // probe
  std::size_t majority_correct = 0;  // always predicting the training set's most frequent class
  std::size_t train_classes = 0;
};

struct ProbeResult {
  std::size_t items = 0, classes = 0;
  double accuracy = 0;  // single split: correct / test; K folds: mean over folds
  double majority = 0;  // the same for the majority-class baseline
  std::vector<FoldResult> folds;
};

// Trains on split.train and tests on split.test (liblinear; only in builds
// that have it, probe_liblinear.cc).
FoldResult fit_and_score(const ProbeData& d, const Split& split, const ProbeOptions& opt);
ProbeResult run_probe(const ProbeData& d, const ProbeOptions& opt);

// ---- phone-level probes --------------------------------------------------

// One line of a NIST CTM file: `utterance channel start duration phone [confidence]`.
struct CtmSegment {
  std::string utt, phone;
  double start = 0, dur = 0;  // seconds
  std::size_t line = 0;
};
// Lines starting with ';;' and blank lines are skipped; errors name file and line.
std::vector<CtmSegment> read_ctm(const std::string& path);

// Which frames of a per-frame representation a phone covers.
// Input (feature) frame f spans [f hop, (f + 1) hop) seconds, Kaldi's
// convention for alignments (a CTM from Kaldi has times f hop). A
// convolution with kernel k, stride s and padding p makes output frame o
// from input frames o s - p ... o s - p + k - 1, which span the time
// [(o s - p) hop, (o s - p + k) hop), centred at (o s - p + k / 2) hop.
// A phone [start, end) owns the output frames whose centre lies inside it:
//   o_begin = ceil((start / hop + p - k / 2) / s), clamped to [0, T]
//   o_end   = ceil((end   / hop + p - k / 2) / s), clamped to [0, T]
// so every frame belongs to at most one phone. Times are rounded to
// microseconds first, so that 0.53 s is frame 53, not 52.999.
// k = 1, s = 1, p = 0 (MFCC frames themselves): frames
// [ceil(start / hop - 1/2), ceil(end / hop - 1/2)), i.e. [53, 61) for a
// phone from 0.53 s to 0.61 s. The paper's conv (k 6, s 2, p 6): output
// o is centred at input time (2 o - 3) hop; a phone from 0.10 s to 0.20 s
// owns outputs 7..11.
// Bounds that keep FrameMap::frames' integer arithmetic far from overflow
// (half-microseconds in int64): CTM times up to 10^7 s (115 days), conv
// sizes up to 2^16 frames.
inline constexpr double kMaxCtmSeconds = 1e7;
inline constexpr std::int64_t kMaxConv = 1 << 16;

struct FrameMap {
  std::int64_t kernel = 1, stride = 1, padding = 0;
  double hop = 0.01;
  // Parses "KERNEL,STRIDE,PADDING" (throws UsageError naming `what`).
  static FrameMap parse(std::string_view spec, std::string_view what);
  // The conv settings of a model archive (sb-train's output): its text
  // record "options" holds "key value" lines, among them conv_kernel,
  // conv_stride and conv_padding. Hop stays 0.01 s.
  static FrameMap from_model(const std::string& path);
  // [begin, end) output frames of the phone, given T output frames.
  std::pair<std::size_t, std::size_t> frames(double start, double end, std::size_t T) const;
};

// Averages each phone's frames. Feed utterances in any order; a CTM
// utterance never fed is counted, not an error.
class PhoneAverager {
 public:
  PhoneAverager(const std::vector<CtmSegment>& ctm, FrameMap map);
  // Frames: T x dim, row-major. Returns false when the CTM has no such utterance.
  bool add(const std::string& utt, const float* frames, std::size_t T, std::size_t dim,
           const std::string& where);
  // The collected segments as probe data (labels = phones, groups =
  // utterances numbered in CTM order), in CTM order.
  ProbeData take();

  std::size_t segments() const { return ctm_.size(); }
  std::size_t without_frames() const { return empty_; }   // fed, but covering no frame
  std::size_t utterances() const { return by_utt_.size(); }
  std::size_t utterances_fed() const { return fed_; }
  std::size_t segments_of_unfed() const;                   // in utterances never fed
  std::size_t unaligned() const { return unaligned_; }    // fed, but not in the CTM

  // The skip reports, each naming the first few skipped items (CTM order,
  // or feeding order for unaligned utterances):
  // "2 phone segments cover no frame; skipped (line 7: u1 'ah' 0.53 s + 0.004 s, line 9: ...)"
  std::string without_frames_message() const;
  // "3 segments of 1 aligned utterances without activations; skipped (u4)"
  std::string unfed_message() const;
  // "5 utterances of PATH have no alignment; skipped (u9, u10, u11 and 2 more)"
  std::string unaligned_message(const std::string& path) const;

 private:
  const std::vector<CtmSegment>& ctm_;
  FrameMap map_;
  std::unordered_map<std::string, std::vector<std::size_t>> by_utt_;
  std::unordered_map<std::string, bool> seen_;
  std::vector<std::vector<float>> mean_;  // per CTM line, empty if none
  std::size_t dim_ = 0, empty_ = 0, fed_ = 0, unaligned_ = 0;
  std::vector<std::size_t> empty_first_;     // CTM indices of the first segments without frames
  std::vector<std::string> unaligned_first_;
};

}  // namespace sb::eval

// sb-probe: diagnostic classifiers (paper section 3.7): how well a speaker
// (or any utterance label) or a phone can be decoded from a representation
// by L2-regularised logistic regression (liblinear).
#include <cmath>
#include <iomanip>
#include <iostream>

#include "cli/cli.h"
#include "core/error.h"
#include "eval/probe.h"
#include "eval/vectors.h"
#include "io/archive.h"
#include "io/table.h"

namespace {

using namespace sb;
using namespace sb::eval;

const char* kEpilog =
    "\n"
    "Utterance level (--labels): FEATURES.sbt holds one vector per utterance; every\n"
    "utterance needs a label. Peer settings: -C 100, --test-fraction 0.25, no\n"
    "standardisation, --seed 42.\n"
    "Phone level (--ctm): ACTIVATIONS.sbt holds a T x D matrix per utterance; each\n"
    "aligned phone becomes the mean of the frames it covers (--frame-map, see\n"
    "sb-probe(1) for the formula). Peer settings: -C 1, --test-fraction 0.5,\n"
    "standardised features, --seed 42.\n"
    "Splits equal scikit-learn's train_test_split / KFold(shuffle=True) with\n"
    "random_state = seed. Output lines (tab-separated): items, classes, train,\n"
    "test (or folds), accuracy, majority; phone level also segments and skipped\n"
    "counts.\n"
    "\n"
    "Examples:\n"
    "  sb-probe --labels data/val/utt2spk val.s2i.sbt\n"
    "  sb-probe --ctm data/val/ali.ctm -m model.sbt --frames val.speech0.sbt\n"
    "  sb-probe --ctm data/val/ali.ctm --frames data/val/feats.sbt   # MFCC baseline\n"
    "\n"
    "See also: sb-embed(1), sb-rank(1), sb-rsa(1), sb(7)\n";

void print_result(const ProbeResult& res, const ProbeOptions& opt) {
  std::cout << "items\t" << res.items << '\n' << "classes\t" << res.classes << '\n';
  if (opt.split_by_group) std::cout << "split\tby utterance\n";
  if (opt.folds >= 2) {
    std::cout << "folds\t" << opt.folds << '\n';
  } else {
    std::cout << "train\t" << res.folds[0].train << '\n' << "test\t" << res.folds[0].test << '\n';
  }
  std::cout << std::setprecision(6) << "accuracy\t" << res.accuracy << '\n'
            << "majority\t" << res.majority << '\n';
}

int probe_main(int argc, char** argv) {
  auto opts = cli::make_options("decode labels or phones from representations (logistic regression)",
                                "FEATURES.sbt | --ctm ALI.ctm --frames ACTIVATIONS.sbt");
  opts.add_options()
      ("labels", "utterance-level: table of utterance key, label (e.g. utt2spk)",
       cxxopts::value<std::string>())
      ("ctm", "phone-level: NIST CTM alignments 'utt channel start dur phone'",
       cxxopts::value<std::string>())
      ("frames", "the archive holds per-frame activations (implied by --ctm)")
      ("frame-map", "KERNEL,STRIDE,PADDING of the conv front end before these frames",
       cxxopts::value<std::string>()->default_value("1,1,0"))
      ("m,model", "phone level: take --frame-map from this model's conv settings",
       cxxopts::value<std::string>())
      ("hop", "feature frame hop in seconds", cxxopts::value<double>()->default_value("0.01"))
      ("C", "inverse L2 regularisation strength (default 100; --ctm: 1)", cxxopts::value<double>())
      ("test-fraction", "share of items tested (default 0.25; --ctm: 0.5)", cxxopts::value<double>())
      ("folds", "K-fold cross-validation instead of one split (K >= 2)",
       cxxopts::value<long long>()->default_value("0"))
      ("seed", "seed of the split (0..4294967295)", cxxopts::value<long long>()->default_value("42"))
      ("standardize", "standardise features on the training part: yes or no (default no; --ctm: yes)",
       cxxopts::value<std::string>()->implicit_value("yes"))
      ("split-by", "phone level: split over 'segment's (the peer) or whole 'utterance's (the paper)",
       cxxopts::value<std::string>()->default_value("segment"))
      ("threads", "binary models trained at once (0 = all cores)",
       cxxopts::value<int>()->default_value("0"));
  opts.add_options(cli::kPositional)("inputs", "inputs", cxxopts::value<std::vector<std::string>>());
  opts.parse_positional({"inputs"});
  const auto r = cli::parse(opts, argc, argv, kEpilog);

  const bool phones = r.count("ctm") > 0;
  if (phones == (r.count("labels") > 0)) usage_fail("give exactly one of --labels and --ctm");
  if (r.count("frames") && !phones) usage_fail("--frames goes with --ctm");
  ProbeOptions opt = phones ? ProbeOptions::phone() : ProbeOptions::speaker();
  if (r.count("C")) opt.C = r["C"].as<double>();
  if (!(opt.C > 0)) usage_fail("-C must be positive, got ", opt.C);
  if (r.count("test-fraction")) opt.test_fraction = r["test-fraction"].as<double>();
  if (!(opt.test_fraction > 0 && opt.test_fraction < 1))
    usage_fail("--test-fraction must be between 0 and 1 (exclusive), got ", opt.test_fraction);
  const long long folds = r["folds"].as<long long>();
  if (folds < 0 || folds == 1) usage_fail("--folds must be 0 (one split) or >= 2, got ", folds);
  opt.folds = static_cast<std::size_t>(folds);
  const long long seed = r["seed"].as<long long>();
  if (seed < 0 || seed > 0xffffffffLL) usage_fail("--seed must be in 0..4294967295, got ", seed);
  opt.seed = static_cast<std::uint32_t>(seed);
  if (r.count("standardize")) {
    const std::string s = r["standardize"].as<std::string>();
    if (s != "yes" && s != "no") usage_fail("--standardize must be yes or no, got '", s, "'");
    opt.standardize = s == "yes";
  }
  opt.threads = r["threads"].as<int>();
  if (opt.threads < 0) usage_fail("--threads must be >= 0, got ", opt.threads);
  if (r.count("model") && r.count("frame-map")) usage_fail("give -m or --frame-map, not both");
  if (r.count("model") && !phones) usage_fail("-m goes with --ctm");
  FrameMap map = r.count("model") ? FrameMap::from_model(r["model"].as<std::string>())
                                  : FrameMap::parse(r["frame-map"].as<std::string>(), "--frame-map");
  map.hop = r["hop"].as<double>();
  if (!(map.hop > 0 && map.hop < 10)) usage_fail("--hop must be a positive number of seconds, got ", map.hop);
  if (!phones && (r.count("frame-map") || r.count("hop") || r.count("split-by")))
    usage_fail("--frame-map, --hop and --split-by go with --ctm");
  const std::string split_by = r["split-by"].as<std::string>();
  if (split_by != "segment" && split_by != "utterance")
    usage_fail("--split-by must be segment or utterance, got '", split_by, "'");
  opt.split_by_group = split_by == "utterance";

  const auto inputs = r.count("inputs") ? r["inputs"].as<std::vector<std::string>>()
                                        : std::vector<std::string>{};
  if (inputs.size() > 1) usage_fail("expected one archive, got ", inputs.size());
  const std::string path = inputs.empty() ? "-" : inputs[0];

  ProbeData data;
  if (!phones) {
    const std::string table_path = r["labels"].as<std::string>();
    const auto labels = read_table_map(table_path);
    // mean:ARCHIVE averages T x F matrices over time (MFCC baselines), as in sb-rsa.
    const bool mean = path.rfind("mean:", 0) == 0;
    const KeyedRows v = mean ? read_vectors(path.substr(5), Pooling::Mean) : read_vectors(path);
    std::vector<std::string> y;
    for (std::size_t i = 0; i < v.size(); ++i) {
      const auto it = labels.find(v.keys[i]);
      if (it == labels.end())
        fail(path, ": record ", i + 1, " (", v.keys[i], "): no label in ", table_path);
      y.push_back(it->second);
    }
    data.dim = v.dim;
    data.x = v.data;
    set_labels(data, y);
  } else {
    const std::string ctm_path = r["ctm"].as<std::string>();
    const auto ctm = read_ctm(ctm_path);
    PhoneAverager avg(ctm, map);
    ArchiveReader in(path);
    Record rec;
    std::size_t unaligned = 0;
    while (in.next(rec)) {
      const std::string where = cat(path, ": record ", in.records_read(), " (", rec.key, ")");
      const Tensor& t = rec.tensor;
      if (t.dtype() == DType::Text) fail(where, ": a text record, expected a T x D matrix");
      if (t.rank() != 2) fail(where, ": expected a T x D matrix, got shape ", t.shape_string());
      const std::vector<float> frames = t.to_f32();
      for (float f : frames)
        if (!std::isfinite(f)) fail(where, ": contains NaN or infinity");
      if (!avg.add(rec.key, frames.data(), static_cast<std::size_t>(t.dim(0)),
                   static_cast<std::size_t>(t.dim(1)), where))
        ++unaligned;
    }
    if (avg.utterances_fed() == 0) fail("no utterance of ", path, " is aligned in ", ctm_path);
    const std::size_t unfed = avg.segments_of_unfed();
    if (unaligned) cli::info(avg.unaligned_message(path));
    if (unfed) cli::info(avg.unfed_message());
    if (avg.without_frames()) cli::warn(avg.without_frames_message());
    std::cout << "segments\t" << avg.segments() << '\n'
              << "no_frame\t" << avg.without_frames() << '\n'
              << "no_activations\t" << unfed << '\n';
    data = avg.take();
  }
  if (data.size() < 2) fail("only ", data.size(), " items to probe");
  print_result(run_probe(data, opt), opt);
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return sb::cli::run_tool("sb-probe", argc, argv, probe_main); }

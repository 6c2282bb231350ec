// sb-probe: diagnostic classifiers (paper section 3.7): how well a speaker
// (or any utterance label) or a phone can be decoded from a representation
// by L2-regularised logistic regression (liblinear).
#include <cmath>
#include <iomanip>
#include <iostream>

#include "cli/cli.h"
#include "cli/options.h"
#include "cli/progress.h"
#include "core/strings.h"
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
  // Registered on the speaker settings; with --ctm the phone settings
  // replace those not given.
  ProbeOptions opt = ProbeOptions::speaker();
  std::string labels_path, ctm_path, frame_map = "1,1,0", model_path, split_by = "segment";
  double hop = 0.01;
  std::uint64_t seed = 42;
  bool frames_flag = false, quiet = false;
  auto opts = cli::make_options("decode labels or phones from representations (logistic regression)",
                                "--labels TABLE FEATURES.sbt | --ctm ALI.ctm [-m MODEL] ACTIVATIONS.sbt");
  cli::OptionRegistry reg(opts, "");
  reg.add_text("labels", &labels_path, "utterance level: table of utterance key, label (e.g. utt2spk)", "TABLE");
  reg.add_text("ctm", &ctm_path, "phone level: NIST CTM alignments 'utt channel start dur phone'", "ALI.ctm");
  reg.add("frames", &frames_flag, "the archive holds per-frame activations (implied by --ctm)");
  reg.add_text("frame-map", &frame_map, "KERNEL,STRIDE,PADDING of the conv front end before these frames", "K,S,P");
  reg.add_text("m,model", &model_path, "phone level: take --frame-map from this model's conv settings", "MODEL");
  reg.add("hop", &hop, "feature frame hop in seconds", 1e-6, 9.999999);
  opt.Register(reg);
  reg.add("seed", &seed, "seed of the split", 0, 0xffffffffULL);
  reg.add("split-by", &split_by, "phone level: split over segments (the peer) or whole utterances (the paper)",
          {"segment", "utterance"});
  reg.add("q,quiet", &quiet, "no progress, summary or notes on stderr (warnings and errors stay)");
  // yes/no with a bare --standardize meaning yes: cxxopts' implicit value (text, so it cannot fail to convert).
  opts.add_options()("standardize", "standardise features on the training part: yes or no (default no; --ctm: yes)",
                     cxxopts::value<std::string>()->implicit_value("yes"), "yes|no");
  opts.add_options(cli::kPositional)("inputs", "inputs", cxxopts::value<std::vector<std::string>>());
  opts.parse_positional({"inputs"});
  const auto r = cli::parse(opts, argc, argv, kEpilog);
  reg.apply(r);

  const bool phones = r.count("ctm") > 0;
  if (phones == (r.count("labels") > 0)) usage_fail("give exactly one of --labels and --ctm");
  if (r.count("frames") && !phones) usage_fail("--frames goes with --ctm");
  if (phones) {
    const ProbeOptions ph = ProbeOptions::phone();
    if (!r.count("C")) opt.C = ph.C;
    if (!r.count("test-fraction")) opt.test_fraction = ph.test_fraction;
    opt.standardize = ph.standardize;
  }
  if (opt.folds == 1) usage_fail("--folds: 1 is not a cross-validation (0 = one split, or >= 2)");
  opt.seed = static_cast<std::uint32_t>(seed);
  if (r.count("standardize")) {
    const std::string s = r["standardize"].as<std::string>();
    if (s != "yes" && s != "no") usage_fail("--standardize: '", s, "' is not one of yes, no");
    opt.standardize = s == "yes";
  }
  if (r.count("model") && r.count("frame-map")) usage_fail("give -m or --frame-map, not both");
  if (r.count("model") && !phones) usage_fail("-m goes with --ctm");
  FrameMap map = r.count("model") ? FrameMap::from_model(model_path) : FrameMap::parse(frame_map, "--frame-map");
  map.hop = hop;
  if (!phones && (r.count("frame-map") || r.count("hop") || r.count("split-by")))
    usage_fail("--frame-map, --hop and --split-by go with --ctm");
  opt.split_by_group = split_by == "utterance";

  const auto inputs = r.count("inputs") ? r["inputs"].as<std::vector<std::string>>()
                                        : std::vector<std::string>{};
  if (inputs.size() > 1) usage_fail("expected one archive, got ", inputs.size());
  const std::string path = inputs.empty() ? "-" : inputs[0];

  cli::Progress meter("records", 0, quiet);
  ProbeData data;
  if (!phones) {
    const std::string& table_path = labels_path;
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
    meter.add(v.size());
    data.dim = v.dim;
    data.x = v.data;
    set_labels(data, y);
  } else {
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
      meter.add();
    }
    if (avg.utterances_fed() == 0) fail("no utterance of ", path, " is aligned in ", ctm_path);
    const std::size_t unfed = avg.segments_of_unfed();
    if (unaligned && !quiet) cli::info(avg.unaligned_message(path));
    if (unfed && !quiet) cli::info(avg.unfed_message());
    if (avg.without_frames()) cli::warn(avg.without_frames_message());
    std::cout << "segments\t" << avg.segments() << '\n'
              << "no_frame\t" << avg.without_frames() << '\n'
              << "no_activations\t" << unfed << '\n';
    data = avg.take();
  }
  if (data.size() < 2) fail("only ", data.size(), " items to probe");
  const ProbeResult res = run_probe(data, opt);
  meter.finish(cat(res.items, " items, ", res.classes, " classes"));
  print_result(res, opt);
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return sb::cli::run_tool("sb-probe", argc, argv, probe_main); }

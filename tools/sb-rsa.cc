// sb-rsa: representational similarity analysis (paper section 3.7):
// Pearson's r (or Spearman's rho) between two pairwise similarity matrices
// over the same items, with an optional Mantel permutation test.
#include <algorithm>
#include <cstdint>
#include <iomanip>
#include <iostream>
#include <memory>
#include <unordered_map>

#include "cli/cli.h"
#include "cli/options.h"
#include "cli/progress.h"
#include "core/strings.h"
#include "core/error.h"
#include "eval/random.h"
#include "eval/rsa.h"
#include "eval/vectors.h"
#include "io/table.h"

namespace {

using namespace sb;
using namespace sb::eval;

const char* kEpilog =
    "\n"
    "A and B are each one of:\n"
    "  ARCHIVE        vectors; similarity = cosine\n"
    "  mean:ARCHIVE   T x F matrices averaged over time, then cosine (MFCC baseline)\n"
    "  text:FILE      a 'text' table; similarity = 1 - lev(a,b) / max(|a|,|b|)\n"
    "                 over Unicode code points\n"
    "Items are matched by key; the keys present in both are used (sorted), and\n"
    "their number is printed. Output lines (tab-separated): items, pairs,\n"
    "pearson or spearman, and with --permutations: permutations, p.\n"
    "\n"
    "Examples:\n"
    "  sb-rsa val.s2i.sbt text:data/val/text\n"
    "  sb-rsa --spearman --permutations 999 --seed 1 val.s2i.sbt mean:data/val/feats.sbt\n"
    "\n"
    "See also: sb-rank(1), sb-probe(1), sb-embed(1), sb(7)\n";

// One side of the comparison, before its similarity is built.
struct Side {
  std::string spec;
  std::vector<std::string> keys;
  KeyedRows vectors;                  // archive / mean:
  std::vector<std::string> strings;   // text:
  bool text = false;
};

Side load(const std::string& spec) {
  Side s;
  s.spec = spec;
  if (spec.rfind("text:", 0) == 0) {
    s.text = true;
    for (auto& e : read_table(spec.substr(5), /*allow_empty_value=*/true)) {
      s.keys.push_back(std::move(e.key));
      s.strings.push_back(std::move(e.value));
    }
  } else if (spec.rfind("mean:", 0) == 0) {
    s.vectors = read_vectors(spec.substr(5), Pooling::Mean);
    s.keys = s.vectors.keys;
  } else {
    s.vectors = read_vectors(spec, Pooling::None);
    s.keys = s.vectors.keys;
  }
  if (s.keys.empty()) fail(spec, ": no items");
  return s;
}

std::unique_ptr<Similarity> similarity(const Side& s, const std::vector<std::size_t>& rows,
                                       LevenshteinAlgorithm lev) {
  if (s.text) {
    std::vector<std::string> picked;
    for (std::size_t i : rows) picked.push_back(s.strings[i]);
    return std::make_unique<TextSimilarity>(picked, lev);
  }
  const KeyedRows v = select_rows(s.vectors, rows);
  return std::make_unique<CosineSimilarity>(v.data.data(), v.size(), v.dim);
}

// Counts the pairs a similarity computes, for the progress meter. The
// library calls block() from several threads; Progress::add is safe there.
class CountedSimilarity final : public Similarity {
 public:
  CountedSimilarity(const Similarity& inner, cli::Progress& meter) : inner_(inner), meter_(meter) {}
  std::size_t size() const override { return inner_.size(); }
  void block(std::size_t r0, std::size_t r1, std::size_t c0, float* out, std::size_t ld) const override {
    inner_.block(r0, r1, c0, out, ld);
    const std::size_t n = inner_.size();
    std::uint64_t pairs = 0;
    for (std::size_t i = r0; i < r1; ++i) {
      const std::size_t from = std::max(c0, i + 1);
      if (from < n) pairs += n - from;
    }
    meter_.add(pairs);
  }
  std::size_t preferred_rows() const override { return inner_.preferred_rows(); }

 private:
  const Similarity& inner_;
  cli::Progress& meter_;
};

int rsa_main(int argc, char** argv) {
  RsaOptions opt;
  std::uint64_t seed = 0, sample = 0;
  std::string lev_name = "bitparallel";
  bool quiet = false;
  auto opts = cli::make_options("correlate two pairwise similarity matrices (RSA)", "A B");
  cli::OptionRegistry reg(opts, "");
  opt.Register(reg);
  reg.add("seed", &seed, "seed of --sample and --permutations", 0, 0xffffffffULL);
  reg.add("sample", &sample, "use a random subset of N common items (0 = all)", 0, UINT64_MAX);
  reg.add("levenshtein", &lev_name, "text distance algorithm (dp: the slow reference)", {"bitparallel", "dp"});
  reg.add("q,quiet", &quiet, "no progress, summary or notes on stderr (warnings and errors stay)");
  opts.add_options(cli::kPositional)("inputs", "inputs", cxxopts::value<std::vector<std::string>>());
  opts.parse_positional({"inputs"});
  const auto r = cli::parse(opts, argc, argv, kEpilog);
  reg.apply(r);

  const auto inputs = r.count("inputs") ? r["inputs"].as<std::vector<std::string>>()
                                        : std::vector<std::string>{};
  if (inputs.size() != 2) usage_fail("expected two inputs (A B), got ", inputs.size());
  opt.seed = static_cast<std::uint32_t>(seed);
  const LevenshteinAlgorithm lev = lev_name == "dp" ? LevenshteinAlgorithm::Dp : LevenshteinAlgorithm::BitParallel;

  const Side a = load(inputs[0]);
  const Side b = load(inputs[1]);

  // Common keys, sorted, so that the result does not depend on file order.
  std::unordered_map<std::string, std::size_t> in_b;
  for (std::size_t i = 0; i < b.keys.size(); ++i) in_b.emplace(b.keys[i], i);
  std::vector<std::pair<std::string, std::pair<std::size_t, std::size_t>>> common;
  for (std::size_t i = 0; i < a.keys.size(); ++i)
    if (auto it = in_b.find(a.keys[i]); it != in_b.end()) common.push_back({a.keys[i], {i, it->second}});
  if (common.empty()) fail("no key of ", a.spec, " is in ", b.spec);
  std::sort(common.begin(), common.end());
  if (!quiet && (common.size() < a.keys.size() || common.size() < b.keys.size()))
    cli::info(cat("using the ", common.size(), " items common to ", a.spec, " (", a.keys.size(),
                  ") and ", b.spec, " (", b.keys.size(), ")"));
  if (sample > 0) {
    if (static_cast<std::size_t>(sample) > common.size())
      fail("--sample ", sample, " is more than the ", common.size(), " common items");
    // The first N of RandomState(seed).permutation(n), then back in key order.
    NumpyRandom rng(opt.seed);
    auto perm = rng.permutation(common.size());
    perm.resize(static_cast<std::size_t>(sample));
    std::sort(perm.begin(), perm.end());
    decltype(common) picked;
    for (std::size_t i : perm) picked.push_back(common[i]);
    common.swap(picked);
  }
  std::vector<std::size_t> rows_a, rows_b;
  for (const auto& c : common) {
    rows_a.push_back(c.second.first);
    rows_b.push_back(c.second.second);
  }
  const auto sim_a = similarity(a, rows_a, lev);
  const auto sim_b = similarity(b, rows_b, lev);
  const std::uint64_t n = common.size();
  cli::Progress meter("pairs", n * (n - 1), quiet);  // both matrices' upper triangles
  const CountedSimilarity counted_a(*sim_a, meter), counted_b(*sim_b, meter);
  const RsaResult res = rsa(counted_a, counted_b, opt);
  meter.finish(opt.permutations ? cat(common.size(), " items, ", opt.permutations, " permutations")
                                : cat(common.size(), " items"));

  std::cout << "items\t" << common.size() << '\n' << "pairs\t" << res.pairs << '\n';
  std::cout << std::setprecision(6) << (opt.spearman ? "spearman\t" : "pearson\t") << res.r << '\n';
  if (opt.permutations)
    std::cout << "permutations\t" << res.permutations << '\n' << "p\t" << res.p_value << '\n';
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return sb::cli::run_tool("sb-rsa", argc, argv, rsa_main); }

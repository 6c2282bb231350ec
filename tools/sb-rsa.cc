// sb-rsa: representational similarity analysis (paper section 3.7):
// Pearson's r (or Spearman's rho) between two pairwise similarity matrices
// over the same items, with an optional Mantel permutation test.
#include <algorithm>
#include <iomanip>
#include <iostream>
#include <memory>
#include <unordered_map>

#include "cli/cli.h"
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

int rsa_main(int argc, char** argv) {
  auto opts = cli::make_options("correlate two pairwise similarity matrices (RSA)", "A B");
  opts.add_options()
      ("spearman", "Spearman's rho instead of Pearson's r")
      ("permutations", "Mantel test with N permutations of B's items (0 = none)",
       cxxopts::value<long long>()->default_value("0"))
      ("seed", "seed of --sample and --permutations (0..4294967295)",
       cxxopts::value<long long>()->default_value("0"))
      ("sample", "use a random subset of N common items (0 = all)",
       cxxopts::value<long long>()->default_value("0"))
      ("levenshtein", "text distance algorithm: bitparallel or dp (the slow reference)",
       cxxopts::value<std::string>()->default_value("bitparallel"))
      ("threads", "worker threads (0 = all cores)", cxxopts::value<int>()->default_value("0"));
  opts.add_options(cli::kPositional)("inputs", "inputs", cxxopts::value<std::vector<std::string>>());
  opts.parse_positional({"inputs"});
  const auto r = cli::parse(opts, argc, argv, kEpilog);

  const auto inputs = r.count("inputs") ? r["inputs"].as<std::vector<std::string>>()
                                        : std::vector<std::string>{};
  if (inputs.size() != 2) usage_fail("expected two inputs (A B), got ", inputs.size());
  RsaOptions opt;
  opt.spearman = r.count("spearman") > 0;
  const long long perms = r["permutations"].as<long long>();
  if (perms < 0) usage_fail("--permutations must be >= 0, got ", perms);
  opt.permutations = static_cast<std::size_t>(perms);
  const long long seed = r["seed"].as<long long>();
  if (seed < 0 || seed > 0xffffffffLL) usage_fail("--seed must be in 0..4294967295, got ", seed);
  opt.seed = static_cast<std::uint32_t>(seed);
  const long long sample = r["sample"].as<long long>();
  if (sample < 0) usage_fail("--sample must be >= 0, got ", sample);
  opt.threads = r["threads"].as<int>();
  if (opt.threads < 0) usage_fail("--threads must be >= 0, got ", opt.threads);
  const std::string lev_name = r["levenshtein"].as<std::string>();
  LevenshteinAlgorithm lev;
  if (lev_name == "bitparallel") {
    lev = LevenshteinAlgorithm::BitParallel;
  } else if (lev_name == "dp") {
    lev = LevenshteinAlgorithm::Dp;
  } else {
    usage_fail("--levenshtein must be bitparallel or dp, got '", lev_name, "'");
  }

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
  if (common.size() < a.keys.size() || common.size() < b.keys.size())
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
  const RsaResult res = rsa(*sim_a, *sim_b, opt);

  std::cout << "items\t" << common.size() << '\n' << "pairs\t" << res.pairs << '\n';
  std::cout << std::setprecision(6) << (opt.spearman ? "spearman\t" : "pearson\t") << res.r << '\n';
  if (opt.permutations)
    std::cout << "permutations\t" << res.permutations << '\n' << "p\t" << res.p_value << '\n';
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return sb::cli::run_tool("sb-rsa", argc, argv, rsa_main); }

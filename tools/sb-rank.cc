// sb-rank: cross-modal retrieval by cosine similarity (paper section 3.7):
// recall at k, median and mean rank of the gold target.
#include <algorithm>
#include <climits>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <memory>

#include "cli/cli.h"
#include "cli/options.h"
#include "cli/progress.h"
#include "core/error.h"
#include "core/strings.h"
#include "eval/retrieval.h"
#include "eval/vectors.h"
#include "io/output_file.h"

namespace {

using namespace sb;
using namespace sb::eval;

const char* kEpilog =
    "\n"
    "UTTS.sbt holds one vector per utterance (keys as in the first column of the\n"
    "--gold table), IMGS.sbt one vector per image (its second column). By default\n"
    "each utterance ranks all images (speech -> image); --reverse makes each image\n"
    "rank all utterances, counting its best-ranked gold caption.\n"
    "\n"
    "Ties (equal float scores) go to the target that comes first in its archive.\n"
    "Summary lines on stdout: queries, targets, R@k, medr, meanr (tab-separated).\n"
    "\n"
    "Examples:\n"
    "  sb-rank --gold data/val/utt2img val.s2i.sbt val.i2s.sbt\n"
    "  sb-rank --gold data/val/utt2img --reverse -k 1,10 val.s2i.sbt val.i2s.sbt\n"
    "  sb-rank --gold utt2img --top 5 --top-out top.txt --ranks ranks.txt q.sbt t.sbt\n"
    "\n"
    "See also: sb-embed(1), sb-rsa(1), sb-probe(1), sb(7)\n";

std::vector<std::size_t> parse_ks(const std::string& spec) {
  std::vector<std::size_t> ks;
  std::size_t b = 0;
  for (std::size_t i = 0; i <= spec.size(); ++i) {
    if (i < spec.size() && spec[i] != ',') continue;
    const long long k = cli::to_integer(spec.substr(b, i - b), "--recall", 1, LLONG_MAX);
    ks.push_back(static_cast<std::size_t>(k));
    b = i + 1;
  }
  return ks;
}

// A text output ("-" is stdout), opened before the ranking runs so that a
// bad path fails first; a file appears only when complete.
std::unique_ptr<TextOutputFile> open_text(const std::string& path) {
  return path.empty() ? nullptr : std::make_unique<TextOutputFile>(path);
}

int rank_main(int argc, char** argv) {
  RankOptions opt;
  std::string gold_path, recall = "1,5,10", ranks_path, top_path = "-";
  bool reverse = false, quiet = false;
  auto opts = cli::make_options("rank targets for each query by cosine similarity",
                                "UTTS.sbt IMGS.sbt");
  cli::OptionRegistry reg(opts, "");
  reg.add_text("gold", &gold_path, "utt2img table: utterance key, image key (required)", "FILE");
  reg.add("reverse", &reverse, "images are the queries, utterances the targets");
  reg.add_text("k,recall", &recall, "comma-separated recall cut-offs", "K,K,...");
  reg.add_text("ranks", &ranks_path, "write 'query rank gold score' per query to FILE ('-' = stdout)", "FILE");
  opt.Register(reg);
  reg.add_text("top-out", &top_path, "where --top writes 'query position target score' ('-' = stdout)", "FILE");
  reg.add("q,quiet", &quiet, "no progress line or timing summary on stderr");
  opts.add_options(cli::kPositional)("inputs", "inputs", cxxopts::value<std::vector<std::string>>());
  opts.parse_positional({"inputs"});
  const auto r = cli::parse(opts, argc, argv, kEpilog);
  reg.apply(r);

  if (gold_path.empty()) usage_fail("--gold is required");
  const auto inputs = r.count("inputs") ? r["inputs"].as<std::vector<std::string>>()
                                        : std::vector<std::string>{};
  if (inputs.size() != 2) usage_fail("expected two archives (UTTS.sbt IMGS.sbt), got ", inputs.size());
  if (inputs[0] == "-" && inputs[1] == "-") usage_fail("only one archive can be standard input");
  opt.ks = parse_ks(recall);
  if (!opt.top) top_path.clear();
  if (ranks_path == "-" && top_path == "-")
    usage_fail("--ranks and --top cannot both write to standard output");
  // The summary moves to stderr when a list takes stdout.
  std::ostream& summary_os = (ranks_path == "-" || top_path == "-") ? std::cerr : std::cout;

  const GoldTable table = read_gold_table(gold_path);
  KeyedRows utts = read_vectors(inputs[0]);
  KeyedRows imgs = read_vectors(inputs[1]);
  if (utts.size() == 0) fail(inputs[0], ": no records");
  if (imgs.size() == 0) fail(inputs[1], ": no records");
  if (utts.dim != imgs.dim)
    fail("dimension mismatch: ", inputs[0], " has ", utts.dim, "-d vectors, ", inputs[1], " has ",
         imgs.dim, "-d");
  KeyedRows& queries = reverse ? imgs : utts;
  KeyedRows& targets = reverse ? utts : imgs;
  const auto gold = build_gold(table, queries, targets, reverse);
  auto ranks_out = open_text(ranks_path), top_out = open_text(top_path);

  normalize_rows(queries.data.data(), queries.size(), queries.dim);
  normalize_rows(targets.data.data(), targets.size(), targets.dim);
  // Queries are ranked in chunks so that the meter moves; each query's
  // ranking depends on nothing but the query, so chunking changes no result.
  cli::Progress meter("queries", queries.size(), quiet);
  std::vector<QueryRank> ranks;
  ranks.reserve(queries.size());
  const std::size_t chunk = std::max<std::size_t>(256, queries.size() / 100);
  for (std::size_t q0 = 0; q0 < queries.size(); q0 += chunk) {
    const std::size_t n = std::min(chunk, queries.size() - q0);
    const std::vector<std::vector<std::uint32_t>> part(gold.begin() + static_cast<std::ptrdiff_t>(q0),
                                                       gold.begin() + static_cast<std::ptrdiff_t>(q0 + n));
    auto got = rank_queries(queries.data.data() + q0 * queries.dim, n, targets.data.data(), targets.size(),
                            queries.dim, part, opt);
    for (auto& g : got) ranks.push_back(std::move(g));
    meter.add(n);
  }
  meter.finish(cat(targets.size(), " targets"));

  if (ranks_out) {
    auto& os = ranks_out->stream();
    os << std::setprecision(7);
    for (std::size_t q = 0; q < ranks.size(); ++q)
      os << queries.keys[q] << ' ' << ranks[q].rank << ' ' << targets.keys[ranks[q].best_gold]
         << ' ' << ranks[q].gold_score << '\n';
    ranks_out->commit();
  }
  if (top_out) {
    auto& os = top_out->stream();
    os << std::setprecision(7);
    for (std::size_t q = 0; q < ranks.size(); ++q)
      for (std::size_t p = 0; p < ranks[q].top.size(); ++p)
        os << queries.keys[q] << ' ' << p + 1 << ' ' << targets.keys[ranks[q].top[p].target] << ' '
           << ranks[q].top[p].score << '\n';
    top_out->commit();
  }
  const RankSummary s = summarize(ranks, targets.size(), opt.ks);
  summary_os << "queries\t" << s.queries << '\n' << "targets\t" << s.targets << '\n';
  summary_os << std::setprecision(6);
  for (const auto& [k, v] : s.recall) summary_os << "R@" << k << '\t' << v << '\n';
  summary_os << "medr\t" << s.median_rank << '\n' << "meanr\t" << s.mean_rank << '\n';
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return sb::cli::run_tool("sb-rank", argc, argv, rank_main); }

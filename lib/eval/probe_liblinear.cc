// The probe's classifier: liblinear's L2R_LR, one-vs-rest, as scikit-learn's
// LogisticRegression(solver='liblinear') calls it. The binary models of the
// one-vs-rest scheme are independent, so they are trained in parallel here
// (liblinear would train them one after another on the same sub-problems).
#include <linear.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "eval/probe.h"
#include "eval/vectors.h"

namespace sb::eval {
namespace {

void quiet(const char*) {}

// Rows as liblinear's sparse feature lists: 1-based indices, zeros left out,
// then the bias feature (index dim + 1, value 1), then the terminator.
struct SparseRows {
  std::vector<feature_node> nodes;
  std::vector<feature_node*> rows;

  SparseRows(const ProbeData& d, const std::vector<std::size_t>& which, const Standardizer* z) {
    std::vector<double> v(d.dim);
    std::vector<std::size_t> start;
    for (std::size_t r : which) {
      start.push_back(nodes.size());
      const float* x = d.x.data() + r * d.dim;
      if (z) {
        z->apply(x, v.data());
      } else {
        std::copy(x, x + d.dim, v.begin());
      }
      for (std::size_t c = 0; c < d.dim; ++c)
        if (v[c] != 0) nodes.push_back({static_cast<int>(c + 1), v[c]});
      nodes.push_back({static_cast<int>(d.dim + 1), 1.0});
      nodes.push_back({-1, 0.0});
    }
    for (std::size_t s : start) rows.push_back(nodes.data() + s);
  }
};

// Decision weights of one binary model, oriented so that > 0 means "class".
std::vector<double> train_binary(const problem& base, const std::vector<std::uint32_t>& y,
                                 std::uint32_t cls, std::size_t dim, const ProbeOptions& opt) {
  std::vector<double> labels(y.size());
  for (std::size_t i = 0; i < y.size(); ++i) labels[i] = y[i] == cls ? 1.0 : -1.0;
  problem p = base;
  p.y = labels.data();
  parameter par{};
  par.solver_type = L2R_LR;
  par.eps = opt.tolerance;
  par.C = opt.C;
  if (const char* why = check_parameter(&p, &par)) fail("liblinear: ", why);
  model* m = train(&p, &par);
  if (!m) fail("liblinear: training failed");
  std::vector<double> w(dim + 1, 0.0);
  const int idx = m->label[0] == 1 ? 0 : 1;  // which label_idx is our class
  for (std::size_t c = 0; c < dim; ++c)
    w[c] = get_decfun_coef(m, static_cast<int>(c + 1), idx);
  w[dim] = get_decfun_coef(m, static_cast<int>(dim + 1), idx);  // the bias feature
  free_and_destroy_model(&m);
  return w;
}

}  // namespace

FoldResult fit_and_score(const ProbeData& d, const Split& split, const ProbeOptions& opt) {
  if (!(opt.C > 0)) fail("C must be positive, got ", opt.C);
  set_print_string_function(quiet);
  FoldResult res;
  res.train = split.train.size();
  res.test = split.test.size();
  if (split.train.empty() || split.test.empty()) fail("a split with no training or no test item");

  Standardizer z;
  if (opt.standardize) z.fit(d, split.train);
  const SparseRows train_rows(d, split.train, opt.standardize ? &z : nullptr);
  std::vector<std::uint32_t> y;
  std::vector<std::size_t> count(d.classes.size(), 0);
  for (std::size_t r : split.train) {
    y.push_back(d.y[r]);
    ++count[d.y[r]];
  }
  // The majority baseline predicts the most frequent training class
  // (the first in sorted order on ties), scikit-learn's DummyClassifier.
  const auto majority = static_cast<std::uint32_t>(
      std::max_element(count.begin(), count.end()) - count.begin());
  std::vector<std::uint32_t> present;
  for (std::uint32_t c = 0; c < count.size(); ++c)
    if (count[c] > 0) present.push_back(c);
  res.train_classes = present.size();

  problem base{};
  base.l = static_cast<int>(split.train.size());
  base.n = static_cast<int>(d.dim + 1);
  base.x = const_cast<feature_node**>(train_rows.rows.data());
  base.bias = -1;  // the bias feature is already in every row

  // One binary model per class seen in training; with two classes, one
  // model for the second class (the other is its mirror image), so that an
  // exact tie goes to the first class, as in scikit-learn.
  std::vector<std::uint32_t> modelled = present;
  if (present.size() == 2) modelled.erase(modelled.begin());
  std::vector<std::vector<double>> w(modelled.size());
  if (present.size() >= 2) {
    std::atomic<std::size_t> next{0};
    std::exception_ptr error;
    std::mutex error_mutex;
    auto work = [&] {
      try {
        for (std::size_t k; (k = next.fetch_add(1)) < modelled.size();)
          w[k] = train_binary(base, y, modelled[k], d.dim, opt);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        next = modelled.size();
      }
    };
    const unsigned workers =
        static_cast<unsigned>(std::min<std::size_t>(thread_count(opt.threads), modelled.size()));
    std::vector<std::thread> pool;
    for (unsigned i = 1; i < workers; ++i) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
    if (error) std::rethrow_exception(error);
  }

  std::vector<double> v(d.dim);
  for (std::size_t r : split.test) {
    std::uint32_t pred = present.empty() ? 0 : present[0];
    if (present.size() == 2) {
      const float* x = d.x.data() + r * d.dim;
      if (opt.standardize) z.apply(x, v.data()); else std::copy(x, x + d.dim, v.begin());
      double s = w[0][d.dim];
      for (std::size_t c = 0; c < d.dim; ++c) s += w[0][c] * v[c];
      pred = s > 0 ? present[1] : present[0];
    } else if (present.size() > 2) {
      const float* x = d.x.data() + r * d.dim;
      if (opt.standardize) z.apply(x, v.data()); else std::copy(x, x + d.dim, v.begin());
      double best = 0;
      for (std::size_t k = 0; k < modelled.size(); ++k) {
        double s = w[k][d.dim];
        for (std::size_t c = 0; c < d.dim; ++c) s += w[k][c] * v[c];
        if (k == 0 || s > best) {
          best = s;
          pred = modelled[k];
        }
      }
    }
    res.correct += pred == d.y[r];
    res.majority_correct += majority == d.y[r];
  }
  return res;
}

ProbeResult run_probe(const ProbeData& d, const ProbeOptions& opt) {
  ProbeResult res;
  res.items = d.size();
  res.classes = d.classes.size();
  if (d.size() < 2) fail("a probe needs at least 2 items, got ", d.size());
  std::vector<Split> splits;
  const bool grouped = opt.split_by_group;
  if (grouped && d.group.size() != d.size()) fail("a split by group needs a group for every item");
  if (opt.folds >= 2) {
    splits = grouped ? group_kfold_splits(d.group, opt.folds, opt.seed)
                     : kfold_splits(d.size(), opt.folds, opt.seed);
  } else {
    splits.push_back(grouped ? group_train_test_split(d.group, opt.test_fraction, opt.seed)
                             : train_test_split(d.size(), opt.test_fraction, opt.seed));
  }
  for (const auto& s : splits) {
    res.folds.push_back(fit_and_score(d, s, opt));
    const auto& f = res.folds.back();
    res.accuracy += static_cast<double>(f.correct) / static_cast<double>(f.test);
    res.majority += static_cast<double>(f.majority_correct) / static_cast<double>(f.test);
  }
  res.accuracy /= static_cast<double>(splits.size());
  res.majority /= static_cast<double>(splits.size());
  return res;
}

}  // namespace sb::eval

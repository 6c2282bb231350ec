// The parts of the probes that need no solver: labels, splits,
// standardisation, CTM alignments and frame averaging. The liblinear part
// is probe_liblinear.cc, so that sb_eval builds where liblinear is absent.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>

#include "core/error.h"
#include "core/key_values.h"
#include "core/strings.h"
#include "eval/probe.h"
#include "eval/random.h"
#include "io/archive.h"

namespace sb::eval {

// How many skipped items a report names.
constexpr std::size_t kFirstFew = 3;

void set_labels(ProbeData& d, const std::vector<std::string>& labels) {
  std::map<std::string, std::uint32_t> ids;
  for (const auto& l : labels) ids.emplace(l, 0);
  d.classes.clear();
  for (auto& [name, id] : ids) {
    id = static_cast<std::uint32_t>(d.classes.size());
    d.classes.push_back(name);
  }
  d.y.clear();
  for (const auto& l : labels) d.y.push_back(ids[l]);
}

Split train_test_split(std::size_t n, double test_fraction, std::uint32_t seed) {
  if (!(test_fraction > 0 && test_fraction < 1))
    fail("test fraction must be between 0 and 1, got ", test_fraction);
  const auto n_test = static_cast<std::size_t>(std::ceil(test_fraction * static_cast<double>(n)));
  if (n_test == 0 || n_test >= n)
    fail("a test fraction of ", test_fraction, " of ", n,
         " items leaves no training or no test item");
  NumpyRandom rng(seed);
  const auto perm = rng.permutation(n);
  Split s;
  s.test.assign(perm.begin(), perm.begin() + static_cast<std::ptrdiff_t>(n_test));
  s.train.assign(perm.begin() + static_cast<std::ptrdiff_t>(n_test), perm.end());
  return s;
}

std::vector<Split> kfold_splits(std::size_t n, std::size_t k, std::uint32_t seed) {
  if (k < 2) fail("cross-validation needs at least 2 folds, got ", k);
  if (k > n) fail("cannot make ", k, " folds of ", n, " items");
  NumpyRandom rng(seed);
  const auto perm = rng.permutation(n);
  std::vector<Split> out;
  std::size_t pos = 0;
  for (std::size_t f = 0; f < k; ++f) {
    const std::size_t len = n / k + (f < n % k ? 1 : 0);
    Split s;
    std::vector<bool> in_test(n, false);
    for (std::size_t i = pos; i < pos + len; ++i) {
      s.test.push_back(perm[i]);
      in_test[perm[i]] = true;
    }
    for (std::size_t i = 0; i < n; ++i)
      if (!in_test[i]) s.train.push_back(i);
    pos += len;
    out.push_back(std::move(s));
  }
  return out;
}

namespace {

Split by_group(const std::vector<std::uint32_t>& group, const Split& groups) {
  std::uint32_t n_groups = 0;
  for (std::uint32_t g : group) n_groups = std::max(n_groups, g + 1);
  std::vector<signed char> test(n_groups, -1);
  for (std::size_t g : groups.test) test[g] = 1;
  for (std::size_t g : groups.train) test[g] = 0;
  Split s;
  for (std::size_t i = 0; i < group.size(); ++i) (test[group[i]] == 1 ? s.test : s.train).push_back(i);
  return s;
}

std::size_t group_count(const std::vector<std::uint32_t>& group) {
  std::uint32_t n = 0;
  for (std::uint32_t g : group) n = std::max(n, g + 1);
  return n;
}

}  // namespace

Split group_train_test_split(const std::vector<std::uint32_t>& group, double test_fraction,
                             std::uint32_t seed) {
  return by_group(group, train_test_split(group_count(group), test_fraction, seed));
}

std::vector<Split> group_kfold_splits(const std::vector<std::uint32_t>& group, std::size_t k,
                                     std::uint32_t seed) {
  std::vector<Split> out;
  for (const Split& s : kfold_splits(group_count(group), k, seed)) out.push_back(by_group(group, s));
  return out;
}

void Standardizer::fit(const ProbeData& d, const std::vector<std::size_t>& rows) {
  const std::size_t dim = d.dim;
  mean.assign(dim, 0.0);
  scale.assign(dim, 1.0);
  if (rows.empty()) return;
  for (std::size_t r : rows)
    for (std::size_t c = 0; c < dim; ++c) mean[c] += d.x[r * dim + c];
  for (double& m : mean) m /= static_cast<double>(rows.size());
  std::vector<double> var(dim, 0.0);
  for (std::size_t r : rows)
    for (std::size_t c = 0; c < dim; ++c) {
      const double v = d.x[r * dim + c] - mean[c];
      var[c] += v * v;
    }
  for (std::size_t c = 0; c < dim; ++c) {
    const double sd = std::sqrt(var[c] / static_cast<double>(rows.size()));
    // scikit-learn's _handle_zeros_in_scale: (near-)constant features keep scale 1.
    scale[c] = sd < 10 * std::numeric_limits<double>::epsilon() ? 1.0 : sd;
  }
}

void Standardizer::apply(const float* in, double* out) const {
  for (std::size_t c = 0; c < mean.size(); ++c) out[c] = (in[c] - mean[c]) / scale[c];
}

namespace {

bool parse_number(std::string_view s, double& out) {
  const std::string tmp(s);
  char* end = nullptr;
  out = std::strtod(tmp.c_str(), &end);
  return !tmp.empty() && end == tmp.c_str() + tmp.size() && std::isfinite(out);
}

}  // namespace

std::vector<CtmSegment> read_ctm(const std::string& path) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (path != "-") {
    file.open(path);
    if (!file) fail(path, ": cannot open");
    in = &file;
  }
  std::vector<CtmSegment> out;
  std::string line;
  std::size_t no = 0;
  while (std::getline(*in, line)) {
    ++no;
    const auto f = split_ws(line);
    if (f.empty() || line.rfind(";;", 0) == 0) continue;
    if (f.size() < 5 || f.size() > 6)
      fail(path, ": line ", no, ": expected 'utterance channel start duration phone [confidence]', got ",
           f.size(), " fields");
    if (!valid_utf8(line)) fail(path, ": line ", no, ": malformed UTF-8");
    CtmSegment s;
    s.utt = std::string(f[0]);
    s.phone = std::string(f[4]);
    s.line = no;
    // Times are bounded (kMaxCtmSeconds) so that the frame arithmetic in
    // FrameMap::frames cannot overflow (a start of 5e12 s gave wrong counts).
    const auto time = [&](std::string_view field, double& out, const char* what) {
      if (!parse_number(field, out) || out < 0) fail(path, ": line ", no, ": bad ", what, " '", field, "'");
      if (!(out <= kMaxCtmSeconds))
        fail(path, ": line ", no, ": ", what, " '", field, "' is out of range (0 to ", kMaxCtmSeconds, " s)");
    };
    time(f[2], s.start, "start time");
    time(f[3], s.dur, "duration");
    out.push_back(std::move(s));
  }
  if (in->bad()) fail(path, ": read error");
  if (out.empty()) fail(path, ": no alignments");
  return out;
}

FrameMap FrameMap::parse(std::string_view spec, std::string_view what) {
  const auto parts = [&] {
    std::vector<std::string_view> p;
    std::size_t b = 0;
    for (std::size_t i = 0; i <= spec.size(); ++i)
      if (i == spec.size() || spec[i] == ',') {
        p.push_back(spec.substr(b, i - b));
        b = i + 1;
      }
    return p;
  }();
  if (parts.size() != 3)
    usage_fail(what, ": expected KERNEL,STRIDE,PADDING (e.g. 6,2,6), got '", spec, "'");
  FrameMap m;
  m.kernel = parse_int(parts[0], what);
  m.stride = parse_int(parts[1], what);
  m.padding = parse_int(parts[2], what);
  if (m.kernel < 1 || m.stride < 1 || m.padding < 0 || m.kernel > kMaxConv || m.stride > kMaxConv ||
      m.padding > kMaxConv)
    usage_fail(what, ": kernel and stride must be 1..", kMaxConv, " and padding 0..", kMaxConv, ", got '", spec,
               "'");
  return m;
}

FrameMap FrameMap::from_model(const std::string& path) {
  ArchiveReader in(path);
  Record rec;
  while (in.next(rec)) {
    if (rec.key != "options") continue;
    if (rec.tensor.dtype() != DType::Text) fail(path, ": record 'options' is not text");
    // The same parser as ModelOptions::from_text (core/key_values.h); lib/eval
    // does not link lib/model, so only the three conv keys are read here.
    const KeyValues kv = parse_key_values(rec.tensor.as_text());
    FrameMap m;
    const auto value = [&](std::string_view key, std::int64_t& out) {
      const auto it = kv.find(key);
      if (it == kv.end()) return false;
      try {
        out = parse_int(it->second, cat(path, ": options record: ", key));
      } catch (const UsageError& err) {
        throw Error(err.what());
      }
      return true;
    };
    const bool k = value("conv_kernel", m.kernel);
    const bool s = value("conv_stride", m.stride);
    const bool p = value("conv_padding", m.padding);
    if (!k || !s || !p)
      fail(path, ": the options record lacks conv_kernel, conv_stride or conv_padding");
    if (m.kernel < 1 || m.stride < 1 || m.padding < 0 || m.kernel > kMaxConv || m.stride > kMaxConv ||
        m.padding > kMaxConv)
      fail(path, ": conv_kernel and conv_stride must be 1..", kMaxConv, " and conv_padding 0..", kMaxConv);
    return m;
  }
  fail(path, ": no 'options' record (not a model archive?)");
}

std::pair<std::size_t, std::size_t> FrameMap::frames(double start, double end,
                                                     std::size_t T) const {
  // Everything in half-microseconds, so that k / 2 hops is an integer:
  // o >= (2 t + (2 p - k) hop) / (2 s hop).
  const auto hop_us = static_cast<std::int64_t>(std::llround(hop * 1e6));
  const auto first = [&](double t) -> std::size_t {
    const std::int64_t num = std::llround(t * 1e6) * 2 + (2 * padding - kernel) * hop_us;
    const std::int64_t den = 2 * stride * hop_us;
    if (num <= 0) return 0;
    const std::int64_t o = (num + den - 1) / den;
    return std::min<std::size_t>(static_cast<std::size_t>(o), T);
  };
  return {first(start), first(end)};
}

PhoneAverager::PhoneAverager(const std::vector<CtmSegment>& ctm, FrameMap map)
    : ctm_(ctm), map_(map), mean_(ctm.size()) {
  for (std::size_t i = 0; i < ctm.size(); ++i) by_utt_[ctm[i].utt].push_back(i);
}

bool PhoneAverager::add(const std::string& utt, const float* frames, std::size_t T,
                        std::size_t dim, const std::string& where) {
  const auto it = by_utt_.find(utt);
  if (it == by_utt_.end()) {
    if (unaligned_++ < kFirstFew) unaligned_first_.push_back(utt);
    return false;
  }
  if (seen_[utt]) fail(where, ": utterance '", utt, "' seen twice");
  seen_[utt] = true;
  ++fed_;
  if (dim_ == 0) dim_ = dim;
  if (dim != dim_) fail(where, ": ", dim, " features per frame, earlier utterances have ", dim_);
  for (std::size_t i : it->second) {
    const auto [b, e] = map_.frames(ctm_[i].start, ctm_[i].start + ctm_[i].dur, T);
    if (b >= e) {
      if (empty_++ < kFirstFew) empty_first_.push_back(i);
      continue;
    }
    std::vector<double> acc(dim, 0.0);
    for (std::size_t t = b; t < e; ++t)
      for (std::size_t c = 0; c < dim; ++c) acc[c] += frames[t * dim + c];
    auto& m = mean_[i];
    m.resize(dim);
    for (std::size_t c = 0; c < dim; ++c)
      m[c] = static_cast<float>(acc[c] / static_cast<double>(e - b));
  }
  return true;
}

namespace {

// "a, b, c and 4 more": the first few of `total` skipped items.
std::string first_few(const std::vector<std::string>& shown, std::size_t total) {
  std::string s;
  for (std::size_t i = 0; i < shown.size(); ++i) s += (i ? ", " : "") + shown[i];
  if (total > shown.size()) s += cat(" and ", total - shown.size(), " more");
  return s;
}

}  // namespace

std::string PhoneAverager::without_frames_message() const {
  std::vector<std::string> shown;
  for (std::size_t i : empty_first_) {
    const CtmSegment& c = ctm_[i];
    shown.push_back(cat("line ", c.line, ": ", c.utt, " '", c.phone, "' ", c.start, " s + ", c.dur, " s"));
  }
  return cat(empty_, " phone segments cover no frame; skipped (", first_few(shown, empty_), ")");
}

std::string PhoneAverager::unfed_message() const {
  std::vector<std::string> shown;
  std::size_t segments = 0, utts = 0;
  std::unordered_map<std::string, bool> counted;
  for (const CtmSegment& c : ctm_) {
    if (seen_.count(c.utt)) continue;
    ++segments;
    if (counted.emplace(c.utt, true).second && utts++ < kFirstFew) shown.push_back(c.utt);
  }
  return cat(segments, " segments of ", utts, " aligned utterances without activations; skipped (",
             first_few(shown, utts), ")");
}

std::string PhoneAverager::unaligned_message(const std::string& path) const {
  return cat(unaligned_, " utterances of ", path, " have no alignment; skipped (",
             first_few(unaligned_first_, unaligned_), ")");
}

std::size_t PhoneAverager::segments_of_unfed() const {
  std::size_t n = 0;
  for (const auto& [utt, lines] : by_utt_)
    if (!seen_.count(utt)) n += lines.size();
  return n;
}

ProbeData PhoneAverager::take() {
  ProbeData d;
  d.dim = dim_;
  std::vector<std::string> labels;
  std::unordered_map<std::string, std::uint32_t> group_of;
  for (std::size_t i = 0; i < ctm_.size(); ++i) {
    if (mean_[i].empty()) continue;
    d.x.insert(d.x.end(), mean_[i].begin(), mean_[i].end());
    labels.push_back(ctm_[i].phone);
    const auto g = group_of.emplace(ctm_[i].utt, static_cast<std::uint32_t>(group_of.size()));
    d.group.push_back(g.first->second);
    std::vector<float>().swap(mean_[i]);
  }
  set_labels(d, labels);
  return d;
}

}  // namespace sb::eval

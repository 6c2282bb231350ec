// What every importer shares: case, the anomaly report, held-out draws,
// reading (gzipped) text, and writing data directories atomically.
#include <locale.h>
#include <wctype.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

#include "core/error.h"
#include "core/random.h"
#include "core/strings.h"
#include "import/import.h"
#include "io/archive.h"
#include "io/output_file.h"

namespace sb::import {

namespace fs = std::filesystem;

CaseMode case_mode_from_name(const std::string& name) {
  if (name == "keep") return CaseMode::Keep;
  if (name == "lower") return CaseMode::Lower;
  if (name == "upper") return CaseMode::Upper;
  usage_fail("--case: '", name, "' is not one of keep, lower, upper");
}

std::string apply_case(const std::string& utf8, CaseMode mode) {
  if (mode == CaseMode::Keep) return utf8;
  // C.UTF-8 gives Unicode's simple case mappings without touching the
  // process's locale (which would change number formatting elsewhere).
  static const locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(0));
  std::string out;
  for (char32_t c : utf8_decode(utf8)) {
    char32_t m = c;
    if (loc != static_cast<locale_t>(0)) {
      m = static_cast<char32_t>(mode == CaseMode::Lower ? towlower_l(static_cast<wint_t>(c), loc)
                                                        : towupper_l(static_cast<wint_t>(c), loc));
    } else if (c < 128) {
      m = static_cast<char32_t>(mode == CaseMode::Lower ? std::tolower(static_cast<int>(c))
                                                        : std::toupper(static_cast<int>(c)));
    }
    out += utf8_encode(m);
  }
  return out;
}

std::string one_line(const std::string& text) {
  std::string s = text;
  for (char& c : s)
    if (c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f') c = ' ';
  return std::string(trim(s));
}

// ---- the report ----------------------------------------------------------------

void Report::add(const std::string& what, const std::string& name, const std::string& where,
                 const std::string& action) {
  if (strict_) fail(where, ": ", what, ": ", name, " (--strict makes every skip an error)");
  auto it = index_.find(what);
  if (it == index_.end()) {
    it = index_.emplace(what, list_.size()).first;
    list_.push_back(Anomaly{what, action, 0, {}, where});
  }
  Anomaly& a = list_[it->second];
  ++a.count;
  if (a.first.size() < kShown) a.first.push_back(name);
}

std::vector<std::string> Report::lines() const {
  std::vector<std::string> out;
  for (const Anomaly& a : list_) {
    std::string s = cat(a.count, " ", a.what, " (", a.action, "; first in ", a.first_where, "): ");
    for (std::size_t i = 0; i < a.first.size(); ++i) s += (i ? ", " : "") + a.first[i];
    if (a.count > a.first.size()) s += cat(" and ", a.count - a.first.size(), " more");
    out.push_back(s);
  }
  return out;
}

std::size_t Report::total() const {
  std::size_t n = 0;
  for (const Anomaly& a : list_) n += a.count;
  return n;
}

// ---- helpers -------------------------------------------------------------------

std::vector<std::string> choose_heldout(std::vector<std::string> keys, std::size_t n, std::uint64_t seed) {
  std::sort(keys.begin(), keys.end());
  Random rng(seed);
  rng.shuffle(keys);
  keys.resize(std::min(n, keys.size()));
  std::sort(keys.begin(), keys.end());
  return keys;
}

std::vector<std::string> read_lines(const std::string& path) {
  std::string body;
  if (path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0) {
    gzFile g = gzopen(path.c_str(), "rb");
    if (!g) fail(path, ": cannot open");
    char buf[65536];
    int n;
    while ((n = gzread(g, buf, sizeof buf)) > 0) body.append(buf, static_cast<std::size_t>(n));
    int err = 0;
    const char* msg = gzerror(g, &err);
    const bool bad = n < 0 || (err != Z_OK && err != Z_STREAM_END);
    const std::string why = bad ? msg : "";
    gzclose(g);
    if (bad) fail(path, ": cannot read: ", why);
  } else {
    std::ifstream f(path, std::ios::binary);
    if (!f) fail(path, ": cannot open");
    body.assign(std::istreambuf_iterator<char>(f), {});
    if (f.bad()) fail(path, ": cannot read");
  }
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < body.size()) {
    std::size_t e = body.find('\n', pos);
    if (e == std::string::npos) e = body.size();
    std::string line = body.substr(pos, e - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    pos = e + 1;
  }
  for (std::size_t i = 0; i < lines.size(); ++i)
    if (!valid_utf8(lines[i])) fail(path, ": line ", i + 1, ": not valid UTF-8");
  return lines;
}

// ---- writing ---------------------------------------------------------------------

void write_data_dirs(const std::string& outdir, const std::vector<Split>& splits, bool force) {
  // Refuse first, write nothing: a data directory from an earlier import
  // may have features computed from it.
  for (const Split& sp : splits) {
    const fs::path dir = fs::path(outdir) / sp.name;
    if (!force && fs::exists(dir / "wav.scp"))
      usage_fail(dir.string(), ": already holds a data directory (wav.scp); --force replaces it");
  }
  for (const Split& sp : splits) {
    std::error_code ec;
    fs::create_directories(fs::path(outdir) / sp.name, ec);
    if (ec) fail((fs::path(outdir) / sp.name).string(), ": cannot create directory: ", ec.message());
  }
  // Every file is open until all are written, then all are committed: a
  // failure on the way leaves only the previous files (or none).
  std::vector<std::unique_ptr<TextOutputFile>> texts;
  std::vector<std::unique_ptr<ArchiveWriter>> archives;
  for (const Split& sp : splits) {
    const std::string dir = (fs::path(outdir) / sp.name).string();
    std::vector<const Utterance*> utts;
    for (const Utterance& u : sp.utts) utts.push_back(&u);
    std::sort(utts.begin(), utts.end(), [](const Utterance* a, const Utterance* b) { return a->key < b->key; });
    auto table = [&](const char* file, auto value) {
      texts.push_back(std::make_unique<TextOutputFile>(dir + "/" + file));
      std::ostream& os = texts.back()->stream();
      for (const Utterance* u : utts) os << u->key << ' ' << value(*u) << '\n';
    };
    table("wav.scp", [](const Utterance& u) { return u.audio; });
    table("text", [](const Utterance& u) { return u.text; });
    table("utt2spk", [](const Utterance& u) { return u.speaker; });
    if (!sp.image_keys.empty()) {
      table("utt2img", [](const Utterance& u) { return u.image; });
      archives.push_back(std::make_unique<ArchiveWriter>(dir + "/images.sbt"));
      for (std::size_t i = 0; i < sp.image_keys.size(); ++i)
        archives.back()->write_f32(sp.image_keys[i], {static_cast<std::int64_t>(sp.image_vectors[i].size())},
                                   sp.image_vectors[i].data());
      // Each utterance's image vector under the utterance's key, for RSA
      // against the images (the paper's Table 4; sb-corpus writes the same
      // for val/test). Not for train: it would only repeat images.sbt x 5.
      if (sp.name != "train") {
        std::map<std::string, std::size_t> row;
        for (std::size_t i = 0; i < sp.image_keys.size(); ++i) row[sp.image_keys[i]] = i;
        archives.push_back(std::make_unique<ArchiveWriter>(dir + "/utt-images.sbt"));
        for (const Utterance* u : utts) {
          const auto& v = sp.image_vectors[row.at(u->image)];
          archives.back()->write_f32(u->key, {static_cast<std::int64_t>(v.size())}, v.data());
        }
      }
    }
  }
  for (auto& a : archives) a->close();
  for (auto& t : texts) t->commit();
}

}  // namespace sb::import

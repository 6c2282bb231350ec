// The two SPEECH/TEXT corpora: LibriSpeech (Panayotov et al. 2015) as
// distributed, and Debian's asterisk prompts (one speaker, 8 kHz). Both
// become OUTDIR/train and OUTDIR/heldout: sb-train --st takes train/, and
// heldout/ is for speech->text retrieval on utterances it never saw.
#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "core/error.h"
#include "core/strings.h"
#include "import/import.h"

namespace sb::import {

namespace fs = std::filesystem;

namespace {

// Splits `all` into train and heldout (n chosen with the seed).
std::vector<Split> train_heldout(std::vector<Utterance> all, long long n, std::uint64_t seed,
                                 const std::string& root) {
  if (all.empty()) fail(root, ": no utterance to import");
  if (n < 0 || static_cast<std::size_t>(n) >= all.size())
    fail(root, ": ", all.size(), " utterances: cannot hold out ", n, " and keep any for training (--heldout)");
  std::vector<std::string> keys;
  for (const auto& u : all) keys.push_back(u.key);
  const auto held = choose_heldout(keys, static_cast<std::size_t>(n), seed);
  const std::set<std::string> held_set(held.begin(), held.end());
  std::vector<Split> out(2);
  out[0].name = "train";
  out[1].name = "heldout";
  for (auto& u : all) out[held_set.count(u.key) ? 1 : 0].utts.push_back(std::move(u));
  if (out[1].utts.empty()) out.pop_back();  // --heldout 0: no heldout/ at all
  return out;
}

}  // namespace

ImportResult import_librispeech(const std::string& root_in, const ImportOptions& opt) {
  ImportResult res;
  res.report = Report(opt.strict);
  Report& rep = res.report;
  const fs::path root = fs::absolute(root_in).lexically_normal();
  if (!fs::is_directory(root)) fail(root_in, ": not a directory");
  // Every <spk>-<chapter>.trans.txt below ROOT (a subset, or LibriSpeech/
  // with several), in path order so that the result does not depend on
  // the file system's order.
  std::vector<fs::path> trans, flacs;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::follow_directory_symlink);
       it != fs::recursive_directory_iterator(); ++it) {
    if (!it->is_regular_file()) continue;
    const std::string name = it->path().filename().string();
    if (name.size() > 10 && name.compare(name.size() - 10, 10, ".trans.txt") == 0) trans.push_back(it->path());
    else if (it->path().extension() == ".flac") flacs.push_back(it->path());
  }
  std::sort(trans.begin(), trans.end());
  std::sort(flacs.begin(), flacs.end());
  if (trans.empty()) fail(root_in, ": no <speaker>-<chapter>.trans.txt below it (LibriSpeech's layout)");

  std::map<std::string, std::size_t> times_listed;
  struct Line {
    std::string key, text, where;
    fs::path dir;
  };
  std::vector<Line> lines;
  for (const fs::path& t : trans) {
    const std::string name = t.filename().string();
    const std::string prefix = name.substr(0, name.size() - 10) + "-";  // "<spk>-<chapter>-"
    const auto body = read_lines(t.string());
    for (std::size_t l = 0; l < body.size(); ++l) {
      std::string_view key, rest;
      if (!split_key(body[l], key, rest)) continue;
      const std::string where = cat(t.string(), ": line ", l + 1);
      // A line of another chapter's file is a structural error: the audio
      // it names would be looked for in the wrong directory.
      if (key.substr(0, prefix.size()) != prefix || key.size() == prefix.size())
        fail(where, ": utterance '", key, "' is not of ", prefix, "<n> (the file's speaker and chapter)");
      ++times_listed[std::string(key)];
      lines.push_back(Line{std::string(key), std::string(rest), where, t.parent_path()});
    }
  }
  std::set<std::string> transcribed, twice;
  std::vector<Utterance> all;
  for (const Line& ln : lines) {
    transcribed.insert(ln.key);
    if (times_listed[ln.key] > 1) {
      if (twice.insert(ln.key).second) rep.add("utterances listed more than once (all their lines skipped)", ln.key, ln.where);
      continue;
    }
    const fs::path audio = ln.dir / (ln.key + ".flac");
    if (!fs::exists(audio)) {
      rep.add("transcripts without audio", ln.key, ln.where);
      continue;
    }
    const std::string text = apply_case(one_line(ln.text), opt.case_mode);
    if (text.empty()) {
      rep.add("utterances with an empty transcript", ln.key, ln.where);
      continue;
    }
    // LibriSpeech's utterance ids start with the speaker: "<spk>-<ch>-<n>".
    all.push_back(Utterance{ln.key, audio.string(), text, ln.key.substr(0, ln.key.find('-')), ""});
  }
  for (const fs::path& f : flacs)
    if (!transcribed.count(f.stem().string()))
      rep.add("audio files without a transcript", f.stem().string(), f.parent_path().string(), "not imported");
  res.splits = train_heldout(std::move(all), opt.heldout < 0 ? 1000 : opt.heldout, opt.seed, root_in);
  return res;
}

ImportResult import_asterisk(const std::string& root_in, const ImportOptions& opt) {
  ImportResult res;
  res.report = Report(opt.strict);
  Report& rep = res.report;
  const fs::path root = fs::absolute(root_in).lexically_normal();
  if (!fs::is_directory(root)) fail(root_in, ": not a directory");
  std::string list = opt.transcripts;
  if (list.empty()) {
    list = (root / "core-sounds-en.txt").string();
    if (!fs::exists(list)) list = "/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz";
  }
  // Lines "name: text" (name may hold a directory: "digits/1"); ';' starts
  // a comment.
  const auto body = read_lines(list);
  std::map<std::string, std::size_t> times_listed;
  struct Line {
    std::string name, text, where;
  };
  std::vector<Line> lines;
  for (std::size_t l = 0; l < body.size(); ++l) {
    const std::string_view s = trim(body[l]);
    if (s.empty() || s[0] == ';') continue;
    const std::size_t colon = s.find(':');
    const std::string where = cat(list, ": line ", l + 1);
    if (colon == std::string_view::npos || colon == 0) fail(where, ": expected 'name: text'");
    const std::string name(trim(s.substr(0, colon)));
    if (split_ws(name).size() != 1) fail(where, ": prompt name '", name, "' holds whitespace");
    ++times_listed[name];
    lines.push_back(Line{name, std::string(trim(s.substr(colon + 1))), where});
  }
  std::set<std::string> listed, twice, keys;
  std::vector<Utterance> all;
  for (const Line& ln : lines) {
    listed.insert(ln.name);
    if (times_listed[ln.name] > 1) {
      if (twice.insert(ln.name).second) rep.add("prompts listed more than once (all their lines skipped)", ln.name, ln.where);
      continue;
    }
    const fs::path audio = root / (ln.name + ".wav");
    if (!fs::exists(audio)) {
      rep.add("transcripts without audio", ln.name, ln.where);
      continue;
    }
    // "[ascending tones]", "[this is a simple beep tone]": a description of
    // a sound that is not speech, so no transcript of it.
    if (ln.text.size() >= 2 && ln.text.front() == '[' && ln.text.back() == ']') {
      rep.add("prompts that are not speech ('[...]' descriptions)", ln.name, ln.where);
      continue;
    }
    const std::string text = apply_case(one_line(ln.text), opt.case_mode);
    if (text.empty()) {
      rep.add("prompts with an empty transcript", ln.name, ln.where);
      continue;
    }
    std::string key = ln.name;  // "digits/1" -> "digits-1": keys hold no '/'
    std::replace(key.begin(), key.end(), '/', '-');
    if (!keys.insert(key).second) fail(ln.where, ": prompt '", ln.name, "' gives the key '", key, "' of another prompt");
    // One voice recorded every prompt (Allison Smith).
    all.push_back(Utterance{key, audio.string(), text, "allison", ""});
  }
  std::vector<std::string> unlisted;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::follow_directory_symlink);
       it != fs::recursive_directory_iterator(); ++it) {
    if (!it->is_regular_file() || it->path().extension() != ".wav") continue;
    std::string name = fs::relative(it->path(), root).replace_extension().generic_string();
    if (!listed.count(name)) unlisted.push_back(name);
  }
  std::sort(unlisted.begin(), unlisted.end());
  for (const auto& name : unlisted) rep.add("audio files without a transcript", name, root.string(), "not imported");
  std::sort(all.begin(), all.end(), [](const Utterance& a, const Utterance& b) { return a.key < b.key; });
  res.splits = train_heldout(std::move(all), opt.heldout < 0 ? 60 : opt.heldout, opt.seed, root_in);
  return res;
}

}  // namespace sb::import

#include "corpus/corpus.h"

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "core/error.h"
#include "corpus/grammar.h"
#include "io/archive.h"

namespace sb::corpus {

namespace fs = std::filesystem;

namespace {

// Stream labels for derive_seed: each kind of random choice has its own
// stream per item, so no choice depends on the order of generation.
enum Stream : std::uint64_t {
  kScene = 1, kCaption = 2, kSpeakerChoice = 3, kJitter = 4, kNuisance = 5,
  kDisjointText = 6, kDisjointSpeaker = 7, kSpeakers = 10, kDisjointSpeakers = 11,
};

std::string image_id(std::uint64_t g) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "i%05llu", static_cast<unsigned long long>(g + 1));
  return buf;
}

void jitter(Caption& c, std::uint64_t seed, std::uint64_t stream_item) {
  Rng r(derive_seed(seed, kJitter, stream_item));
  // A little per-utterance variation: +-3% rate, +-2 pitch units.
  c.rate_factor = 1.0 + 0.03 * (2.0 * r.uniform() - 1.0);
  c.pitch_offset = 2.0 * (2.0 * r.uniform() - 1.0);
}

// Writes a text file all at once, failing with its name.
void write_text_file(const fs::path& path, const std::string& body) {
  std::ofstream f(path, std::ios::binary);
  if (!f) fail(path.string(), ": cannot create");
  f << body;
  f.close();
  if (!f) fail(path.string(), ": write failed");
}

// ---- parallel synthesis ----------------------------------------------------

struct SynthJob {
  const Caption* cap;
  const Speaker* spk;
  std::string wav;  // final path
};

// One shared-memory slot per worker: the child's CTM lines or its error.
constexpr std::size_t kSlotBytes = std::size_t{4} << 20;
struct Slot {
  int ok;
  int len;
  char text[kSlotBytes - 2 * sizeof(int)];
};

// Utterances are spoken in fixed chunks, each by one fresh process: the
// chunks, not -j, decide which utterances share an engine's history, so the
// corpus stays a function of the seed while forks stay few (a fork per
// utterance costs more than the synthesis on a loaded machine).
constexpr std::size_t kChunk = 32;

std::string format_ctm(const std::string& utt, const SpokenUtterance& u) {
  std::string out;
  char line[256];
  for (const auto& p : u.phones) {
    // Whole milliseconds at both ends, so segments tile exactly.
    const long long s = std::llround(p.start * 1000.0);
    const long long e = std::llround((p.start + p.dur) * 1000.0);
    if (e <= s) continue;
    std::snprintf(line, sizeof line, "%s 1 %lld.%03lld %lld.%03lld %s\n", utt.c_str(), s / 1000, s % 1000,
                  (e - s) / 1000, (e - s) % 1000, p.phone.c_str());
    out += line;
  }
  return out;
}

[[noreturn]] void run_child(const std::vector<SynthJob>& jobs, std::size_t begin, std::size_t end, Slot* slot) {
  int code = 0;
  std::string ctm;
  std::string utt;
  try {
    for (std::size_t j = begin; j < end; ++j) {
      const SynthJob& job = jobs[j];
      utt = job.cap->utt;
      const SpokenUtterance u = speak(job.cap->text, *job.spk, job.cap->rate_factor, job.cap->pitch_offset);
      const std::string tmp = job.wav + ".tmp";
      write_wav(tmp, u.samples);
      if (std::rename(tmp.c_str(), job.wav.c_str()) != 0) fail(job.wav, ": cannot rename: ", std::strerror(errno));
      ctm += format_ctm(utt, u);
      ctm += '\0';  // separates the chunk's utterances
    }
    if (ctm.size() > sizeof slot->text) fail(utt, ": alignments of the chunk too long");
    std::memcpy(slot->text, ctm.data(), ctm.size());
    slot->len = static_cast<int>(ctm.size());
    slot->ok = 1;
  } catch (const std::exception& e) {
    const std::string msg = utt + ": " + e.what();
    const std::size_t n = std::min(msg.size(), sizeof slot->text);
    std::memcpy(slot->text, msg.data(), n);
    slot->len = static_cast<int>(n);
    slot->ok = 0;
    code = 1;
  }
  _exit(code);  // no atexit handlers, no flushing the parent's buffers twice
}

// Speaks every job, chunk by chunk, `procs` fresh children at a time (see
// speech.h for why); returns each job's CTM lines.
std::vector<std::string> synthesize(const std::vector<SynthJob>& jobs, int procs, const Progress& progress) {
  espeak_init();  // in the parent, before any fork: children inherit a pristine engine
  procs = std::max(1, procs);
  void* mem = mmap(nullptr, sizeof(Slot) * static_cast<std::size_t>(procs), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) fail("cannot map shared memory: ", std::strerror(errno));
  Slot* slots = static_cast<Slot*>(mem);
  std::vector<pid_t> pid(static_cast<std::size_t>(procs), 0);
  std::vector<std::size_t> job_of(static_cast<std::size_t>(procs), 0);
  std::vector<std::string> ctm(jobs.size());
  std::string error;
  std::size_t next = 0, done = 0, running = 0;
  const auto t0 = std::chrono::steady_clock::now();
  std::size_t reported = 0;
  std::fflush(nullptr);  // nothing buffered may be written twice by a child
  for (;;) {
    for (std::size_t s = 0; s < pid.size() && next < jobs.size() && error.empty(); ++s) {
      if (pid[s] != 0) continue;
      slots[s].ok = 0;
      slots[s].len = 0;
      const pid_t p = fork();
      if (p < 0) {
        error = cat("cannot fork: ", std::strerror(errno));
        break;
      }
      if (p == 0) run_child(jobs, next, std::min(jobs.size(), next + kChunk), &slots[s]);
      pid[s] = p;
      job_of[s] = next;
      next = std::min(jobs.size(), next + kChunk);
      ++running;
    }
    if (running == 0) break;
    int st = 0;
    const pid_t p = waitpid(-1, &st, 0);
    if (p < 0) {
      if (errno == EINTR) continue;
      munmap(mem, sizeof(Slot) * pid.size());
      fail("waitpid: ", std::strerror(errno));
    }
    const auto it = std::find(pid.begin(), pid.end(), p);
    if (it == pid.end()) continue;
    const auto s = static_cast<std::size_t>(it - pid.begin());
    pid[s] = 0;
    --running;
    const Slot& slot = slots[s];
    const std::size_t j = job_of[s];
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && slot.ok == 1) {
      const std::string all(slot.text, static_cast<std::size_t>(slot.len));
      std::size_t pos = 0;
      for (std::size_t k = j; k < std::min(jobs.size(), j + kChunk); ++k) {
        const std::size_t z = all.find('\0', pos);
        ctm[k] = all.substr(pos, z - pos);
        pos = z + 1;
        ++done;
      }
    } else if (error.empty()) {
      error = slot.len > 0 ? std::string(slot.text, static_cast<std::size_t>(slot.len))
                           : cat(jobs[j].cap->utt, ": synthesis process ",
                                 WIFSIGNALED(st) ? cat("killed by signal ", WTERMSIG(st)) : "failed");
    }
    if (progress && error.empty() &&
        (done - reported >= std::max<std::size_t>(1, jobs.size() / 10) || done == jobs.size())) {
      reported = done;
      const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      progress(cat("speech: ", done, "/", jobs.size(), " utterances (", static_cast<int>(sec), " s)"));
    }
  }
  munmap(mem, sizeof(Slot) * pid.size());
  if (!error.empty()) fail(error);
  return ctm;
}

}  // namespace

const std::vector<SizePreset>& size_presets() {
  static const std::vector<SizePreset> p = {
      {"tiny", 40, 24, 16, 60, 12, 4},
      {"small", 800, 100, 100, 1000, 40, 10},
      {"flickr8k", 6000, 1000, 1000, 8000, 104, 20},
  };
  return p;
}

const SizePreset& size_preset(const std::string& name) {
  for (const auto& p : size_presets())
    if (p.name == name) return p;
  usage_fail("unknown size '", name, "' (tiny, small, flickr8k)");
}

std::vector<float> image_vector(const ImageMap& map, const Scene& s, std::uint64_t seed,
                                std::uint64_t image_index) {
  Rng r(derive_seed(seed, kNuisance, image_index));
  return map.features(s, r);
}

std::vector<Split> plan_corpus(const CorpusOptions& opt, std::vector<Speaker>* speakers_out,
                               std::vector<Speaker>* disjoint_out) {
  const SizePreset& z = opt.size;
  if (z.train < 0 || z.val < 0 || z.test < 0 || z.disjoint < 0) usage_fail("split sizes must be >= 0");
  if (z.speakers < 1 || (z.disjoint > 0 && z.disjoint_speakers < 1)) usage_fail("need at least one speaker");
  if (opt.captions < 1 || opt.captions > 99) usage_fail("--captions must be in 1..99");
  Rng srng(derive_seed(opt.seed, kSpeakers));
  const std::vector<Speaker> speakers = make_speakers(z.speakers, srng, false, "s");
  Rng drng(derive_seed(opt.seed, kDisjointSpeakers));
  const std::vector<Speaker> dspk = make_speakers(z.disjoint_speakers, drng, true, "d");
  // Speakers are unevenly busy, as in Flickr8K (a few speakers read most
  // captions): weight 1/(rank+1)^0.6.
  std::vector<double> weight;
  for (std::size_t i = 0; i < speakers.size(); ++i) weight.push_back(1.0 / std::pow(static_cast<double>(i + 1), 0.6));

  std::vector<Split> out;
  std::uint64_t g = 0;
  const std::pair<const char*, int> parts[] = {{"train", z.train}, {"val", z.val}, {"test", z.test}};
  for (const auto& [name, n] : parts) {
    Split sp;
    sp.name = name;
    for (int i = 0; i < n; ++i, ++g) {
      Rng scene_rng(derive_seed(opt.seed, kScene, g));
      const Scene scene = sample_scene(scene_rng);
      const std::string img = image_id(g);
      sp.images.push_back(img);
      sp.scenes.push_back(scene);
      sp.image_index.push_back(g);
      Rng cap_rng(derive_seed(opt.seed, kCaption, g));
      for (int k = 1; k <= opt.captions; ++k) {
        Caption c;
        c.image = img;
        c.text = caption(scene, cap_rng);
        const std::uint64_t item = g * 100 + static_cast<std::uint64_t>(k);
        Rng who(derive_seed(opt.seed, kSpeakerChoice, item));
        c.speaker = speakers[who.weighted(weight)].id;
        c.utt = c.speaker + "-" + img + "-" + std::to_string(k);
        jitter(c, opt.seed, item);
        sp.captions.push_back(c);
      }
    }
    std::sort(sp.captions.begin(), sp.captions.end(),
              [](const Caption& a, const Caption& b) { return a.utt < b.utt; });
    out.push_back(std::move(sp));
  }
  Split d;
  d.name = "st-disjoint";
  for (int i = 0; i < z.disjoint; ++i) {
    Caption c;
    Rng text_rng(derive_seed(opt.seed, kDisjointText, static_cast<std::uint64_t>(i)));
    c.text = disjoint_sentence(text_rng);
    Rng who(derive_seed(opt.seed, kDisjointSpeaker, static_cast<std::uint64_t>(i)));
    c.speaker = dspk[who.below(dspk.size())].id;
    char key[32];
    std::snprintf(key, sizeof key, "-st%05d", i + 1);
    c.utt = c.speaker + key;
    jitter(c, opt.seed, (std::uint64_t{1} << 40) + static_cast<std::uint64_t>(i));
    d.captions.push_back(c);
  }
  std::sort(d.captions.begin(), d.captions.end(),
            [](const Caption& a, const Caption& b) { return a.utt < b.utt; });
  out.push_back(std::move(d));
  if (speakers_out) *speakers_out = speakers;
  if (disjoint_out) *disjoint_out = dspk;
  return out;
}

void generate_corpus(const CorpusOptions& opt, const std::string& out, const Progress& progress) {
  std::vector<Speaker> speakers, dspk;
  const std::vector<Split> splits = plan_corpus(opt, &speakers, &dspk);
  const fs::path root = fs::absolute(fs::path(out)).lexically_normal();
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) fail(root.string(), ": cannot create: ", ec.message());
  // Refuse before touching anything, so a refusal leaves no half-made split.
  if (!opt.force)
    for (const auto& sp : splits)
      if (fs::exists(root / sp.name)) fail((root / sp.name).string(), ": exists (use --force to replace it)");
  for (const auto& sp : splits) {
    const fs::path dir = root / sp.name;
    if (fs::exists(dir)) {
      fs::remove_all(dir, ec);
      if (ec) fail(dir.string(), ": cannot remove: ", ec.message());
    }
    fs::create_directories(dir / "wav", ec);
    if (ec) fail((dir / "wav").string(), ": cannot create: ", ec.message());
  }

  std::map<std::string, const Speaker*> by_id;
  std::string spk_table;
  for (const auto* list : {&speakers, &dspk})
    for (const auto& s : *list) {
      by_id[s.id] = &s;
      spk_table += cat(s.id, " ", s.voice, " rate=", s.rate, " pitch=", s.pitch, " range=", s.range, "\n");
    }
  write_text_file(root / "speakers", spk_table);

  const ImageMap map(opt.image_map);
  std::vector<SynthJob> jobs;
  std::vector<std::size_t> first_job;
  for (const auto& sp : splits) {
    const fs::path dir = root / sp.name;
    std::string text, utt2spk, utt2img, scp, img2scene;
    std::map<std::string, std::vector<std::string>> spk2utt;
    first_job.push_back(jobs.size());
    for (const auto& c : sp.captions) {
      const std::string wav = (dir / "wav" / (c.utt + ".wav")).string();
      text += c.utt + " " + c.text + "\n";
      utt2spk += c.utt + " " + c.speaker + "\n";
      if (!c.image.empty()) utt2img += c.utt + " " + c.image + "\n";
      scp += c.utt + " " + wav + "\n";
      spk2utt[c.speaker].push_back(c.utt);
      jobs.push_back({&c, by_id.at(c.speaker), wav});
    }
    std::string s2u;
    for (const auto& [spk, utts] : spk2utt) {
      s2u += spk;
      for (const auto& u : utts) s2u += " " + u;
      s2u += "\n";
    }
    write_text_file(dir / "text", text);
    write_text_file(dir / "utt2spk", utt2spk);
    write_text_file(dir / "spk2utt", s2u);
    if (opt.speech) write_text_file(dir / "wav.scp", scp);
    if (!sp.images.empty()) {
      write_text_file(dir / "utt2img", utt2img);
      ArchiveWriter images((dir / "images.sbt").string());
      const bool keep = sp.name != "train";  // utt-images.sbt below reuses them
      std::vector<std::vector<float>> kept;
      for (std::size_t i = 0; i < sp.images.size(); ++i) {
        img2scene += sp.images[i] + " " + describe(sp.scenes[i]) + "\n";
        std::vector<float> v = image_vector(map, sp.scenes[i], opt.seed, sp.image_index[i]);
        images.write_f32(sp.images[i], {static_cast<std::int64_t>(v.size())}, v.data());
        if (keep) kept.push_back(std::move(v));
      }
      images.close();
      write_text_file(dir / "img2scene", img2scene);
      // Evaluation splits also get each utterance's image vector keyed by
      // the utterance: RSA against the image space (the paper's Table 4)
      // compares utterance by utterance, and sb-rsa matches items by key.
      if (keep) {
        std::map<std::string, std::size_t> index;
        for (std::size_t i = 0; i < sp.images.size(); ++i) index[sp.images[i]] = i;
        ArchiveWriter by_utt((dir / "utt-images.sbt").string());
        for (const auto& c : sp.captions) {
          const std::vector<float>& v = kept[index.at(c.image)];
          by_utt.write_f32(c.utt, {static_cast<std::int64_t>(v.size())}, v.data());
        }
        by_utt.close();
      }
    }
    if (progress)
      progress(cat(sp.name, ": ", sp.images.size(), " images, ", sp.captions.size(), " captions"));
  }
  if (!opt.speech) return;
  const std::vector<std::string> ctm = synthesize(jobs, opt.jobs, progress);
  for (std::size_t s = 0; s < splits.size(); ++s) {
    const std::size_t end = s + 1 < splits.size() ? first_job[s + 1] : jobs.size();
    std::string body;
    for (std::size_t j = first_job[s]; j < end; ++j) body += ctm[j];
    write_text_file(root / splits[s].name / "ali.ctm", body);
  }
}

}  // namespace sb::corpus

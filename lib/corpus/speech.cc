#include "corpus/speech.h"

#include <espeak-ng/speak_lib.h>
#include <sndfile.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>

#include "audio/resample.h"
#include "core/error.h"

namespace sb::corpus {

namespace {

constexpr double kOutRate = 16000.0;

// What the synthesis callback collects: espeak-ng's 22,050 Hz samples and
// the sample index at which each phoneme starts.
struct Capture {
  std::vector<short> samples;
  std::vector<std::pair<int, std::string>> phonemes;  // (sample, IPA name)
};
Capture* g_capture = nullptr;
int g_rate = 0;

int on_synth(short* wav, int n, espeak_EVENT* ev) {
  if (!g_capture) return 0;
  if (wav && n > 0) g_capture->samples.insert(g_capture->samples.end(), wav, wav + n);
  for (; ev && ev->type != espeakEVENT_LIST_TERMINATED; ++ev)
    if (ev->type == espeakEVENT_PHONEME) g_capture->phonemes.emplace_back(ev->sample, ev->id.string);
  return 0;
}

const std::map<std::string, std::string>& ipa_table() {
  // espeak-ng's IPA names (all eight English accents, caption and disjoint
  // vocabularies) onto ARPAbet's 39 phones. Accent-specific vowels go to
  // the nearest ARPAbet vowel, r-coloured vowels to the vowel (or "er"),
  // syllabic consonants to the consonant, flaps and glottal stops to "t".
  static const std::map<std::string, std::string> t = {
      {"", "sil"},
      // vowels
      {"a", "ae"}, {"æ", "ae"}, {"a:", "aa"}, {"aː", "aa"}, {"aa", "aa"}, {"ɑː", "aa"}, {"ɑ", "aa"},
      {"ɑə", "aa"}, {"ɑːɹ", "aa"}, {"ɒ", "aa"}, {"ɐ", "ah"}, {"ə", "ah"}, {"ʌ", "ah"},
      {"aɪ", "ay"}, {"aɪə", "ay"}, {"aɪɚ", "ay"}, {"əɪ", "ay"}, {"aʊ", "aw"}, {"æʊ", "aw"}, {"ʌʉ", "aw"},
      {"ɔ", "ao"}, {"ɔː", "ao"}, {"ɔːɹ", "ao"}, {"ɔə", "ao"}, {"oə", "ao"}, {"oːɹ", "ao"},
      {"ɔɪ", "oy"}, {"oɪ", "oy"},
      {"ɚ", "er"}, {"ɜ", "er"}, {"ɜː", "er"}, {"əɹ", "er"}, {"ʌɹ", "er"},
      {"e", "eh"}, {"ɛ", "eh"}, {"eə", "eh"}, {"ɛə", "eh"}, {"ɛɹ", "eh"},
      {"eː", "ey"}, {"ei", "ey"}, {"eɪ", "ey"},
      {"i", "iy"}, {"iː", "iy"}, {"iə", "iy"}, {"ɪɹ", "iy"}, {"ɪə", "iy"},
      {"ɪ", "ih"}, {"ᵻ", "ih"},
      {"o", "ow"}, {"oː", "ow"}, {"oʊ", "ow"}, {"əʊ", "ow"}, {"əu", "ow"}, {"ʌʊ", "ow"},
      {"u", "uw"}, {"uː", "uw"}, {"ʉ", "uw"}, {"ʉː", "uw"}, {"ʉɹ", "uw"},
      {"ʊ", "uh"}, {"ʊə", "uh"}, {"ʊɹ", "uh"},
      // consonants
      {"b", "b"}, {"d", "d"}, {"f", "f"}, {"ɡ", "g"}, {"g", "g"}, {"h", "hh"}, {"j", "y"}, {"ʲ", "y"},
      {"k", "k"}, {"x", "k"}, {"l", "l"}, {"əl", "l"}, {"m", "m"}, {"n", "n"}, {"n̩", "n"}, {"ŋ", "ng"},
      {"p", "p"}, {"r", "r"}, {"ɹ", "r"}, {"s", "s"}, {"t", "t"}, {"t̪", "t"}, {"ɾ", "t"}, {"ʔ", "t"},
      {"tʃ", "ch"}, {"dʒ", "jh"}, {"v", "v"}, {"w", "w"}, {"ʍ", "w"}, {"z", "z"}, {"ð", "dh"},
      {"θ", "th"}, {"ʃ", "sh"}, {"ʒ", "zh"},
  };
  return t;
}

}  // namespace

const std::vector<std::string>& accents() {
  static const std::vector<std::string> a = {"en", "en-us", "en-gb-scotland", "en-gb-x-gbclan",
                                             "en-gb-x-gbcwmd", "en-gb-x-rp", "en-029", "en-us-nyc"};
  return a;
}

const std::vector<std::string>& caption_variants() {
  static const std::vector<std::string> v = {"m1", "m2", "m3", "m4", "m5", "m6", "m7",
                                             "m8", "f1", "f2", "f3", "f4", "f5"};
  return v;
}

const std::vector<std::string>& disjoint_variants() {
  // Named variants that sound like people (not the robots and effects).
  static const std::vector<std::string> v = {"adam", "Alex", "Andy", "Annie", "benjamin", "david", "ed",
                                             "edward", "Gene", "john", "linda", "Michael", "Mike", "paul",
                                             "robert", "steph", "travis", "victor", "zac", "aunty"};
  return v;
}

std::vector<Speaker> make_speakers(int n, Rng& rng, bool disjoint, const std::string& prefix) {
  const auto& acc = accents();
  const auto& var = disjoint ? disjoint_variants() : caption_variants();
  // Every accent x variant pair once, in a seeded order; more speakers than
  // pairs reuse pairs with other rate/pitch/range.
  std::vector<std::string> voices;
  for (const auto& a : acc)
    for (const auto& v : var) voices.push_back(a + "+" + v);
  rng.shuffle(voices);
  std::vector<Speaker> out;
  for (int i = 0; i < n; ++i) {
    Speaker s;
    char id[32];
    std::snprintf(id, sizeof id, "%s%03d", prefix.c_str(), i + 1);
    s.id = id;
    s.voice = voices[static_cast<std::size_t>(i) % voices.size()];
    s.rate = 140 + static_cast<int>(rng.below(61));   // 140..200 wpm (espeak default 175)
    s.pitch = 25 + static_cast<int>(rng.below(51));   // 25..75
    s.range = 20 + static_cast<int>(rng.below(61));   // 20..80
    out.push_back(s);
  }
  return out;
}

const std::vector<std::string>& phone_inventory() {
  static const std::vector<std::string> p = {
      "aa", "ae", "ah", "ao", "aw", "ay", "b", "ch", "d", "dh", "eh", "er", "ey", "f",
      "g",  "hh", "ih", "iy", "jh", "k", "l", "m", "n", "ng", "ow", "oy", "p", "r",
      "s",  "sh", "t", "th", "uh", "uw", "v", "w", "y", "z", "zh", "sil"};
  return p;
}

std::string map_phone(const std::string& ipa) {
  const auto& t = ipa_table();
  auto it = t.find(ipa);
  if (it != t.end()) return it->second;
  // Unlisted variants: drop stress and length marks and combining
  // diacritics (U+0300..U+036F) and try again.
  std::string base;
  for (std::size_t i = 0; i < ipa.size();) {
    const unsigned char c = static_cast<unsigned char>(ipa[i]);
    const std::size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    const std::string ch = ipa.substr(i, len);
    bool drop = ch == "ˈ" || ch == "ˌ" || ch == "ː" || ch == ":";
    if (len == 2) {
      const unsigned cp = ((c & 0x1Fu) << 6) | (static_cast<unsigned char>(ipa[i + 1]) & 0x3Fu);
      drop = drop || (cp >= 0x300 && cp <= 0x36F);
    }
    if (!drop) base += ch;
    i += len;
  }
  it = t.find(base);
  if (it != t.end()) return it->second;
  fail("espeak-ng phoneme '", ipa, "' has no place in the phone inventory");
}

void espeak_init() {
  if (g_rate > 0) return;
  // Phoneme events with IPA names (bit 1): one notation for every accent.
  const int rate = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, nullptr,
                                     espeakINITIALIZE_PHONEME_EVENTS | espeakINITIALIZE_PHONEME_IPA |
                                         espeakINITIALIZE_DONT_EXIT);
  if (rate <= 0) fail("espeak-ng: cannot initialise (is espeak-ng-data installed?)");
  espeak_SetSynthCallback(on_synth);
  g_rate = rate;
}

SpokenUtterance speak(const std::string& text, const Speaker& spk, double rate_factor,
                      double pitch_offset) {
  espeak_init();
  if (espeak_SetVoiceByName(spk.voice.c_str()) != EE_OK)
    fail("espeak-ng: no voice '", spk.voice, "'");
  const int rate = static_cast<int>(std::lround(spk.rate * rate_factor));
  const int pitch = std::clamp(static_cast<int>(std::lround(spk.pitch + pitch_offset)), 0, 100);
  espeak_SetParameter(espeakRATE, std::clamp(rate, 80, 450), 0);
  espeak_SetParameter(espeakPITCH, pitch, 0);
  espeak_SetParameter(espeakRANGE, spk.range, 0);

  Capture cap;
  g_capture = &cap;
  const espeak_ERROR err = espeak_Synth(text.c_str(), text.size() + 1, 0, POS_CHARACTER, 0,
                                        espeakCHARS_UTF8, nullptr, nullptr);
  g_capture = nullptr;
  if (err != EE_OK) fail("espeak-ng: synthesis failed for \"", text, "\"");
  if (cap.samples.empty()) fail("espeak-ng: no audio for \"", text, "\"");

  // Resample 22,050 -> 16,000 Hz (libsoxr via lib/audio; the output length
  // is fixed by the input length, so alignments convert exactly).
  std::vector<float> in(cap.samples.size());
  for (std::size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>(cap.samples[i]) / 32768.0f;
  const std::vector<float> out = sb::resample(in.data(), in.size(), g_rate, kOutRate);

  SpokenUtterance u;
  u.samples.resize(out.size());
  for (std::size_t i = 0; i < out.size(); ++i)
    u.samples[i] = static_cast<std::int16_t>(std::clamp(std::lround(out[i] * 32768.0f), -32768L, 32767L));

  // Phones: each phoneme event starts a segment that runs to the next one;
  // the last runs to the end of the audio. Empty names are pauses ("sil").
  const double total = u.duration();
  for (std::size_t i = 0; i < cap.phonemes.size(); ++i) {
    const double t0 = std::min(total, cap.phonemes[i].first / static_cast<double>(g_rate));
    const double t1 = i + 1 < cap.phonemes.size()
                          ? std::min(total, cap.phonemes[i + 1].first / static_cast<double>(g_rate))
                          : total;
    const std::string phone = map_phone(cap.phonemes[i].second);
    if (t1 - t0 < 0.0005) continue;  // zero-length events (two pause marks in a row)
    if (!u.phones.empty() && phone == "sil" && u.phones.back().phone == "sil") {
      u.phones.back().dur = t1 - u.phones.back().start;
      continue;
    }
    u.phones.push_back({t0, t1 - t0, phone});
  }
  // Sub-millisecond drops leave tiny gaps: close them so segments tile the audio.
  for (std::size_t i = 0; i + 1 < u.phones.size(); ++i)
    u.phones[i].dur = u.phones[i + 1].start - u.phones[i].start;
  if (!u.phones.empty()) {
    PhoneSegment& first = u.phones.front();
    if (first.start > 0 && first.phone == "sil") {
      first.dur += first.start;
      first.start = 0;
    } else if (first.start > 0) {
      u.phones.insert(u.phones.begin(), PhoneSegment{0, first.start, "sil"});
    }
    u.phones.back().dur = total - u.phones.back().start;
  }
  return u;
}

void write_wav(const std::string& path, const std::vector<std::int16_t>& samples) {
  SF_INFO info{};
  info.samplerate = static_cast<int>(kOutRate);
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
  if (!f) fail(path, ": cannot write: ", sf_strerror(nullptr));
  const sf_count_t n = sf_write_short(f, samples.data(), static_cast<sf_count_t>(samples.size()));
  const bool ok = n == static_cast<sf_count_t>(samples.size());
  const std::string why = ok ? "" : sf_strerror(f);
  if (sf_close(f) != 0 || !ok) fail(path, ": write failed: ", why.empty() ? "close failed" : why);
}

}  // namespace sb::corpus

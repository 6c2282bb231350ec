// lib/corpus: the generator is deterministic, the image map has the
// properties sb-corpus(1) documents, the grammar covers its lexicon, and
// the phone alignments agree with the audio.
#define BOOST_TEST_MODULE corpus
#include <boost/test/unit_test.hpp>

#include "sb_config.h"

#if SB_HAVE_ESPEAK

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "corpus/corpus.h"
#include "corpus/grammar.h"
#include "corpus/image_map.h"
#include "corpus/rng.h"
#include "corpus/scene.h"
#include "corpus/speech.h"
#include "io/archive.h"

using namespace sb;
using namespace sb::corpus;

namespace {

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    ab += static_cast<double>(a[i]) * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += static_cast<double>(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

CorpusOptions small_options(std::uint64_t seed) {
  CorpusOptions o;
  o.size = size_preset("tiny");
  o.seed = seed;
  return o;
}

std::vector<std::string> words_of(const std::string& s) {
  std::vector<std::string> out;
  std::string w;
  for (char c : s + " ") {
    if (c == ' ' || c == ',') {
      if (!w.empty()) out.push_back(w);
      w.clear();
    } else {
      w += c;
    }
  }
  return out;
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/sb-corpus-test.XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(random_streams)

BOOST_AUTO_TEST_CASE(same_seed_same_stream_and_streams_differ) {
  Rng a(42), b(42), c(43);
  bool differ = false;
  for (int i = 0; i < 100; ++i) {
    const auto x = a.next();
    BOOST_TEST(x == b.next());
    differ = differ || x != c.next();
  }
  BOOST_TEST(differ);
  BOOST_TEST(derive_seed(1, 2, 3) != derive_seed(1, 3, 2));
  BOOST_TEST(derive_seed(1, 2, 3) == derive_seed(1, 2, 3));
}

BOOST_AUTO_TEST_CASE(below_and_normal_are_sane) {
  Rng r(7);
  std::vector<int> hist(5, 0);
  double sum = 0, sq = 0;
  const int n = 50000;
  for (int i = 0; i < n; ++i) {
    hist[r.below(5)]++;
    const double x = r.normal();
    sum += x;
    sq += x * x;
  }
  for (int h : hist) BOOST_TEST(std::abs(h - n / 5) < n / 50);
  BOOST_TEST(std::abs(sum / n) < 0.03);
  BOOST_TEST(std::abs(sq / n - 1.0) < 0.05);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(plan)

BOOST_AUTO_TEST_CASE(same_seed_gives_the_same_corpus) {
  const auto a = plan_corpus(small_options(5));
  const auto b = plan_corpus(small_options(5));
  const auto c = plan_corpus(small_options(6));
  BOOST_REQUIRE_EQUAL(a.size(), 4u);
  BOOST_REQUIRE_EQUAL(a[0].captions.size(), b[0].captions.size());
  std::size_t same_as_c = 0;
  for (std::size_t i = 0; i < a[0].captions.size(); ++i) {
    BOOST_TEST(a[0].captions[i].utt == b[0].captions[i].utt);
    BOOST_TEST(a[0].captions[i].text == b[0].captions[i].text);
    BOOST_TEST(a[0].captions[i].rate_factor == b[0].captions[i].rate_factor);
    same_as_c += a[0].captions[i].text == c[0].captions[i].text;
  }
  BOOST_TEST(same_as_c < a[0].captions.size() / 10);
}

BOOST_AUTO_TEST_CASE(split_shapes_and_keys) {
  const CorpusOptions o = small_options(1);
  const auto splits = plan_corpus(o);
  BOOST_TEST(splits[0].name == "train");
  BOOST_TEST(splits[3].name == "st-disjoint");
  BOOST_TEST(splits[0].images.size() == static_cast<std::size_t>(o.size.train));
  BOOST_TEST(splits[1].captions.size() == static_cast<std::size_t>(o.size.val * o.captions));
  BOOST_TEST(splits[3].captions.size() == static_cast<std::size_t>(o.size.disjoint));
  BOOST_TEST(splits[3].images.empty());
  std::set<std::string> utts, imgs, caption_speakers, st_speakers;
  for (const auto& sp : splits) {
    for (std::size_t i = 1; i < sp.captions.size(); ++i)
      BOOST_TEST(sp.captions[i - 1].utt < sp.captions[i].utt);  // Kaldi: sorted keys
    for (const auto& c : sp.captions) {
      BOOST_TEST(utts.insert(c.utt).second);
      BOOST_TEST(c.utt.rfind(c.speaker + "-", 0) == 0);  // speaker-prefixed keys
      (sp.name == "st-disjoint" ? st_speakers : caption_speakers).insert(c.speaker);
      BOOST_TEST(std::abs(c.rate_factor - 1.0) <= 0.03);
    }
    for (const auto& i : sp.images) BOOST_TEST(imgs.insert(i).second);  // images never shared by splits
  }
  for (const auto& s : st_speakers) BOOST_TEST(!caption_speakers.count(s));
  BOOST_TEST(caption_speakers.size() > 6u);
}

BOOST_AUTO_TEST_CASE(speakers_cover_the_accent_variant_grid) {
  Rng r(3);
  const auto spk = make_speakers(104, r, false, "s");
  std::set<std::string> voices;
  for (const auto& s : spk) {
    voices.insert(s.voice);
    BOOST_TEST((s.rate >= 140 && s.rate <= 200));
    BOOST_TEST((s.pitch >= 25 && s.pitch <= 75));
  }
  BOOST_TEST(voices.size() == 104u);  // 8 accents x 13 variants, each once
  Rng r2(3);
  const auto dis = make_speakers(20, r2, true, "d");
  for (const auto& d : dis) BOOST_TEST(!voices.count(d.voice));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(grammar)

BOOST_AUTO_TEST_CASE(vocabulary_is_rich_and_covers_the_lexicon) {
  const std::set<std::string> vocab = caption_vocabulary();
  BOOST_TEST(vocab.size() >= 400u);
  const Lexicon& L = lexicon();
  for (const auto& n : L.nouns)
    for (const auto& w : n.singular)
      for (const auto& part : words_of(w)) BOOST_TEST_CONTEXT(n.id) { BOOST_TEST(vocab.count(part) == 1u); }
  for (const auto& a : L.actions)
    for (const auto& f : a.forms)
      for (const auto& part : words_of(f.ing)) BOOST_TEST_CONTEXT(a.id) { BOOST_TEST(vocab.count(part) == 1u); }
  for (const auto& p : L.places)
    for (const auto& ph : p.phrases)
      for (const auto& part : words_of(ph)) BOOST_TEST_CONTEXT(p.id) { BOOST_TEST(vocab.count(part) == 1u); }
  for (const auto& c : L.colours)
    for (const auto& w : c.words) BOOST_TEST(vocab.count(w) == 1u);
}

BOOST_AUTO_TEST_CASE(captions_name_the_agent_and_vary) {
  const Lexicon& L = lexicon();
  Rng r(11);
  std::size_t distinct_sets = 0;
  for (int i = 0; i < 300; ++i) {
    const Scene s = sample_scene(r);
    BOOST_REQUIRE(!s.entities.empty());
    const NounConcept& agent = L.nouns[static_cast<std::size_t>(s.entities[0].noun)];
    std::set<std::string> caps;
    for (int k = 0; k < 5; ++k) {
      const std::string c = caption(s, r);
      caps.insert(c);
      bool named = false;
      for (const auto* forms : {&agent.singular, &agent.plural})
        for (const auto& w : *forms) named = named || (" " + c + " ").find(" " + w + " ") != std::string::npos ||
                                                    (" " + c + ",").find(" " + w + ",") != std::string::npos;
      BOOST_TEST_CONTEXT(c) { BOOST_TEST(named); }
      BOOST_TEST(c.find("  ") == std::string::npos);
      BOOST_TEST(c == std::string(c.begin(), c.end()));
      for (char ch : c) BOOST_TEST(((ch >= 'a' && ch <= 'z') || ch == ' ' || ch == ',' || ch == '-'));
    }
    distinct_sets += caps.size() >= 4;
  }
  BOOST_TEST(distinct_sets > 270u);  // five captions of a scene are (nearly always) different
}

BOOST_AUTO_TEST_CASE(disjoint_domain_shares_few_words) {
  const std::set<std::string> vocab = caption_vocabulary();
  Rng r(2);
  std::set<std::string> dwords;
  for (int i = 0; i < 2000; ++i)
    for (const auto& w : words_of(disjoint_sentence(r))) dwords.insert(w);
  std::size_t shared = 0;
  for (const auto& w : dwords) shared += vocab.count(w);
  BOOST_TEST(dwords.size() >= 150u);
  BOOST_TEST(shared < dwords.size() / 3);  // a different domain, not a disjoint alphabet
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(image_map)

BOOST_AUTO_TEST_CASE(vectors_are_fc7_like) {
  const ImageMap map;
  Rng scenes(1);
  double active = 0;
  const int n = 50;
  for (int i = 0; i < n; ++i) {
    const Scene s = sample_scene(scenes);
    Rng nr(static_cast<std::uint64_t>(i));
    const auto v = map.features(s, nr);
    BOOST_REQUIRE_EQUAL(v.size(), 4096u);
    std::size_t pos = 0;
    for (float x : v) {
      BOOST_TEST(x >= 0.0f);  // ReLU
      BOOST_TEST(std::isfinite(x));
      pos += x > 0.0f;
    }
    active += static_cast<double>(pos) / v.size();
  }
  active /= n;
  BOOST_TEST(active > 0.2);
  BOOST_TEST(active < 0.5);
}

BOOST_AUTO_TEST_CASE(fixed_map_and_nuisance) {
  const ImageMap a, b;
  ImageMapOptions other;
  other.seed = 7;
  const ImageMap c(other);
  Rng scenes(2);
  const Scene s = sample_scene(scenes);
  Rng r1(9), r2(9), r3(10);
  const auto x = a.features(s, r1);
  BOOST_TEST(x == b.features(s, r2));                // the map is fixed by its seed
  const auto y = a.features(s, r3);                  // same scene, other photo
  BOOST_TEST(x != y);
  Rng r4(9);
  BOOST_TEST(cosine(x, c.features(s, r4)) < 0.8);    // another map seed, another encoder
}

BOOST_AUTO_TEST_CASE(similar_scenes_give_similar_vectors) {
  // Retrieval must be learnable: two photos of one scene are closer than
  // photos of scenes that differ in one attribute, which are closer than
  // unrelated scenes.
  const ImageMap map;
  const Lexicon& L = lexicon();
  Rng scenes(3);
  double same = 0, one_off = 0, unrelated = 0;
  const int n = 40;
  for (int i = 0; i < n; ++i) {
    const Scene s = sample_scene(scenes);
    Scene t = s;
    t.place = (s.place + 1) % static_cast<int>(L.places.size());
    const Scene u = sample_scene(scenes);
    Rng r1(100 + i), r2(200 + i), r3(300 + i), r4(400 + i);
    const auto a = map.features(s, r1);
    same += cosine(a, map.features(s, r2));
    one_off += cosine(a, map.features(t, r3));
    unrelated += cosine(a, map.features(u, r4));
  }
  same /= n;
  one_off /= n;
  unrelated /= n;
  BOOST_TEST_MESSAGE("cosine: same scene " << same << ", other place " << one_off << ", unrelated " << unrelated);
  BOOST_TEST(same > one_off + 0.03);
  BOOST_TEST(one_off > unrelated + 0.05);
  BOOST_TEST(same < 0.99);  // the nuisance is there: not trivially identical
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(speech)

BOOST_AUTO_TEST_CASE(phone_map_is_closed) {
  const auto& inv = phone_inventory();
  BOOST_TEST(inv.size() == 40u);
  const std::set<std::string> set(inv.begin(), inv.end());
  for (const char* ipa : {"", "ɐ", "aɪ", "ɑːɹ", "ʉː", "tʃ", "ð", "ɾ", "ʔ", "n̩", "ˈaɪ", "ɪ"})
    BOOST_TEST_CONTEXT(ipa) { BOOST_TEST(set.count(map_phone(ipa)) == 1u); }
  BOOST_TEST(map_phone("") == "sil");
  BOOST_TEST(map_phone("ˈaɪ") == "ay");  // stress marks are dropped
  BOOST_CHECK_THROW(map_phone("ǃ"), sb::Error);
}

BOOST_AUTO_TEST_CASE(alignment_agrees_with_the_audio) {
  // One utterance with a comma (a pause) in a fresh child, as the generator
  // does; the alignment must tile the audio, its pauses must be quiet and
  // its phones loud.
  Speaker spk;
  spk.id = "t1";
  spk.voice = "en-us+m3";
  const SpokenUtterance u = speak("a brown dog runs on the beach, next to a red ball", spk, 1.0, 0.0);
  BOOST_REQUIRE(u.samples.size() > 16000u / 2);
  BOOST_REQUIRE(!u.phones.empty());
  const std::set<std::string> inv(phone_inventory().begin(), phone_inventory().end());
  double t = 0;
  auto rms = [&](double a, double b) {
    const auto i0 = static_cast<std::size_t>(a * 16000), i1 = std::min(u.samples.size(), static_cast<std::size_t>(b * 16000));
    double e = 0;
    for (std::size_t i = i0; i < i1; ++i) e += static_cast<double>(u.samples[i]) * u.samples[i];
    return i1 > i0 ? std::sqrt(e / static_cast<double>(i1 - i0)) : 0.0;
  };
  double sil_max = 0, vowel_min = 1e9, longest_pause = 0;
  for (const auto& p : u.phones) {
    BOOST_TEST(std::abs(p.start - t) < 1e-9);  // no gaps, no overlaps
    BOOST_TEST(p.dur > 0.0);
    BOOST_TEST(inv.count(p.phone) == 1u);
    t = p.start + p.dur;
    const std::string& ph = p.phone;
    if (ph == "sil" && p.dur > 0.05) {
      // The inner part of a pause (the edges may hold a release).
      sil_max = std::max(sil_max, rms(p.start + 0.02, p.start + p.dur - 0.02));
      longest_pause = std::max(longest_pause, p.dur);
    }
    if ((ph == "aw" || ph == "aa" || ph == "iy" || ph == "ah" || ph == "eh") && p.dur > 0.04)
      vowel_min = std::min(vowel_min, rms(p.start, p.start + p.dur));
  }
  BOOST_TEST(std::abs(t - u.duration()) < 1e-9);  // phones end where the audio ends
  BOOST_TEST(longest_pause > 0.08);               // the comma was spoken as a pause
  BOOST_TEST_MESSAGE("pause rms " << sil_max << ", quietest vowel rms " << vowel_min);
  BOOST_TEST(sil_max * 10 < vowel_min);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(generate)

BOOST_AUTO_TEST_CASE(tables_and_images_without_speech) {
  TempDir dir;
  CorpusOptions o = small_options(4);
  o.size.train = 6;
  o.size.val = 3;
  o.size.test = 2;
  o.size.disjoint = 5;
  o.speech = false;
  generate_corpus(o, dir.path.string());
  const auto recs = read_archive((dir.path / "train" / "images.sbt").string());
  BOOST_REQUIRE_EQUAL(recs.size(), 6u);
  BOOST_TEST(recs[0].key == "i00001");
  BOOST_TEST(recs[0].tensor.shape() == std::vector<std::int64_t>{4096});
  BOOST_TEST(read_archive((dir.path / "test" / "images.sbt").string())[0].key == "i00010");
  BOOST_TEST(std::filesystem::exists(dir.path / "val" / "utt2img"));
  BOOST_TEST(!std::filesystem::exists(dir.path / "st-disjoint" / "utt2img"));
  // Existing output is not silently replaced.
  BOOST_CHECK_THROW(generate_corpus(o, dir.path.string()), sb::Error);
  o.force = true;
  BOOST_CHECK_NO_THROW(generate_corpus(o, dir.path.string()));
}

BOOST_AUTO_TEST_SUITE_END()

#else  // built without espeak-ng: nothing of lib/corpus exists

BOOST_AUTO_TEST_CASE(corpus_needs_espeak) {
  BOOST_TEST_MESSAGE("lib/corpus is not built (no espeak-ng); nothing to test");
  BOOST_TEST(true);
}

#endif

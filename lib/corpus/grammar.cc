#include "corpus/grammar.h"

#include <vector>

namespace sb::corpus {

namespace {

bool starts_with_vowel_sound(const std::string& w) {
  if (w.empty()) return false;
  // "an elephant", "an old man", "an orange ball"; "a uniform" is a
  // consonant sound, "a young boy" too.
  if (w.rfind("uni", 0) == 0 || w.rfind("use", 0) == 0) return false;
  return w[0] == 'a' || w[0] == 'e' || w[0] == 'i' || w[0] == 'o' || w[0] == 'u';
}

std::string article_for(const std::string& next) { return starts_with_vowel_sound(next) ? "an" : "a"; }

const std::string& word(const WordConcept& c, Rng& rng) { return rng.pick(c.words); }

// Renders an entity as a noun phrase. `full` keeps every attribute (the
// object of an action); otherwise each is mentioned with some probability.
std::string noun_phrase(const Entity& e, Rng& rng, bool definite_ok, double mention) {
  const Lexicon& L = lexicon();
  const NounConcept& n = L.nouns[static_cast<std::size_t>(e.noun)];
  std::string adjs;
  auto add = [&](const std::string& w) { adjs += adjs.empty() ? w : " " + w; };
  if (e.size >= 0 && rng.chance(0.6 * mention)) add(word(L.sizes[static_cast<std::size_t>(e.size)], rng));
  if (e.age >= 0 && rng.chance(0.6 * mention)) add(word(L.ages[static_cast<std::size_t>(e.age)], rng));
  if (e.colour >= 0 && rng.chance(0.85 * mention)) add(word(L.colours[static_cast<std::size_t>(e.colour)], rng));
  const std::size_t syn = rng.below(n.singular.size());
  const std::string& noun = e.count == 1 ? n.singular[syn] : n.plural[syn];
  const std::string head = adjs.empty() ? noun : adjs + " " + noun;

  std::string det;
  if (e.count == 1) {
    const double r = rng.uniform();
    det = (definite_ok && r < 0.2) ? "the" : (r < 0.25 ? "one" : article_for(head));
  } else if (e.count == 2) {
    det = rng.chance(0.8) ? "two" : "a pair of";
  } else {
    static const std::vector<std::string> many = {"three", "a group of", "several", "some", "a few"};
    det = rng.pick(many);
  }
  std::string np = det + " " + head;

  if (e.clothing >= 0 && rng.chance(0.8 * mention)) {
    const std::string cl = word(L.clothing[static_cast<std::size_t>(e.clothing)], rng);
    const std::string col = word(L.colours[static_cast<std::size_t>(e.clothing_colour)], rng);
    // Plural garments for groups; "shorts" is plural already.
    const bool mass = cl == "shorts";
    const std::string item = col + " " + cl;
    std::string garment = (e.count > 1 && !mass) ? item + "s" : (mass ? item : article_for(item) + " " + item);
    if (e.count > 1 && cl.back() == 's' && !mass) garment = item + "es";
    if (e.count > 1 && cl.back() == 'y' && cl != "jersey") garment = item.substr(0, item.size() - 1) + "ies";
    static const std::vector<std::string> how = {"in", "wearing", "dressed in", "with"};
    np += " " + rng.pick(how) + " " + garment;
  }
  return np;
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) {
    if (p.empty()) continue;
    if (p == ",") {
      out += ",";
      continue;
    }
    if (!out.empty()) out += " ";
    out += p;
  }
  return out;
}

}  // namespace

std::string caption(const Scene& s, Rng& rng) {
  const Lexicon& L = lexicon();
  const Entity& agent = s.entities[0];
  const ActionConcept& act = L.actions[static_cast<std::size_t>(s.action)];
  const VerbForm& verb = rng.pick(act.forms);
  const bool plural = agent.count > 1;

  // Partial mentions: each caption has its own level of detail.
  const double detail = rng.uniform(0.45, 1.0);
  const std::string A = noun_phrase(agent, rng, true, detail);
  const std::string O = s.object >= 0 ? noun_phrase(s.entities[static_cast<std::size_t>(s.object)], rng, true, detail) : "";
  const std::string P = rng.chance(0.5 + 0.4 * detail) ? rng.pick(L.places[static_cast<std::size_t>(s.place)].phrases) : "";
  std::string R;
  if (s.related >= 0 && rng.chance(0.3 + 0.5 * detail))
    R = word(L.relations[static_cast<std::size_t>(s.relation)], rng) + " " +
        noun_phrase(s.entities[static_cast<std::size_t>(s.related)], rng, false, detail);
  std::string W;
  if (s.light != 0 && rng.chance(0.55)) W = word(L.lights[static_cast<std::size_t>(s.light)], rng);
  else if (s.light == 0 && rng.chance(0.05)) W = word(L.lights[0], rng);

  const std::string be = plural ? "are" : "is";
  const std::string finite = plural ? verb.base : verb.third;
  const double r = rng.uniform();
  std::vector<std::string> parts;
  if (r < 0.24) {         // a dog runs on the beach
    parts = {A, finite, O, P, R, W};
  } else if (r < 0.48) {  // a dog is running on the beach
    parts = {A, be, verb.ing, O, P, R, W};
  } else if (r < 0.68) {  // a dog running on the beach (Flickr's favourite)
    parts = {A, verb.ing, O, P, R, W};
  } else if (r < 0.76) {  // there is a dog running on the beach
    parts = {"there", be, A, verb.ing, O, P, R};
  } else if (r < 0.84 && !P.empty()) {  // on the beach, a dog is running
    parts = {P, ",", A, be, verb.ing, O, R, W};
  } else if (r < 0.91) {  // a photo of a dog running on the beach
    static const std::vector<std::string> frame = {"a photo of", "a picture of", "an image of", "a close up of"};
    parts = {rng.pick(frame), A, verb.ing, O, P, R};
  } else if (r < 0.96 && s.object >= 0) {  // a dog and a ball on the beach (no verb)
    parts = {A, "and", O, P, R};
  } else {  // a dog on the beach, with a ball behind it
    parts = {A, P, O.empty() ? "" : ",", O.empty() ? "" : verb.ing, O, R, W};
  }
  return join(parts);
}

std::string disjoint_sentence(Rng& rng) {
  static const std::vector<std::string> subjects = {
      "i", "we", "my brother", "my sister", "the teacher", "our neighbour", "the doctor", "my mother",
      "my father", "the old farmer", "the baker", "his friend", "her aunt", "the manager", "my grandfather",
      "the students", "the captain", "a stranger", "the cook", "our family"};
  static const std::vector<std::string> verbs_past = {
      "bought", "cooked", "read", "wrote", "found", "lost", "sold", "liked", "painted", "cleaned", "borrowed",
      "opened", "closed", "forgot", "remembered", "ordered", "fixed", "broke", "delivered", "described"};
  static const std::vector<std::string> things = {
      "a letter", "the soup", "an old book", "some bread", "the window", "a new kettle", "the newspaper",
      "a cup of tea", "the recipe", "a wooden spoon", "the garden door", "a warm blanket", "the piano",
      "a heavy parcel", "the kitchen sink", "a long story", "the telephone", "a bowl of rice", "the map",
      "an envelope", "the curtains", "a bottle of milk", "the clock", "a pair of glasses"};
  static const std::vector<std::string> times = {
      "yesterday", "last week", "this morning", "on monday", "in the afternoon", "before dinner",
      "after breakfast", "last winter", "on sunday evening", "a long time ago", "every tuesday", "at noon"};
  static const std::vector<std::string> weather = {
      "cold", "windy", "warm", "cloudy", "humid", "freezing", "mild", "stormy", "bright", "chilly"};
  static const std::vector<std::string> towns = {
      "london", "the village", "the north", "the valley", "the capital", "the countryside", "paris", "the harbour"};
  static const std::vector<std::string> feelings = {
      "tired", "hungry", "happy", "worried", "surprised", "bored", "proud", "nervous", "grateful", "curious"};
  static const std::vector<std::string> reasons = {
      "because the train was late", "because it was raining", "after the meeting", "when the lights went out",
      "since nobody answered the phone", "because the shop was closed", "after a long day at work"};
  static const std::vector<std::string> questions = {
      "did you remember", "have you seen", "could you bring me", "would you like", "where did you put",
      "who borrowed", "why did they move"};
  const double r = rng.uniform();
  if (r < 0.35)
    return rng.pick(subjects) + " " + rng.pick(verbs_past) + " " + rng.pick(things) + " " + rng.pick(times);
  if (r < 0.5)
    return "it was " + rng.pick(weather) + " and " + rng.pick(weather) + " in " + rng.pick(towns) + " " + rng.pick(times);
  if (r < 0.68)
    return rng.pick(subjects) + " felt " + rng.pick(feelings) + " " + rng.pick(reasons);
  if (r < 0.85)
    return rng.pick(questions) + " " + rng.pick(things);
  return "please put " + rng.pick(things) + " on the table, " + rng.pick(subjects) + " will need it " + rng.pick(times);
}

std::set<std::string> caption_vocabulary() {
  // Enumerated by sampling: the grammar is a program, not a table, and
  // 20,000 scenes x 5 captions reach every rule many times over.
  std::set<std::string> words;
  Rng rng(12345);
  for (int i = 0; i < 20000; ++i) {
    const Scene s = sample_scene(rng);
    for (int k = 0; k < 5; ++k) {
      std::string c = caption(s, rng);
      std::string w;
      for (char ch : c + " ") {
        if (ch == ' ' || ch == ',') {
          if (!w.empty()) words.insert(w);
          w.clear();
        } else {
          w += ch;
        }
      }
    }
  }
  return words;
}

}  // namespace sb::corpus

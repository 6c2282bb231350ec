// Scenes: what a generated "image" shows. A scene is a small structure —
// one to three entities with attributes, an action, a place, a spatial
// relation, the light — drawn from a seeded generator over a fixed lexicon
// of concepts. Captions (grammar.h) and image vectors (image_map.h) are both
// functions of the scene, which is what makes retrieval learnable.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "corpus/rng.h"

namespace sb::corpus {

enum class Category { Person, Animal, Vehicle, Object };

// A concept and the words that can name it (synonyms).
struct NounConcept {
  std::string id;
  Category cat;
  std::vector<std::string> singular;  // synonyms, singular
  std::vector<std::string> plural;    // same order as singular
  bool water = false;                 // lives/moves on water (boat, duck)
};

struct WordConcept {
  std::string id;
  std::vector<std::string> words;
};

struct VerbForm {
  std::string base, third, ing;  // "look at", "looks at", "looking at"
};

struct ActionConcept {
  std::string id;
  std::vector<std::string> agents;   // category names ("person") or noun ids
  std::vector<std::string> objects;  // empty: intransitive
  std::vector<VerbForm> forms;       // synonyms
  bool needs_water = false;
};

struct PlaceConcept {
  std::string id;
  std::vector<std::string> phrases;  // with preposition: "on the beach"
  bool water = false;
};

struct Lexicon {
  std::vector<NounConcept> nouns;
  std::vector<WordConcept> colours;   // colours[0..n_general) for anything
  std::size_t n_general_colours = 0;  // the rest only for animals
  std::vector<WordConcept> sizes;
  std::vector<WordConcept> ages;
  std::vector<WordConcept> clothing;
  std::vector<ActionConcept> actions;
  std::vector<PlaceConcept> places;
  std::vector<WordConcept> relations;
  std::vector<WordConcept> lights;    // lights[0] is ordinary daylight

  int noun(const std::string& id) const;  // index, or throws
};

const Lexicon& lexicon();
const char* category_name(Category c);

struct Entity {
  int noun = 0;
  int count = 1;           // 1..3
  int colour = -1;         // -1: none
  int size = -1;
  int age = -1;            // people only
  int clothing = -1;       // people only
  int clothing_colour = -1;
};

// entities[0] is the agent; entities[object] (if >= 0) is the action's
// object; entities[related] (if >= 0) stands in `relation` to the agent.
struct Scene {
  std::vector<Entity> entities;
  int action = 0;
  int object = -1;
  int related = -1;
  int relation = -1;
  int place = 0;
  int light = 0;
};

Scene sample_scene(Rng& rng);

// One line, for the img2scene table: "dog(n=1,colour=brown) run ball(...) @beach ..."
std::string describe(const Scene& s);

// The scene's symbolic content as weighted atoms ("noun:dog", "dog+colour:brown",
// "action:run", "place:beach", ...): what the image map turns into a vector.
std::vector<std::pair<std::string, double>> scene_atoms(const Scene& s);

}  // namespace sb::corpus

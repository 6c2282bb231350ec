#include "corpus/scene.h"

#include <algorithm>

#include "core/error.h"

namespace sb::corpus {

namespace {

using P = Category;

Lexicon build_lexicon() {
  Lexicon L;
  L.nouns = {
      // people
      {"man", P::Person, {"man", "guy", "gentleman"}, {"men", "guys", "gentlemen"}},
      {"woman", P::Person, {"woman", "lady"}, {"women", "ladies"}},
      {"boy", P::Person, {"boy", "kid", "young boy"}, {"boys", "kids", "young boys"}},
      {"girl", P::Person, {"girl", "little girl", "young girl"}, {"girls", "little girls", "young girls"}},
      {"child", P::Person, {"child", "toddler", "kid"}, {"children", "toddlers", "kids"}},
      {"person", P::Person, {"person", "someone"}, {"people", "persons"}},
      {"athlete", P::Person, {"athlete", "player", "runner"}, {"athletes", "players", "runners"}},
      {"tourist", P::Person, {"tourist", "traveller", "visitor"}, {"tourists", "travellers", "visitors"}},
      {"worker", P::Person, {"worker", "workman"}, {"workers", "workmen"}},
      {"dancer", P::Person, {"dancer", "performer"}, {"dancers", "performers"}},
      // animals
      {"dog", P::Animal, {"dog", "puppy", "pup"}, {"dogs", "puppies", "pups"}},
      {"cat", P::Animal, {"cat", "kitten", "kitty"}, {"cats", "kittens", "kitties"}},
      {"horse", P::Animal, {"horse", "pony"}, {"horses", "ponies"}},
      {"bird", P::Animal, {"bird", "seagull", "pigeon"}, {"birds", "seagulls", "pigeons"}},
      {"cow", P::Animal, {"cow", "calf"}, {"cows", "calves"}},
      {"sheep", P::Animal, {"sheep", "lamb"}, {"sheep", "lambs"}},
      {"duck", P::Animal, {"duck", "goose"}, {"ducks", "geese"}, true},
      {"goat", P::Animal, {"goat"}, {"goats"}},
      {"pig", P::Animal, {"pig", "piglet"}, {"pigs", "piglets"}},
      {"rabbit", P::Animal, {"rabbit", "bunny"}, {"rabbits", "bunnies"}},
      {"bear", P::Animal, {"bear"}, {"bears"}},
      {"elephant", P::Animal, {"elephant"}, {"elephants"}},
      // vehicles
      {"car", P::Vehicle, {"car", "automobile", "sedan"}, {"cars", "automobiles", "sedans"}},
      {"bicycle", P::Vehicle, {"bicycle", "bike"}, {"bicycles", "bikes"}},
      {"bus", P::Vehicle, {"bus", "coach"}, {"buses", "coaches"}},
      {"truck", P::Vehicle, {"truck", "lorry", "van"}, {"trucks", "lorries", "vans"}},
      {"boat", P::Vehicle, {"boat", "canoe", "kayak"}, {"boats", "canoes", "kayaks"}, true},
      {"motorcycle", P::Vehicle, {"motorcycle", "motorbike", "scooter"}, {"motorcycles", "motorbikes", "scooters"}},
      {"train", P::Vehicle, {"train"}, {"trains"}},
      {"tractor", P::Vehicle, {"tractor"}, {"tractors"}},
      {"skateboard", P::Vehicle, {"skateboard"}, {"skateboards"}},
      // objects
      {"ball", P::Object, {"ball", "soccer ball", "football"}, {"balls", "soccer balls", "footballs"}},
      {"frisbee", P::Object, {"frisbee", "flying disc"}, {"frisbees", "flying discs"}},
      {"kite", P::Object, {"kite"}, {"kites"}},
      {"umbrella", P::Object, {"umbrella", "parasol"}, {"umbrellas", "parasols"}},
      {"bag", P::Object, {"bag", "backpack", "handbag"}, {"bags", "backpacks", "handbags"}},
      {"bench", P::Object, {"bench"}, {"benches"}},
      {"chair", P::Object, {"chair", "seat"}, {"chairs", "seats"}},
      {"table", P::Object, {"table"}, {"tables"}},
      {"box", P::Object, {"box", "crate", "package"}, {"boxes", "crates", "packages"}},
      {"toy", P::Object, {"toy", "stuffed animal"}, {"toys", "stuffed animals"}},
      {"stick", P::Object, {"stick", "branch"}, {"sticks", "branches"}},
      {"flag", P::Object, {"flag", "banner"}, {"flags", "banners"}},
      {"balloon", P::Object, {"balloon"}, {"balloons"}},
      {"bucket", P::Object, {"bucket", "pail"}, {"buckets", "pails"}},
      {"rope", P::Object, {"rope"}, {"ropes"}},
      {"tent", P::Object, {"tent"}, {"tents"}},
      {"fence", P::Object, {"fence", "gate"}, {"fences", "gates"}},
      {"tree", P::Object, {"tree"}, {"trees"}},
      {"rock", P::Object, {"rock", "boulder", "stone"}, {"rocks", "boulders", "stones"}},
  };
  L.colours = {
      {"red", {"red"}}, {"blue", {"blue"}}, {"green", {"green"}}, {"yellow", {"yellow"}},
      {"black", {"black", "dark"}}, {"white", {"white"}}, {"brown", {"brown"}},
      {"orange", {"orange"}}, {"pink", {"pink"}}, {"purple", {"purple"}},
      {"grey", {"grey", "silver"}},
  };
  L.n_general_colours = L.colours.size();
  L.colours.push_back({"golden", {"golden", "blond"}});
  L.colours.push_back({"spotted", {"spotted", "dotted"}});
  L.colours.push_back({"striped", {"striped"}});
  L.sizes = {{"big", {"big", "large", "huge"}}, {"small", {"small", "little", "tiny"}}};
  L.ages = {{"young", {"young", "teenage"}}, {"old", {"old", "elderly", "older"}}};
  L.clothing = {
      {"shirt", {"shirt", "t-shirt", "top"}}, {"jacket", {"jacket", "coat"}},
      {"hat", {"hat", "cap"}}, {"dress", {"dress", "skirt"}},
      {"helmet", {"helmet"}}, {"sweater", {"sweater", "jumper", "hoodie"}},
      {"scarf", {"scarf"}}, {"shorts", {"shorts"}}, {"uniform", {"uniform", "outfit"}},
      {"swimsuit", {"swimsuit", "bathing suit", "wetsuit"}},
  };
  const std::vector<std::string> agents_all = {"person", "animal"};
  L.actions = {
      {"run", {"person", "animal"}, {}, {{"run", "runs", "running"}, {"race", "races", "racing"}, {"sprint", "sprints", "sprinting"}}},
      {"jump", {"person", "animal"}, {}, {{"jump", "jumps", "jumping"}, {"leap", "leaps", "leaping"}, {"hop", "hops", "hopping"}}},
      {"walk", {"person", "animal"}, {}, {{"walk", "walks", "walking"}, {"stroll", "strolls", "strolling"}, {"wander", "wanders", "wandering"}}},
      {"sit", {"person", "animal"}, {}, {{"sit", "sits", "sitting"}, {"rest", "rests", "resting"}}},
      {"stand", {"person", "animal"}, {}, {{"stand", "stands", "standing"}, {"wait", "waits", "waiting"}}},
      {"lie", {"person", "animal"}, {}, {{"lie", "lies", "lying"}, {"sleep", "sleeps", "sleeping"}, {"lie down", "lies down", "lying down"}}},
      {"swim", {"person", "animal"}, {}, {{"swim", "swims", "swimming"}, {"paddle", "paddles", "paddling"}, {"splash", "splashes", "splashing"}}, true},
      {"dance", {"person"}, {}, {{"dance", "dances", "dancing"}, {"spin", "spins", "spinning"}}},
      {"play", {"person", "animal"}, {}, {{"play", "plays", "playing"}, {"have fun", "has fun", "having fun"}}},
      {"climb", {"person", "animal"}, {"tree", "rock", "fence"}, {{"climb", "climbs", "climbing"}, {"climb up", "climbs up", "climbing up"}, {"scramble up", "scrambles up", "scrambling up"}}},
      {"ride", {"person"}, {"bicycle", "horse", "motorcycle", "skateboard", "boat"}, {{"ride", "rides", "riding"}, {"ride on", "rides on", "riding on"}}},
      {"throw", {"person"}, {"ball", "frisbee", "stick", "balloon"}, {{"throw", "throws", "throwing"}, {"toss", "tosses", "tossing"}}},
      {"catch", {"person", "dog"}, {"ball", "frisbee", "stick"}, {{"catch", "catches", "catching"}, {"grab", "grabs", "grabbing"}}},
      {"hold", {"person"}, {"bag", "umbrella", "balloon", "box", "toy", "flag", "kite", "bucket", "ball", "rope"}, {{"hold", "holds", "holding"}, {"carry", "carries", "carrying"}}},
      {"chase", {"person", "animal"}, {"animal", "ball", "car", "bicycle", "person"}, {{"chase", "chases", "chasing"}, {"run after", "runs after", "running after"}, {"follow", "follows", "following"}}},
      {"pull", {"person", "horse", "dog"}, {"rope", "box", "toy", "bucket", "stick"}, {{"pull", "pulls", "pulling"}, {"drag", "drags", "dragging"}, {"tug", "tugs", "tugging"}}},
      {"fly", {"person"}, {"kite", "balloon"}, {{"fly", "flies", "flying"}}},
      {"push", {"person"}, {"bicycle", "box", "chair", "car"}, {{"push", "pushes", "pushing"}, {"shove", "shoves", "shoving"}}},
      {"watch", {"person", "animal"}, {"animal", "person", "train", "boat", "kite"}, {{"watch", "watches", "watching"}, {"look at", "looks at", "looking at"}, {"stare at", "stares at", "staring at"}}},
      {"feed", {"person"}, {"animal"}, {{"feed", "feeds", "feeding"}, {"give food to", "gives food to", "giving food to"}}},
      {"pet", {"person"}, {"dog", "cat", "horse", "goat", "rabbit", "sheep", "cow", "pig"}, {{"pet", "pets", "petting"}, {"stroke", "strokes", "stroking"}, {"hug", "hugs", "hugging"}}},
      {"kick", {"person", "horse"}, {"ball", "box"}, {{"kick", "kicks", "kicking"}}},
      {"drive", {"vehicle"}, {}, {{"drive", "drives", "driving"}, {"move", "moves", "moving"}, {"speed", "speeds", "speeding"}}},
      {"park", {"vehicle"}, {}, {{"stop", "stops", "stopping"}, {"wait", "waits", "waiting"}, {"stand still", "stands still", "standing still"}}},
      {"sail", {"boat", "duck"}, {}, {{"float", "floats", "floating"}, {"drift", "drifts", "drifting"}, {"glide", "glides", "gliding"}}, true},
  };
  L.places = {
      {"beach", {"on the beach", "at the beach", "on the sand", "by the sea", "at the seaside"}},
      {"park", {"in the park", "in a park", "at the park"}},
      {"snow", {"in the snow", "on the snow", "through the snow", "on a snowy hill"}},
      {"street", {"on the street", "on a street", "down the road", "along the road", "on the sidewalk"}},
      {"field", {"in a field", "in the field", "across a meadow", "in the meadow"}},
      {"grass", {"on the grass", "on a lawn", "on the green grass"}},
      {"mountain", {"on a mountain", "on the hill", "on a hillside", "up the mountain"}},
      {"forest", {"in the forest", "in the woods", "among the trees"}},
      {"yard", {"in the yard", "in a backyard", "in the garden"}},
      {"playground", {"at the playground", "in a playground", "on the playground"}},
      {"city", {"in the city", "in town", "downtown", "in a busy square"}},
      {"desert", {"in the desert", "on the dunes", "on dry sand"}},
      {"stage", {"on a stage", "at a concert", "in front of a crowd"}},
      {"room", {"in a room", "inside a house", "in the living room", "indoors"}},
      {"water", {"in the water", "in the ocean", "in the waves", "in the sea"}, true},
      {"lake", {"in a lake", "on the lake", "in the pond"}, true},
      {"river", {"in the river", "in a stream", "on the river"}, true},
      {"pool", {"in the pool", "in a swimming pool"}, true},
  };
  L.relations = {
      {"next_to", {"next to", "beside", "alongside"}},
      {"behind", {"behind", "in back of"}},
      {"in_front_of", {"in front of", "ahead of"}},
      {"near", {"near", "close to", "by"}},
      {"under", {"under", "below", "beneath"}},
      {"between", {"among", "between", "surrounded by"}},
  };
  L.lights = {
      {"day", {"on a sunny day", "during the day", "in the sunshine"}},
      {"night", {"at night", "in the dark", "at nighttime"}},
      {"sunset", {"at sunset", "at dusk", "in the evening"}},
      {"rain", {"in the rain", "on a rainy day", "in the drizzle"}},
      {"fog", {"in the fog", "on a foggy morning", "in the mist"}},
  };
  return L;
}

bool agent_ok(const Lexicon& L, const ActionConcept& a, int noun) {
  const NounConcept& n = L.nouns[static_cast<std::size_t>(noun)];
  for (const auto& s : a.agents)
    if (s == n.id || s == category_name(n.cat)) return true;
  return false;
}

// Objects an action accepts, as noun indices (categories expanded).
std::vector<int> object_nouns(const Lexicon& L, const ActionConcept& a, int agent) {
  std::vector<int> out;
  for (std::size_t i = 0; i < L.nouns.size(); ++i) {
    if (static_cast<int>(i) == agent) continue;
    for (const auto& s : a.objects)
      if (s == L.nouns[i].id || s == category_name(L.nouns[i].cat)) {
        out.push_back(static_cast<int>(i));
        break;
      }
  }
  return out;
}

void sample_attributes(const Lexicon& L, Rng& rng, Entity& e, bool is_agent) {
  const NounConcept& n = L.nouns[static_cast<std::size_t>(e.noun)];
  const double r = rng.uniform();
  // Agents are often plural; things acted upon rarely.
  e.count = is_agent ? (r < 0.62 ? 1 : r < 0.87 ? 2 : 3) : (r < 0.85 ? 1 : 2);
  switch (n.cat) {
    case Category::Person:
      if (rng.chance(0.4)) e.age = static_cast<int>(rng.below(L.ages.size()));
      if (rng.chance(0.8)) {
        e.clothing = static_cast<int>(rng.below(L.clothing.size()));
        e.clothing_colour = static_cast<int>(rng.below(L.n_general_colours));
      }
      break;
    case Category::Animal:
      if (rng.chance(0.75)) {
        // Animals come in natural colours and patterns.
        static const char* natural[] = {"black", "white", "brown", "grey", "golden", "spotted", "striped"};
        const std::string want = natural[rng.below(7)];
        for (std::size_t i = 0; i < L.colours.size(); ++i)
          if (L.colours[i].id == want) e.colour = static_cast<int>(i);
      }
      if (rng.chance(0.35)) e.size = static_cast<int>(rng.below(L.sizes.size()));
      break;
    case Category::Vehicle:
    case Category::Object:
      if (rng.chance(0.85)) e.colour = static_cast<int>(rng.below(L.n_general_colours));
      if (rng.chance(0.35)) e.size = static_cast<int>(rng.below(L.sizes.size()));
      break;
  }
}

}  // namespace

const char* category_name(Category c) {
  switch (c) {
    case Category::Person: return "person";
    case Category::Animal: return "animal";
    case Category::Vehicle: return "vehicle";
    case Category::Object: return "object";
  }
  return "?";
}

int Lexicon::noun(const std::string& id) const {
  for (std::size_t i = 0; i < nouns.size(); ++i)
    if (nouns[i].id == id) return static_cast<int>(i);
  fail("corpus lexicon: no noun '", id, "'");
}

const Lexicon& lexicon() {
  static const Lexicon L = build_lexicon();
  return L;
}

Scene sample_scene(Rng& rng) {
  const Lexicon& L = lexicon();
  Scene s;
  // The agent: people most often, as in Flickr8K.
  const double r = rng.uniform();
  const Category cat = r < 0.5 ? Category::Person : r < 0.85 ? Category::Animal : Category::Vehicle;
  std::vector<int> pool;
  for (std::size_t i = 0; i < L.nouns.size(); ++i)
    if (L.nouns[i].cat == cat) pool.push_back(static_cast<int>(i));
  Entity agent;
  agent.noun = rng.pick(pool);
  const bool water_agent = L.nouns[static_cast<std::size_t>(agent.noun)].water && cat == Category::Vehicle;

  std::vector<int> actions;
  for (std::size_t i = 0; i < L.actions.size(); ++i) {
    const auto& a = L.actions[i];
    if (!agent_ok(L, a, agent.noun)) continue;
    if (water_agent && !a.needs_water && a.id != "park") continue;  // boats do not drive on land
    if (!a.objects.empty() && object_nouns(L, a, agent.noun).empty()) continue;
    actions.push_back(static_cast<int>(i));
  }
  s.action = rng.pick(actions);
  const ActionConcept& act = L.actions[static_cast<std::size_t>(s.action)];
  sample_attributes(L, rng, agent, true);
  s.entities.push_back(agent);

  if (!act.objects.empty()) {
    Entity obj;
    obj.noun = rng.pick(object_nouns(L, act, agent.noun));
    sample_attributes(L, rng, obj, false);
    s.object = static_cast<int>(s.entities.size());
    s.entities.push_back(obj);
  }
  // Sometimes a further entity, placed relative to the agent.
  if (s.entities.size() < 3 && rng.chance(0.45)) {
    Entity rel;
    do {
      rel.noun = static_cast<int>(rng.below(L.nouns.size()));
    } while (rel.noun == agent.noun ||
             L.nouns[static_cast<std::size_t>(rel.noun)].cat == Category::Person);
    sample_attributes(L, rng, rel, false);
    s.related = static_cast<int>(s.entities.size());
    s.relation = static_cast<int>(rng.below(L.relations.size()));
    s.entities.push_back(rel);
  }

  // The place must suit the action and the agent: swimming and boats need
  // water, cars and most running do not happen in it.
  const bool needs_water = act.needs_water || water_agent;
  const bool no_water = cat == Category::Vehicle ? !water_agent
                        : (act.id == "run" || act.id == "ride" || act.id == "dance" || act.id == "lie" ||
                           act.id == "sit" || act.id == "kick" || act.id == "climb");
  std::vector<int> places;
  for (std::size_t i = 0; i < L.places.size(); ++i) {
    if (needs_water && !L.places[i].water) continue;
    if (no_water && L.places[i].water) continue;
    places.push_back(static_cast<int>(i));
  }
  s.place = rng.pick(places);
  const double lr = rng.uniform();
  s.light = lr < 0.6 ? 0 : 1 + static_cast<int>(rng.below(L.lights.size() - 1));
  return s;
}

std::string describe(const Scene& s) {
  const Lexicon& L = lexicon();
  auto ent = [&](const Entity& e) {
    std::string out = L.nouns[static_cast<std::size_t>(e.noun)].id + "(n=" + std::to_string(e.count);
    if (e.colour >= 0) out += ",colour=" + L.colours[static_cast<std::size_t>(e.colour)].id;
    if (e.size >= 0) out += ",size=" + L.sizes[static_cast<std::size_t>(e.size)].id;
    if (e.age >= 0) out += ",age=" + L.ages[static_cast<std::size_t>(e.age)].id;
    if (e.clothing >= 0)
      out += ",wears=" + L.colours[static_cast<std::size_t>(e.clothing_colour)].id + "-" +
             L.clothing[static_cast<std::size_t>(e.clothing)].id;
    return out + ")";
  };
  std::string out = ent(s.entities[0]) + " " + L.actions[static_cast<std::size_t>(s.action)].id;
  if (s.object >= 0) out.append(" ").append(ent(s.entities[static_cast<std::size_t>(s.object)]));
  out += " @" + L.places[static_cast<std::size_t>(s.place)].id;
  if (s.related >= 0)
    out.append(" ")
        .append(L.relations[static_cast<std::size_t>(s.relation)].id)
        .append(":")
        .append(ent(s.entities[static_cast<std::size_t>(s.related)]));
  out += " light=" + L.lights[static_cast<std::size_t>(s.light)].id;
  return out;
}

std::vector<std::pair<std::string, double>> scene_atoms(const Scene& s) {
  const Lexicon& L = lexicon();
  std::vector<std::pair<std::string, double>> atoms;
  // Salience: the agent dominates a photo, the object less, a bystander least.
  for (std::size_t k = 0; k < s.entities.size(); ++k) {
    const Entity& e = s.entities[k];
    const double w = k == 0 ? 1.0 : static_cast<int>(k) == s.object ? 0.75 : 0.55;
    const std::string& n = L.nouns[static_cast<std::size_t>(e.noun)].id;
    atoms.emplace_back("noun:" + n, w);
    atoms.emplace_back(std::string("category:") + category_name(L.nouns[static_cast<std::size_t>(e.noun)].cat), 0.5 * w);
    atoms.emplace_back("count:" + n + "x" + std::to_string(e.count), 0.45 * w);
    if (e.colour >= 0) {
      const std::string& c = L.colours[static_cast<std::size_t>(e.colour)].id;
      atoms.emplace_back("colour:" + c, 0.35 * w);
      atoms.emplace_back(n + "+colour:" + c, 0.55 * w);
    }
    if (e.size >= 0) atoms.emplace_back(n + "+size:" + L.sizes[static_cast<std::size_t>(e.size)].id, 0.4 * w);
    if (e.age >= 0) atoms.emplace_back(n + "+age:" + L.ages[static_cast<std::size_t>(e.age)].id, 0.4 * w);
    if (e.clothing >= 0) {
      const std::string& c = L.clothing[static_cast<std::size_t>(e.clothing)].id;
      const std::string& cc = L.colours[static_cast<std::size_t>(e.clothing_colour)].id;
      atoms.emplace_back("clothing:" + c, 0.4 * w);
      atoms.emplace_back("colour:" + cc, 0.3 * w);
      atoms.emplace_back(c + "+colour:" + cc, 0.5 * w);
    }
  }
  const std::string& a = L.actions[static_cast<std::size_t>(s.action)].id;
  const std::string& agent = L.nouns[static_cast<std::size_t>(s.entities[0].noun)].id;
  atoms.emplace_back("action:" + a, 0.9);
  atoms.emplace_back(agent + "+action:" + a, 0.5);
  atoms.emplace_back("place:" + L.places[static_cast<std::size_t>(s.place)].id, 1.0);
  if (s.related >= 0)
    atoms.emplace_back("relation:" + L.relations[static_cast<std::size_t>(s.relation)].id + ":" + agent + ":" +
                           L.nouns[static_cast<std::size_t>(s.entities[static_cast<std::size_t>(s.related)].noun)].id,
                       0.35);
  atoms.emplace_back("light:" + L.lights[static_cast<std::size_t>(s.light)].id, 0.7);
  return atoms;
}

}  // namespace sb::corpus

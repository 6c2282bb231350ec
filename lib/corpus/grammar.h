// Captions from scenes, and sentences of an unrelated domain for the
// disjoint SPEECH/TEXT set. Captions use several templates, synonyms and
// partial mentions (an attribute, the place or a bystander left out), so five
// captions of one scene differ as Flickr8K's do. Output is lower case, words
// separated by single spaces, with the occasional comma (which espeak-ng
// speaks as a pause).
#pragma once
#include <set>
#include <string>

#include "corpus/rng.h"
#include "corpus/scene.h"

namespace sb::corpus {

std::string caption(const Scene& s, Rng& rng);

// A sentence from the everyday-life domain (kitchen, weather, work, family):
// different words and constructions from the captions, like LibriSpeech
// beside Flickr8K.
std::string disjoint_sentence(Rng& rng);

// Every word the caption grammar can produce (for tests and the man page).
std::set<std::string> caption_vocabulary();

}  // namespace sb::corpus

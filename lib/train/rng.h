// sb-train's generator is the project's (core/random.h): xoshiro256**
// seeded via SplitMix64, whose whole state is four words, so a checkpoint
// stores it and a resumed run draws exactly the numbers an uninterrupted
// run would. Its reseed/next/below/shuffle/state/set_state are the bits the
// trainer has always drawn (tests/unit/test_train.cc pins them).
#pragma once
#include "core/random.h"

namespace sb::train {

using Rng = sb::Random;

}  // namespace sb::train

// Everything of lib/nn in one include: layers, loss, optimiser, parameters.
#pragma once
#include "nn/layers.h"
#include "nn/loss.h"
#include "nn/optim.h"
#include "nn/param.h"
#include "nn/seq.h"

// The GRU layer on cuDNN's RNN API (cuDNN 8/9 "v8" calls): one
// cudnnRNNForward per layer for the whole padded batch, and
// cudnnRNNBackwardData_v8 + cudnnRNNBackwardWeights_v8 for its backward.
// CUDNN_GRU with CUDNN_RNN_DOUBLE_BIAS is PyTorch's formulation (gate
// blocks r, z, n; b_hn inside r * (W_hn h + b_hn)), and
// CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED with per-sequence lengths is sb's
// padded, time-major batch, so no data is rearranged: only the parameters
// are copied into cuDNN's weight space (12 device copies per layer and
// step), and the weight gradients added back from it. Math is CUDNN_FMA_MATH
// (no TF32), so results stay within the CPU tolerance of tests/unit/test_cuda.
//
// Host code for the C++ compiler; cuda_backend.cc routes
// Backend::gru_layer_forward/backward here unless the step path is chosen
// (cuda_set_gru_path).
#pragma once
#include <memory>

#include "backend/backend.h"

namespace sb::cuda {

void cudnn_gru_forward(Backend& be, const GruLayerShape& s, const GruLayerWeights& w, const float* x,
                       float* out, std::unique_ptr<GruLayerCache>& cache);
// True for the caches cudnn_gru_forward makes (backward follows its forward's path).
bool is_cudnn_gru_cache(const GruLayerCache& cache);
void cudnn_gru_backward(Backend& be, const GruLayerShape& s, const GruLayerWeights& w, const float* x,
                        const float* out, const float* dy, const GruLayerGrads& g, float* dx,
                        GruLayerCache& cache);

}  // namespace sb::cuda

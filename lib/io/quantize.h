// Smaller model files: the parameter records of a model archive stored as
// f16 or as int8 with a scale per row, and turned back into f32 when read.
//
//   f16:  every f32 record becomes an f16 record (IEEE binary16, round to
//         nearest even); biases and vectors too (they are a sliver of the
//         bytes). Values must fit f16's range (|x| <= 65504).
//   int8: every f32 record of rank >= 2 (weight matrices; the conv's
//         C x F x kernel as C rows) becomes an i8 record of the same shape,
//         q = round(w / s) in [-127, 127] with s = max|row| / 127, beside an
//         f32 record KEY.scale holding the dims[0] row scales; w' = q s, so
//         |w' - w| <= s / 2. Rank-0/1 records (biases, attention vectors)
//         stay f32.
// Text and non-f32 records pass through unchanged. Readers dequantize once,
// at load: computation stays f32 (a quantized model is smaller on disk and
// to ship, not faster).
#pragma once
#include <string>
#include <vector>

#include "io/tensor.h"

namespace sb {

enum class Quantization { F16, Int8 };

// `what` names the input in errors (a value f16 cannot hold).
std::vector<Record> quantize_records(const std::vector<Record>& in, Quantization q,
                                     const std::string& what);

// Inverse: f16 records to f32, i8 records with their KEY.scale to f32 (the
// scale records consumed); everything else unchanged. Refuses, naming
// `where` and the record, an i8 record without its scale record, a scale
// record of the wrong dtype or count, and a scale that is negative, NaN or
// infinite.
std::vector<Record> dequantize_records(std::vector<Record> in, const std::string& where);

// True when some record is f16 or i8 (a quantized archive).
bool has_quantized_records(const std::vector<Record>& in);

}  // namespace sb

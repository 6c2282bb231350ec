// Kaldi tables (archives and scripts of keyed matrices and vectors), so that
// features a Kaldi or ESPnet recipe computed come into sb and go back out.
// The layout is Kaldi's own (kaldi-io, "The Table concept", kaldi-matrix.cc,
// compressed-matrix.{h,cc}); this is an independent implementation.
//
//   archive  := { key ' ' object }           key: non-empty, no whitespace
//   object   := "\0B" binary | text
//   binary   := "FM " int rows int cols f32[rows*cols]    (row-major)
//             | "DM " int rows int cols f64[rows*cols]
//             | "FV " int dim f32[dim] | "DV " int dim f64[dim]
//             | "CM " | "CM2 " | "CM3 " compressed (below)
//   int      := '\x04' int32 little-endian (Kaldi's size byte, then the value)
//   text     := '[' numbers, rows ended by newlines, ']'   (matrix: a newline
//               inside the brackets; vector: all on one line)
//   script   := lines "key file:offset" (offset of the object, after "key ")
//               or "key file" (a file holding one object)
//
// Compressed matrices (read; written by --compress): a header of four
// little-endian 32-bit fields, float min, float range, int32 rows, int32
// cols, then
//   CM  : per column four uint16 percentiles (0, 25, 75, 100 %) on the scale
//         min + range * q / 65535, then one byte per element, column-major,
//         in three linear pieces between the percentiles (0..64, 64..192,
//         192..255)
//   CM2 : uint16 per element, row-major, min + range * q / 65535
//   CM3 : uint8 per element, row-major, min + range * q / 255
//
// dtypes: FM/FV and CM* read as f32, DM/DV as f64, so a round trip through
// Kaldi is bit-identical; text reads as f32 unless asked for f64. On output,
// f32 (and f16, u8, exactly widened) becomes FM/FV, f64 (and i32, i64 where
// exact) DM/DV. Text output prints each number's shortest decimal that reads
// back as the same float or double (at most max_digits10 digits: 9, 17), so
// text round trips are exact as well. NaN and Inf are kept, as in every sb
// conversion (sb's trainers and evaluators refuse them where they matter);
// text spells them nan, inf, -inf as Kaldi does. An empty matrix is written
// as Kaldi's 0 x 0 (Kaldi has no 0 x N matrices).
//
// Hostile input: every size is checked against the bytes left where they are
// knowable (files) and read in bounded pieces where not (pipes), so memory
// is bounded by the bytes present; every error is one sb::Error naming the
// file and the key: "feats.ark: key utt3: truncated inside the data ...".
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/tensor.h"

namespace sb {

// What a specifier says. Kaldi's harmless option letters are accepted and
// have no effect here (reading: b t o no s ns cs ncs p np bg; writing: b t
// f nf p, t meaning text); anything else is a UsageError.
struct KaldiRspecifier {
  bool script = false;  // scp: rather than ark:
  std::string path;     // "-" = standard input
};
struct KaldiWspecifier {
  bool text = false;    // ark,t:
  std::string ark;      // "-" = standard output
  std::string scp;      // non-empty for ark,scp:A.ark,A.scp
};
KaldiRspecifier parse_kaldi_rspecifier(const std::string& spec);
KaldiWspecifier parse_kaldi_wspecifier(const std::string& spec);

struct KaldiReadOptions {
  DType text_dtype = DType::F32;                          // f32 or f64
  std::uint64_t max_object_bytes = std::uint64_t{16} << 30;  // decoded size
};

// Reads a table in order, one record at a time. Duplicate keys are refused.
class KaldiTableReader {
 public:
  explicit KaldiTableReader(const std::string& rspecifier, KaldiReadOptions opt = {});
  ~KaldiTableReader();
  KaldiTableReader(const KaldiTableReader&) = delete;
  KaldiTableReader& operator=(const KaldiTableReader&) = delete;
  bool next(Record& rec);  // false at the end; throws sb::Error

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

enum class KaldiCompression { None, Auto, CM, CM2, CM3 };  // Auto: CM above 8 rows, else CM2 (Kaldi's)
bool kaldi_compression_from_name(std::string_view name, KaldiCompression& out);

struct KaldiWriteOptions {
  KaldiCompression compress = KaldiCompression::None;  // binary matrices only
  bool force_terminal = false;
};

// Writes an archive (and its script). Outputs appear under their names only
// at close() (io/output_file.h); a writer destroyed without close() leaves
// nothing there.
class KaldiTableWriter {
 public:
  explicit KaldiTableWriter(const std::string& wspecifier, KaldiWriteOptions opt = {});
  ~KaldiTableWriter();
  KaldiTableWriter(const KaldiTableWriter&) = delete;
  KaldiTableWriter& operator=(const KaldiTableWriter&) = delete;
  void write(std::string_view key, const Tensor& t);  // throws sb::Error naming the key
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One object from memory (what follows "key "), for tests and fuzzing:
// `where` prefixes messages; *consumed gets the bytes the object used.
Tensor parse_kaldi_object(const unsigned char* data, std::size_t size, const std::string& where,
                          std::size_t* consumed = nullptr, KaldiReadOptions opt = {});
// One object's bytes ("\0B..." binary, or text). `where` names it in errors.
std::vector<unsigned char> serialize_kaldi_object(const Tensor& t, bool text,
                                                  KaldiCompression compress, const std::string& where);
// Kaldi's CompressedMatrix::CopyFromMat, rows x cols row-major, finite
// values: the object's bytes after "\0B" ("CM " ...).
std::vector<unsigned char> compress_kaldi_matrix(const float* data, std::int32_t rows, std::int32_t cols,
                                                 KaldiCompression method);

}  // namespace sb

// Keyed vectors as the evaluation tools read them: one row per archive
// record, rows in archive order, with the checks every tool needs once
// (duplicate keys, dimension mismatches, non-finite values) done here.
#pragma once
#include <cstddef>
#include <string>
#include <unordered_map>
#include <vector>

namespace sb::eval {

struct KeyedRows {
  std::string source;              // file name, for messages
  std::vector<std::string> keys;   // in archive order
  std::size_t dim = 0;
  std::vector<float> data;         // keys.size() x dim, row-major

  std::size_t size() const { return keys.size(); }
  const float* row(std::size_t i) const { return data.data() + i * dim; }
  // key -> row; the keys are unique (read_vectors guarantees it).
  std::unordered_map<std::string, std::size_t> index() const;
};

enum class Pooling {
  None,  // each record is a vector (rank 1, or rank 2 with one row)
  Mean,  // each record is a T x F matrix, averaged over its T rows
};

// Reads an archive ("-" = stdin). Errors name the file and the record:
// a duplicate key, a record of another dimension, a text record, an empty
// matrix, NaN or infinity.
KeyedRows read_vectors(const std::string& path, Pooling pooling = Pooling::None);

// Scales every row to unit L2 norm (computed in double) so that a dot
// product is a cosine. A zero row stays zero: its cosine with anything is 0.
void normalize_rows(float* data, std::size_t n, std::size_t dim);

// Keeps only the rows whose indices are listed, in that order.
KeyedRows select_rows(const KeyedRows& in, const std::vector<std::size_t>& rows);

// Worker threads to use: `requested`, or all cores when 0.
unsigned thread_count(int requested);

// While alive, makes OpenBLAS single-threaded (restoring the old setting
// afterwards), so that the evaluation's own worker threads, each calling
// sgemm, do not multiply with BLAS threads. A no-op without BLAS.
class BlasSingleThread {
 public:
  BlasSingleThread();
  ~BlasSingleThread();
  BlasSingleThread(const BlasSingleThread&) = delete;
  BlasSingleThread& operator=(const BlasSingleThread&) = delete;

 private:
  int saved_ = 0;
};

}  // namespace sb::eval

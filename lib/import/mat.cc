// MATLAB matrices through Debian's libmatio (v4, v5 and, with its HDF5
// backend, v7.3), or a clear refusal where the build has no libmatio.
#include "import/import.h"
#include "sb_config.h"

#include "core/error.h"

#if SB_HAVE_MATIO
#include <matio.h>
#endif

namespace sb::import {

bool have_matio() { return SB_HAVE_MATIO != 0; }

#if SB_HAVE_MATIO
namespace {

template <class T>
void copy_as_float(const void* data, std::size_t n, std::vector<float>& out) {
  const T* p = static_cast<const T*>(data);
  out.resize(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<float>(p[i]);
}

}  // namespace

std::vector<float> read_mat_matrix(const std::string& path, const std::string& name, std::size_t& rows,
                                   std::size_t& cols) {
  mat_t* mat = Mat_Open(path.c_str(), MAT_ACC_RDONLY);
  if (!mat) fail(path, ": cannot open as a MATLAB file (v4, v5 or v7.3)");
  matvar_t* v = Mat_VarRead(mat, name.c_str());
  if (!v) {
    Mat_Close(mat);
    fail(path, ": no variable '", name, "'");
  }
  std::vector<float> out;
  std::string problem;
  if (v->rank != 2) {
    problem = cat("variable '", name, "' has rank ", v->rank, ", not 2");
  } else if (v->isComplex || v->isLogical || v->data == nullptr) {
    problem = cat("variable '", name, "' is not a real numeric matrix");
  } else {
    rows = v->dims[0];
    cols = v->dims[1];
    const std::size_t n = rows * cols;
    switch (v->class_type) {
      case MAT_C_DOUBLE: copy_as_float<double>(v->data, n, out); break;
      case MAT_C_SINGLE: copy_as_float<float>(v->data, n, out); break;
      case MAT_C_INT32: copy_as_float<std::int32_t>(v->data, n, out); break;
      case MAT_C_UINT8: copy_as_float<std::uint8_t>(v->data, n, out); break;
      default: problem = cat("variable '", name, "' is of a class sb does not read (not double/single)");
    }
  }
  Mat_VarFree(v);
  Mat_Close(mat);
  if (!problem.empty()) fail(path, ": ", problem);
  return out;
}
#else
std::vector<float> read_mat_matrix(const std::string& path, const std::string&, std::size_t&, std::size_t&) {
  fail(path, ": sb was built without libmatio (libmatio-dev): cannot read MATLAB files");
}
#endif

}  // namespace sb::import

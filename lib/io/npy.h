// NumPy's .npy (format 1.0-3.0) and .npz (zip of .npy members) so that a
// Python user can read and write everything sb writes. Supported dtypes:
// <f4 <f8 <f2 <i4 <i8 |u1 (and |b1 read as u8); 0-d |S<n> strings map to
// Text records. Fortran-order arrays are transposed into row-major on read.
#pragma once
#include <string>
#include <vector>

#include "io/tensor.h"

namespace sb {

Tensor read_npy(const std::string& path);             // "-" = stdin
void write_npy(const std::string& path, const Tensor& t);  // "-" = stdout
// Parses/serialises .npy from/to memory; `name` is used in messages.
Tensor parse_npy(const unsigned char* data, std::size_t size, const std::string& name);
std::vector<unsigned char> serialize_npy(const Tensor& t);

// .npz: members are "<key>.npy"; stored (np.savez) and deflated
// (np.savez_compressed) members are both read; sb writes stored members.
std::vector<Record> read_npz(const std::string& path);
void write_npz(const std::string& path, const std::vector<Record>& records);

}  // namespace sb

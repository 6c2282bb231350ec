// NumPy .npy / .npz. The .npy header is a Python dict literal; sb parses only
// the three keys NumPy writes ('descr', 'fortran_order', 'shape') and checks
// every size against the bytes present. .npz is a zip archive: members are
// located through the central directory (zip64 fields honoured, as NumPy
// always writes them), stored or deflated.
#include "io/npy.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <new>
#include <set>

#include "core/error.h"
#include "io/output_file.h"
#include "sb_config.h"
#include <zlib.h>

namespace sb {
namespace {

std::vector<unsigned char> slurp(const std::string& path) {
  const bool std_in = path == "-";
  const int fd = std_in ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path, ": cannot open: ", std::strerror(errno));
  std::vector<unsigned char> data;
  std::size_t used = 0;
  data.resize(1 << 16);
  for (;;) {
    if (used == data.size()) {
      try {
        data.resize(data.size() * 2);
      } catch (const std::bad_alloc&) {
        if (!std_in) ::close(fd);
        fail(path == "-" ? "<stdin>" : path, ": out of memory after reading ", used, " bytes");
      }
    }
    const ssize_t r = ::read(fd, data.data() + used, data.size() - used);
    if (r < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      if (!std_in) ::close(fd);
      fail(path, ": read failed: ", std::strerror(e));
    }
    if (r == 0) break;
    used += static_cast<std::size_t>(r);
  }
  if (!std_in) ::close(fd);
  data.resize(used);
  return data;
}

// Files appear under their name only when complete (io/output_file.h).
void spill(const std::string& path, const unsigned char* p, std::size_t n) {
  OutputFile out(path);
  out.write_all(p, n);
  out.commit();
}

struct Descr {
  DType dtype;
  bool big_endian;
  bool is_string;  // |S<n>
  std::size_t string_len;
};

Descr parse_descr(const std::string& d, const std::string& name) {
  if (d.size() < 3) fail(name, ": unsupported .npy dtype '", d, "'");
  const char order = d[0];
  const std::string code = d.substr(1);
  Descr r{DType::F32, order == '>', false, 0};
  if (order != '<' && order != '>' && order != '|' && order != '=') fail(name, ": unsupported .npy dtype '", d, "'");
  if (code == "f4") r.dtype = DType::F32;
  else if (code == "f8") r.dtype = DType::F64;
  else if (code == "f2") r.dtype = DType::F16;
  else if (code == "i4") r.dtype = DType::I32;
  else if (code == "i8") r.dtype = DType::I64;
  else if (code == "u1" || code == "b1") r.dtype = DType::U8;
  else if (code == "i1") r.dtype = DType::I8;
  else if (code[0] == 'S') {
    r.is_string = true;
    r.dtype = DType::Text;
    r.string_len = 0;
    for (std::size_t i = 1; i < code.size(); ++i) {
      if (code[i] < '0' || code[i] > '9' || r.string_len > (1u << 30)) fail(name, ": bad .npy dtype '", d, "'");
      r.string_len = r.string_len * 10 + static_cast<std::size_t>(code[i] - '0');
    }
  } else {
    fail(name, ": unsupported .npy dtype '", d, "' (sb reads f4, f8, f2, i4, i8, u1, b1 and 0-d S strings)");
  }
  return r;
}

// Finds the value text after 'key': in the header dict.
std::string dict_value(const std::string& h, const std::string& key, const std::string& name) {
  const std::size_t k = h.find("'" + key + "'");
  if (k == std::string::npos) fail(name, ": .npy header lacks '", key, "'");
  std::size_t p = h.find(':', k);
  if (p == std::string::npos) fail(name, ": malformed .npy header");
  ++p;
  while (p < h.size() && h[p] == ' ') ++p;
  std::size_t e = p;
  if (p < h.size() && (h[p] == '\'' || h[p] == '"')) {
    e = h.find(h[p], p + 1);
    if (e == std::string::npos) fail(name, ": malformed .npy header");
    return h.substr(p + 1, e - p - 1);
  }
  if (p < h.size() && h[p] == '(') {
    e = h.find(')', p);
    if (e == std::string::npos) fail(name, ": malformed .npy header");
    return h.substr(p, e - p + 1);
  }
  while (e < h.size() && h[e] != ',' && h[e] != '}') ++e;
  return h.substr(p, e - p);
}

void byteswap(unsigned char* p, std::size_t n, std::size_t width) {
  if (width == 1) return;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t a = 0, b = width - 1; a < b; ++a, --b) std::swap(p[i * width + a], p[i * width + b]);
}

std::uint16_t rd16(const unsigned char* p) { return static_cast<std::uint16_t>(p[0] | p[1] << 8); }
std::uint32_t rd32(const unsigned char* p) { return static_cast<std::uint32_t>(rd16(p)) | static_cast<std::uint32_t>(rd16(p + 2)) << 16; }
std::uint64_t rd64(const unsigned char* p) { return static_cast<std::uint64_t>(rd32(p)) | static_cast<std::uint64_t>(rd32(p + 4)) << 32; }
void wr16(std::vector<unsigned char>& o, std::uint16_t v) { o.push_back(v & 0xFF); o.push_back(v >> 8); }
void wr32(std::vector<unsigned char>& o, std::uint32_t v) { wr16(o, v & 0xFFFF); wr16(o, v >> 16); }
void wr64(std::vector<unsigned char>& o, std::uint64_t v) { wr32(o, v & 0xFFFFFFFFu); wr32(o, v >> 32); }

// zlib's CRC-32 (the zip format's), fed in pieces that fit its uInt length.
std::uint32_t crc32_of(const unsigned char* p, std::size_t n) {
  uLong c = crc32(0L, Z_NULL, 0);
  while (n > 0) {
    const uInt piece = static_cast<uInt>(std::min<std::size_t>(n, 1u << 30));
    c = crc32(c, p, piece);
    p += piece;
    n -= piece;
  }
  return static_cast<std::uint32_t>(c);
}

}  // namespace

Tensor parse_npy(const unsigned char* data, std::size_t size, const std::string& name) {
  static const unsigned char magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (size < 10 || std::memcmp(data, magic, 6) != 0) fail(name, ": not a .npy file (bad magic)");
  const int major = data[6];
  std::size_t hlen, hstart;
  if (major == 1) {
    hlen = rd16(data + 8);
    hstart = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) fail(name, ": truncated .npy header");
    hlen = rd32(data + 8);
    hstart = 12;
  } else {
    fail(name, ": .npy format version ", major, " is not supported");
  }
  if (hlen > size - hstart) fail(name, ": truncated .npy header");
  const std::string h(reinterpret_cast<const char*>(data + hstart), hlen);
  const Descr d = parse_descr(dict_value(h, "descr", name), name);
  const std::string fo = dict_value(h, "fortran_order", name);
  const bool fortran = fo.find("True") != std::string::npos;
  const std::string st = dict_value(h, "shape", name);
  std::vector<std::int64_t> shape;
  {
    std::size_t i = 1;
    while (i < st.size()) {
      while (i < st.size() && (st[i] == ' ' || st[i] == ',')) ++i;
      if (i >= st.size() || st[i] == ')') break;
      std::uint64_t v = 0;
      bool any = false;
      while (i < st.size() && st[i] >= '0' && st[i] <= '9') {
        v = v * 10 + static_cast<std::uint64_t>(st[i] - '0');
        if (v > (std::uint64_t{1} << 40)) fail(name, ": .npy dimension too large");
        any = true;
        ++i;
      }
      if (!any) fail(name, ": malformed .npy shape '", st, "'");
      shape.push_back(static_cast<std::int64_t>(v));
    }
  }
  if (shape.size() > static_cast<std::size_t>(kMaxRank)) fail(name, ": rank ", shape.size(), " exceeds ", kMaxRank);
  const unsigned char* body = data + hstart + hlen;
  const std::size_t avail = size - hstart - hlen;
  if (d.is_string) {
    if (!shape.empty()) fail(name, ": only 0-d string arrays are supported (as text records)");
    if (avail != d.string_len) fail(name, ": truncated .npy data");
    std::size_t n = d.string_len;
    while (n > 0 && body[n - 1] == 0) --n;  // NumPy pads S<n> with NULs
    return Tensor::text(std::string_view(reinterpret_cast<const char*>(body), n));
  }
  std::uint64_t numel = 1;
  for (auto v : shape) {
    numel *= static_cast<std::uint64_t>(v);
    if (numel > (std::uint64_t{1} << 40)) fail(name, ": .npy array too large");
  }
  const std::size_t width = dtype_size(d.dtype);
  if (numel * width != avail)
    fail(name, ": .npy data has ", avail, " bytes, the header says ", numel * width, " (truncated or corrupt)");
  Tensor t(d.dtype, shape, body);
  if (d.big_endian) byteswap(t.bytes(), t.numel(), width);
  if (fortran && shape.size() > 1) {
    // Column-major to row-major: element with index (i0..ik) sits at
    // offset sum i_j * prod(shape[0..j-1]) in the source.
    Tensor r(d.dtype, shape);
    const std::size_t k = shape.size();
    std::vector<std::int64_t> idx(k, 0);
    for (std::size_t n = 0; n < numel; ++n) {
      std::size_t src = 0, stride = 1;
      for (std::size_t j = 0; j < k; ++j) {
        src += static_cast<std::size_t>(idx[j]) * stride;
        stride *= static_cast<std::size_t>(shape[j]);
      }
      std::memcpy(r.bytes() + n * width, t.bytes() + src * width, width);
      for (std::size_t j = k; j-- > 0;) {
        if (++idx[j] < shape[j]) break;
        idx[j] = 0;
      }
    }
    return r;
  }
  return t;
}

std::vector<unsigned char> serialize_npy(const Tensor& t) {
  std::string descr;
  switch (t.dtype()) {
    case DType::F32: descr = "<f4"; break;
    case DType::F64: descr = "<f8"; break;
    case DType::F16: descr = "<f2"; break;
    case DType::I32: descr = "<i4"; break;
    case DType::I64: descr = "<i8"; break;
    case DType::U8: descr = "|u1"; break;
    case DType::I8: descr = "|i1"; break;
    case DType::Text: descr = "|S" + std::to_string(std::max<std::size_t>(t.nbytes(), 1)); break;
  }
  // NumPy's spelling: "()", "(3,)", "(3, 4)". A text record is a 0-d string.
  std::string shape = "(";
  if (t.dtype() != DType::Text) {
    for (int i = 0; i < t.rank(); ++i) shape += (i ? ", " : "") + std::to_string(t.dim(i));
    if (t.rank() == 1) shape += ",";
  }
  shape += ")";
  std::string h = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  // NumPy pads the header with spaces so the data starts on a 64-byte boundary.
  const std::size_t base = 10 + h.size() + 1;
  h.append((64 - base % 64) % 64, ' ');
  h += '\n';
  std::vector<unsigned char> out = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
  wr16(out, static_cast<std::uint16_t>(h.size()));
  out.insert(out.end(), h.begin(), h.end());
  out.insert(out.end(), t.bytes(), t.bytes() + t.nbytes());
  if (t.dtype() == DType::Text && t.nbytes() == 0) out.push_back(0);
  return out;
}

Tensor read_npy(const std::string& path) {
  const auto data = slurp(path);
  return parse_npy(data.data(), data.size(), path == "-" ? "<stdin>" : path);
}

void write_npy(const std::string& path, const Tensor& t) {
  const auto bytes = serialize_npy(t);
  spill(path, bytes.data(), bytes.size());
}

// Inflates a deflated member. The output grows with what inflate actually
// produces (doubling), never straight to the size the directory claims: a
// 200-byte file claiming a 2 GiB member fails without allocating it.
static std::vector<unsigned char> inflate_member(const unsigned char* in, std::size_t csize,
                                                 std::size_t usize, const std::string& where) {
  std::vector<unsigned char> out(std::min<std::size_t>(usize, std::size_t{1} << 20));
  z_stream s{};
  if (inflateInit2(&s, -MAX_WBITS) != Z_OK) fail(where, ": cannot start inflate");
  std::size_t in_done = 0, out_done = 0;
  int r = Z_OK;
  while (r != Z_STREAM_END) {
    if (out_done == out.size()) {
      if (out.size() == usize) break;  // full, and the stream has not ended: more data than claimed
      out.resize(std::min(usize, out.size() * 2));
    }
    const std::size_t in_piece = std::min<std::size_t>(csize - in_done, 1u << 30);
    const std::size_t out_piece = std::min<std::size_t>(out.size() - out_done, 1u << 30);
    s.next_in = const_cast<unsigned char*>(in + in_done);
    s.avail_in = static_cast<uInt>(in_piece);
    s.next_out = out.data() + out_done;
    s.avail_out = static_cast<uInt>(out_piece);
    r = inflate(&s, Z_NO_FLUSH);
    in_done += in_piece - s.avail_in;
    out_done += out_piece - s.avail_out;
    if (r == Z_BUF_ERROR && in_done == csize && s.avail_out > 0) break;  // input ran out
    if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR) break;
  }
  inflateEnd(&s);
  if (r != Z_STREAM_END || out_done != usize)
    fail(where, ": corrupt deflate data (", out_done, " bytes inflated, the directory says ", usize, ")");
  return out;
}

std::vector<Record> read_npz(const std::string& path) {
  const auto z = slurp(path);
  const std::string name = path == "-" ? "<stdin>" : path;
  // End of central directory: 22 bytes + comment, searched from the end.
  if (z.size() < 22) fail(name, ": not a .npz file (too short)");
  std::size_t eocd = std::string::npos;
  for (std::size_t i = z.size() - 22 + 1; i-- > 0 && z.size() - i <= 22 + 65535;) {
    if (rd32(z.data() + i) == 0x06054b50u) { eocd = i; break; }
  }
  if (eocd == std::string::npos) fail(name, ": not a .npz file (no zip directory)");
  std::uint64_t entries = rd16(z.data() + eocd + 10);
  std::uint64_t cd_size = rd32(z.data() + eocd + 12);
  std::uint64_t cd_off = rd32(z.data() + eocd + 16);
  if (cd_off == 0xFFFFFFFFu || entries == 0xFFFF) {  // zip64 end of central directory
    if (eocd < 20 || rd32(z.data() + eocd - 20) != 0x07064b50u) fail(name, ": corrupt zip64 directory");
    const std::uint64_t z64 = rd64(z.data() + eocd - 20 + 8);
    // Offsets are checked by subtraction: z64 + 56 wraps for a forged 2^64 - 8.
    if (z64 > z.size() || z.size() - z64 < 56 || rd32(z.data() + z64) != 0x06064b50u)
      fail(name, ": corrupt zip64 directory");
    entries = rd64(z.data() + z64 + 32);
    cd_size = rd64(z.data() + z64 + 40);
    cd_off = rd64(z.data() + z64 + 48);
  }
  if (cd_off > z.size() || cd_size > z.size() - cd_off) fail(name, ": corrupt zip directory");
  std::vector<Record> out;
  std::set<std::string> keys;
  std::size_t p = static_cast<std::size_t>(cd_off);
  for (std::uint64_t e = 0; e < entries; ++e) {
    if (p + 46 > z.size() || rd32(z.data() + p) != 0x02014b50u) fail(name, ": corrupt zip directory entry ", e + 1);
    const std::uint16_t method = rd16(z.data() + p + 10);
    const std::uint32_t crc = rd32(z.data() + p + 16);
    std::uint64_t csize = rd32(z.data() + p + 20), usize = rd32(z.data() + p + 24);
    const std::uint16_t nlen = rd16(z.data() + p + 28), xlen = rd16(z.data() + p + 30), clen = rd16(z.data() + p + 32);
    std::uint64_t loff = rd32(z.data() + p + 42);
    if (p + 46 + nlen + xlen + clen > z.size()) fail(name, ": corrupt zip directory entry ", e + 1);
    std::string member(reinterpret_cast<const char*>(z.data() + p + 46), nlen);
    // zip64 extra field: the 0xFFFFFFFF fields follow in order usize, csize, offset.
    for (std::size_t x = p + 46 + nlen; x + 4 <= p + 46 + nlen + xlen;) {
      const std::uint16_t id = rd16(z.data() + x), len = rd16(z.data() + x + 2);
      if (x + 4 + len > p + 46 + nlen + xlen) break;
      if (id == 0x0001) {
        std::size_t q = x + 4;
        if (usize == 0xFFFFFFFFu && q + 8 <= x + 4 + len) { usize = rd64(z.data() + q); q += 8; }
        if (csize == 0xFFFFFFFFu && q + 8 <= x + 4 + len) { csize = rd64(z.data() + q); q += 8; }
        if (loff == 0xFFFFFFFFu && q + 8 <= x + 4 + len) { loff = rd64(z.data() + q); q += 8; }
      }
      x += 4 + len;
    }
    p += 46 + nlen + xlen + clen;
    const std::string where = name + ": member '" + member + "'";
    if (loff > z.size() || z.size() - loff < 30 || rd32(z.data() + loff) != 0x04034b50u)
      fail(where, ": corrupt local header");
    const std::size_t data_off = static_cast<std::size_t>(loff) + 30 + rd16(z.data() + loff + 26) + rd16(z.data() + loff + 28);
    if (data_off > z.size() || csize > z.size() - data_off) fail(where, ": truncated");
    if (usize > (std::uint64_t{1} << 40)) fail(where, ": too large");
    std::vector<unsigned char> raw;
    const unsigned char* body = z.data() + data_off;
    if (method == 0) {
      if (csize != usize) fail(where, ": corrupt (stored sizes differ)");
    } else if (method == 8) {
      raw = inflate_member(body, static_cast<std::size_t>(csize), static_cast<std::size_t>(usize), where);
      body = raw.data();
    } else {
      fail(where, ": unsupported zip compression method ", method);
    }
    if (crc32_of(body, static_cast<std::size_t>(usize)) != crc) fail(where, ": CRC mismatch (corrupt)");
    std::string key = member;
    if (key.size() > 4 && key.compare(key.size() - 4, 4, ".npy") == 0) key.resize(key.size() - 4);
    if (!keys.insert(key).second) fail(where, ": a second member named '", key, "'");
    out.push_back({key, parse_npy(body, static_cast<std::size_t>(usize), where)});
  }
  return out;
}

void write_npz(const std::string& path, const std::vector<Record>& records) {
  // Stored members with zip64 extra fields where sizes need them.
  std::vector<unsigned char> out, cd;
  std::vector<std::string> members;
  for (const Record& r : records) members.push_back(r.key);
  std::sort(members.begin(), members.end());
  for (std::size_t i = 1; i < members.size(); ++i)
    if (members[i] == members[i - 1]) fail(path == "-" ? "<stdout>" : path, ": duplicate key '", members[i], "' cannot go into one .npz");
  for (const Record& r : records) {
    const auto body = serialize_npy(r.tensor);
    const std::string member = r.key + ".npy";
    if (member.size() > 0xFFFF) fail(path, ": key too long for a zip member: '", r.key, "'");
    const std::uint32_t crc = crc32_of(body.data(), body.size());
    const std::uint64_t off = out.size();
    const bool big = body.size() >= 0xFFFFFFFFu || off >= 0xFFFFFFFFu;
    // local header
    wr32(out, 0x04034b50u); wr16(out, big ? 45 : 20); wr16(out, 0); wr16(out, 0); wr16(out, 0); wr16(out, 0x21);
    wr32(out, crc);
    wr32(out, big ? 0xFFFFFFFFu : static_cast<std::uint32_t>(body.size()));
    wr32(out, big ? 0xFFFFFFFFu : static_cast<std::uint32_t>(body.size()));
    wr16(out, static_cast<std::uint16_t>(member.size())); wr16(out, big ? 20 : 0);
    out.insert(out.end(), member.begin(), member.end());
    if (big) { wr16(out, 1); wr16(out, 16); wr64(out, body.size()); wr64(out, body.size()); }
    out.insert(out.end(), body.begin(), body.end());
    // central directory entry
    wr32(cd, 0x02014b50u); wr16(cd, 45); wr16(cd, big ? 45 : 20); wr16(cd, 0); wr16(cd, 0); wr16(cd, 0); wr16(cd, 0x21);
    wr32(cd, crc);
    wr32(cd, big ? 0xFFFFFFFFu : static_cast<std::uint32_t>(body.size()));
    wr32(cd, big ? 0xFFFFFFFFu : static_cast<std::uint32_t>(body.size()));
    wr16(cd, static_cast<std::uint16_t>(member.size())); wr16(cd, big ? 28 : 0); wr16(cd, 0); wr16(cd, 0); wr16(cd, 0);
    wr32(cd, 0x81A40000u);  // regular file, rw-r--r--
    wr32(cd, big ? 0xFFFFFFFFu : static_cast<std::uint32_t>(off));
    cd.insert(cd.end(), member.begin(), member.end());
    if (big) { wr16(cd, 1); wr16(cd, 24); wr64(cd, body.size()); wr64(cd, body.size()); wr64(cd, off); }
  }
  const std::uint64_t cd_off = out.size();
  out.insert(out.end(), cd.begin(), cd.end());
  const bool z64 = records.size() >= 0xFFFF || cd_off >= 0xFFFFFFFFu;
  if (z64) {
    const std::uint64_t z64_off = out.size();
    wr32(out, 0x06064b50u); wr64(out, 44); wr16(out, 45); wr16(out, 45); wr32(out, 0); wr32(out, 0);
    wr64(out, records.size()); wr64(out, records.size()); wr64(out, cd.size()); wr64(out, cd_off);
    wr32(out, 0x07064b50u); wr32(out, 0); wr64(out, z64_off); wr32(out, 1);
  }
  wr32(out, 0x06054b50u); wr16(out, 0); wr16(out, 0);
  wr16(out, z64 ? 0xFFFF : static_cast<std::uint16_t>(records.size()));
  wr16(out, z64 ? 0xFFFF : static_cast<std::uint16_t>(records.size()));
  wr32(out, static_cast<std::uint32_t>(std::min<std::uint64_t>(cd.size(), 0xFFFFFFFFu)));
  wr32(out, z64 ? 0xFFFFFFFFu : static_cast<std::uint32_t>(cd_off));
  wr16(out, 0);
  spill(path, out.data(), out.size());
}

}  // namespace sb

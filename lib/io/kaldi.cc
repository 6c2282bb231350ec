// Kaldi tables: specifiers, the object codec (binary, text, compressed) and
// sequential readers and writers. See kaldi.h for the layout. Byte order:
// Kaldi writes its native order, which is little-endian everywhere it runs;
// sb's .sbt is little-endian too, so floats are copied as they are.
#include "io/kaldi.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <unordered_set>

#include "core/error.h"
#include "io/archive.h"
#include "io/output_file.h"
#include "io/table.h"

namespace sb {
namespace {

constexpr std::size_t kMaxKeyBytes = 4096;     // sb's key limit (sbt(5))
constexpr std::size_t kMaxNumberChars = 64;    // a text number longer than this is garbage
constexpr std::size_t kReadPiece = 1 << 20;    // payloads of unknown length grow by this much at first

bool is_space(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// Bytes from a file, standard input or memory, buffered, with the offset and
// (where the input is a regular file or memory) the number of bytes left.
class ByteSource {
 public:
  ByteSource(const unsigned char* data, std::size_t size, std::string name)
      : name_(std::move(name)), cur_(data), len_(size), known_(true), total_(size) {}

  // path "-" is standard input.
  explicit ByteSource(const std::string& path) : name_(path == "-" ? "<stdin>" : path) {
    if (path == "-") {
      fd_ = STDIN_FILENO;
    } else {
      fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd_ < 0) fail(path, ": cannot open: ", std::strerror(errno));
      own_ = true;
    }
    struct stat st;
    if (::fstat(fd_, &st) == 0) {
      if (S_ISDIR(st.st_mode)) {
        close_fd();
        fail(name_, ": is a directory, not a Kaldi table");
      }
      if (S_ISREG(st.st_mode)) {
        known_ = true;
        total_ = static_cast<std::uint64_t>(st.st_size);
        const off_t at = ::lseek(fd_, 0, SEEK_CUR);
        base_ = at > 0 ? static_cast<std::uint64_t>(at) : 0;
      }
    }
    buf_.resize(1 << 16);
    cur_ = buf_.data();
  }
  ~ByteSource() { close_fd(); }
  ByteSource(const ByteSource&) = delete;
  ByteSource& operator=(const ByteSource&) = delete;

  const std::string& name() const { return name_; }
  std::uint64_t offset() const { return base_ + pos_; }
  std::uint64_t size() const { return total_; }
  bool size_known() const { return known_; }
  // Bytes left, or max() where the input's size cannot be known (a pipe).
  std::uint64_t left() const {
    if (!known_) return std::numeric_limits<std::uint64_t>::max();
    return total_ > offset() ? total_ - offset() : 0;
  }

  int peek() {
    if (pos_ == len_ && !fill()) return -1;
    return cur_[pos_];
  }
  int get() {
    const int c = peek();
    if (c >= 0) ++pos_;
    return c;
  }
  // Reads up to n bytes; fewer only at the end of the input.
  std::size_t read(void* dst, std::size_t n) {
    auto* out = static_cast<unsigned char*>(dst);
    std::size_t done = 0;
    while (done < n) {
      if (pos_ == len_) {
        // Large reads go straight into dst rather than through the buffer.
        if (fd_ >= 0 && n - done >= buf_.size()) {
          const ssize_t r = read_fd(out + done, n - done);
          if (r == 0) break;
          base_ += static_cast<std::uint64_t>(r);
          done += static_cast<std::size_t>(r);
          continue;
        }
        if (!fill()) break;
      }
      const std::size_t k = std::min(n - done, len_ - pos_);
      std::memcpy(out + done, cur_ + pos_, k);
      pos_ += k;
      done += k;
    }
    return done;
  }
  void seek(std::uint64_t to) {
    if (fd_ < 0) {
      if (to > total_) fail(name_, ": offset ", to, " is past the end");
      pos_ = static_cast<std::size_t>(to);
      return;
    }
    if (::lseek(fd_, static_cast<off_t>(to), SEEK_SET) < 0)
      fail(name_, ": cannot seek to offset ", to, ": ", std::strerror(errno));
    base_ = to;
    pos_ = len_ = 0;
  }

 private:
  ssize_t read_fd(unsigned char* p, std::size_t n) {
    for (;;) {
      const ssize_t r = ::read(fd_, p, n);
      if (r >= 0) return r;
      if (errno == EINTR) continue;
      fail(name_, ": read failed: ", std::strerror(errno));
    }
  }
  bool fill() {
    if (fd_ < 0) return false;
    base_ += len_;
    pos_ = len_ = 0;
    const ssize_t r = read_fd(buf_.data(), buf_.size());
    len_ = static_cast<std::size_t>(r);
    return r > 0;
  }
  void close_fd() {
    if (own_ && fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  std::string name_;
  int fd_ = -1;
  bool own_ = false;
  std::vector<unsigned char> buf_;
  const unsigned char* cur_ = nullptr;
  std::size_t pos_ = 0, len_ = 0;
  std::uint64_t base_ = 0;  // input offset of cur_[0]
  bool known_ = false;
  std::uint64_t total_ = 0;
};

std::uint32_t le32(const unsigned char* p) {
  return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
         static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}
std::uint16_t le16(const unsigned char* p) { return static_cast<std::uint16_t>(p[0] | p[1] << 8); }
float f32_of(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
void put16(std::vector<unsigned char>& o, std::uint16_t v) {
  o.push_back(static_cast<unsigned char>(v & 0xFF));
  o.push_back(static_cast<unsigned char>(v >> 8));
}
void put32(std::vector<unsigned char>& o, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) o.push_back(static_cast<unsigned char>(v >> (8 * i)));
}
void put_f32(std::vector<unsigned char>& o, float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  put32(o, u);
}
void put_int(std::vector<unsigned char>& o, std::int32_t v) {  // Kaldi's WriteBasicType<int32>
  o.push_back(4);
  put32(o, static_cast<std::uint32_t>(v));
}
void put_str(std::vector<unsigned char>& o, std::string_view s) { o.insert(o.end(), s.begin(), s.end()); }

// ---- reading one object ---------------------------------------------------

std::string printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x21 && c < 0x7F) out += static_cast<char>(c);
    else out += cat("\\x", "0123456789abcdef"[c >> 4], "0123456789abcdef"[c & 15]);
  }
  return out;
}

// Reads exactly n bytes of an object's payload. The size came from a header:
// it is checked against the bytes left where that is known, and read in
// growing pieces where it is not, so that a lying header costs at most about
// twice the bytes actually present.
void read_payload(ByteSource& in, std::uint64_t n, std::vector<unsigned char>& out, const std::string& where,
                  const char* what) {
  if (n > in.left())
    fail(where, ": truncated: the header says ", n, " bytes of ", what, ", ", in.left(), " are left in the file");
  out.clear();
  std::size_t piece = kReadPiece;
  while (out.size() < n) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(n - out.size(), piece));
    const std::size_t at = out.size();
    out.resize(at + want);
    const std::size_t got = in.read(out.data() + at, want);
    if (got < want)
      fail(where, ": truncated inside the ", what, " (", at + got, " of ", n, " bytes)");
    piece = std::max(piece, out.size());  // doubles what is held at most
  }
}

std::int32_t read_int(ByteSource& in, const std::string& where, const char* what) {
  const int size_byte = in.get();
  if (size_byte < 0) fail(where, ": truncated in the object header (before the ", what, ")");
  if (size_byte != 4)
    fail(where, ": corrupt object header: the ", what, " has size byte ", size_byte, " (Kaldi writes 4 for an int32)");
  unsigned char b[4];
  if (in.read(b, 4) != 4) fail(where, ": truncated in the object header (inside the ", what, ")");
  const auto v = static_cast<std::int32_t>(le32(b));
  if (v < 0) fail(where, ": corrupt object header: negative ", what, " ", v);
  return v;
}

std::string read_token(ByteSource& in, const std::string& where) {
  std::string tok;
  for (;;) {
    const int c = in.get();
    if (c < 0) fail(where, ": truncated in the object header (inside the type token)");
    if (c == ' ') break;
    tok += static_cast<char>(c);
    if (tok.size() > 8) break;
  }
  if (tok != "FM" && tok != "DM" && tok != "FV" && tok != "DV" && tok != "CM" && tok != "CM2" && tok != "CM3") {
    // Kaldi's integer vectors (alignments) start with a size byte, not a
    // token; its wave archives with "RIFF".
    const char* hint = !tok.empty() && (tok[0] == 1 || tok[0] == 2 || tok[0] == 4 || tok[0] == 8)
                           ? "; integer vectors such as alignments are not supported"
                           : tok.rfind("RIFF", 0) == 0 ? "; audio (a wave archive) goes to sb-mfcc" : "";
    fail(where, ": unsupported Kaldi object '", printable(tok.substr(0, 8)),
         "' (sb reads FM, DM, FV, DV, CM, CM2, CM3 and text matrices and vectors", hint, ")");
  }
  return tok;
}

void check_decoded_size(std::uint64_t numel, std::size_t width, const KaldiReadOptions& opt, const std::string& where) {
  if (numel * width > opt.max_object_bytes)
    fail(where, ": ", numel, " elements exceed the limit of ", opt.max_object_bytes, " bytes for one object");
}

// Kaldi's CompressedMatrix decoding, in its float arithmetic, so that sb
// decodes to the same floats Kaldi's CopyToMat gives.
float uint16_to_float(float min_value, float range, std::uint16_t q) {
  return min_value + range * 1.52590218966964e-05F * q;
}
float char_to_float(float p0, float p25, float p75, float p100, std::uint8_t q) {
  if (q <= 64) return static_cast<float>(p0 + (p25 - p0) * q * (1 / 64.0));
  if (q <= 192) return static_cast<float>(p25 + (p75 - p25) * (q - 64) * (1 / 128.0));
  return static_cast<float>(p75 + (p100 - p75) * (q - 192) * (1 / 63.0));
}

Tensor read_compressed(ByteSource& in, const std::string& tok, const std::string& where,
                       const KaldiReadOptions& opt) {
  unsigned char h[16];
  if (in.read(h, 16) != 16) fail(where, ": truncated in the ", tok, " header");
  const float min_value = f32_of(le32(h)), range = f32_of(le32(h + 4));
  const auto rows = static_cast<std::int32_t>(le32(h + 8)), cols = static_cast<std::int32_t>(le32(h + 12));
  if (rows < 0 || cols < 0) fail(where, ": corrupt ", tok, " header: ", rows, " x ", cols);
  if (rows == 0 && cols == 0) return Tensor(DType::F32, {0, 0});
  if (rows == 0 || cols == 0) fail(where, ": corrupt ", tok, " header: ", rows, " x ", cols, " (Kaldi writes an empty matrix as 0 x 0)");
  if (!std::isfinite(min_value) || !std::isfinite(range))
    fail(where, ": corrupt ", tok, " header: min ", min_value, ", range ", range);
  const std::uint64_t r = static_cast<std::uint64_t>(rows), c = static_cast<std::uint64_t>(cols);
  check_decoded_size(r * c, 4, opt, where);
  const std::uint64_t payload = tok == "CM" ? c * (8 + r) : tok == "CM2" ? 2 * r * c : r * c;
  std::vector<unsigned char> raw;
  read_payload(in, payload, raw, where, "compressed data");
  Tensor t(DType::F32, {rows, cols});
  float* out = t.f32();
  if (tok == "CM") {
    const unsigned char* bytes = raw.data() + 8 * c;
    for (std::uint64_t j = 0; j < c; ++j) {
      const unsigned char* ph = raw.data() + 8 * j;
      const float p0 = uint16_to_float(min_value, range, le16(ph)), p25 = uint16_to_float(min_value, range, le16(ph + 2)),
                  p75 = uint16_to_float(min_value, range, le16(ph + 4)), p100 = uint16_to_float(min_value, range, le16(ph + 6));
      for (std::uint64_t i = 0; i < r; ++i) out[i * c + j] = char_to_float(p0, p25, p75, p100, bytes[j * r + i]);
    }
  } else if (tok == "CM2") {
    const float increment = static_cast<float>(range * (1.0 / 65535.0));
    for (std::uint64_t k = 0; k < r * c; ++k) out[k] = min_value + le16(raw.data() + 2 * k) * increment;
  } else {
    const float increment = static_cast<float>(range * (1.0 / 255.0));
    for (std::uint64_t k = 0; k < r * c; ++k) out[k] = min_value + raw[k] * increment;
  }
  return t;
}

Tensor read_binary(ByteSource& in, const std::string& where, const KaldiReadOptions& opt) {
  const std::string tok = read_token(in, where);
  if (tok[0] == 'C') return read_compressed(in, tok, where, opt);
  const bool matrix = tok[1] == 'M';
  const DType dtype = tok[0] == 'F' ? DType::F32 : DType::F64;
  const std::size_t width = dtype_size(dtype);
  std::vector<std::int64_t> shape;
  if (matrix) {
    const std::int32_t rows = read_int(in, where, "row count");
    const std::int32_t cols = read_int(in, where, "column count");
    shape = {rows, cols};
  } else {
    shape = {read_int(in, where, "dimension")};
  }
  std::uint64_t numel = 1;
  for (auto d : shape) numel *= static_cast<std::uint64_t>(d);
  check_decoded_size(numel, width, opt, where);
  std::vector<unsigned char> bytes;
  read_payload(in, numel * width, bytes, where, "data");
  Tensor t;
  t.swap_in(dtype, shape, bytes);
  return t;
}

// Text: '[' numbers ']', a newline (or ';') inside the brackets making it a
// matrix. Values accumulate as parsed, so memory follows the bytes present.
Tensor read_text(ByteSource& in, const std::string& where, const KaldiReadOptions& opt) {
  int c = in.get();
  while (c >= 0 && is_space(c)) c = in.get();
  if (c < 0) fail(where, ": truncated: no object after the key");
  if (c != '[')
    fail(where, ": not a Kaldi matrix or vector (expected \"\\0B\" or '[', got '",
         printable(std::string(1, static_cast<char>(c))), "'", (c >= '0' && c <= '9') || c == '-' ?
         "; integer-vector tables such as alignments are not supported" : "", ")");
  const bool f64 = opt.text_dtype == DType::F64;
  const std::size_t width = f64 ? 8 : 4;
  std::vector<unsigned char> values;
  std::vector<std::uint64_t> row_sizes;
  std::uint64_t n = 0, row_start = 0;
  bool saw_newline = false;
  std::string tok;
  for (;;) {
    c = in.peek();
    if (c < 0) fail(where, ": truncated inside a text object (no closing ']')");
    if (c == ']') {
      in.get();
      if (in.peek() == '\r') in.get();
      if (in.peek() == '\n') in.get();
      break;
    }
    if (c == '\n' || c == ';') {
      in.get();
      saw_newline = true;
      if (n > row_start) row_sizes.push_back(n - row_start);
      row_start = n;
      continue;
    }
    if (is_space(c)) {
      in.get();
      continue;
    }
    tok.clear();
    while ((c = in.peek()) >= 0 && !is_space(c) && c != ']' && c != ';') {
      tok += static_cast<char>(in.get());
      if (tok.size() > kMaxNumberChars) fail(where, ": bad number '", printable(tok.substr(0, 20)), "...' in a text object");
    }
    // strtod/strtof take Kaldi's nan, inf and infinity (any case) as well.
    char* end = nullptr;
    errno = 0;
    unsigned char b[8];
    if (f64) {
      const double v = std::strtod(tok.c_str(), &end);
      std::memcpy(b, &v, 8);
    } else {
      const float v = std::strtof(tok.c_str(), &end);
      std::memcpy(b, &v, 4);
    }
    if (tok.empty() || end != tok.c_str() + tok.size())
      fail(where, ": bad number '", printable(tok), "' in a text object");
    // ERANGE: an underflow rounds to a subnormal or zero, as Kaldi's stream
    // read would; an overflow is a number no matrix holds.
    if (errno == ERANGE) {
      double v;
      if (f64) std::memcpy(&v, b, 8);
      else { float fv; std::memcpy(&fv, b, 4); v = fv; }
      if (std::isinf(v)) fail(where, ": number '", printable(tok), "' is out of range for ", dtype_name(opt.text_dtype));
    }
    values.insert(values.end(), b, b + width);
    ++n;
    check_decoded_size(n, width, opt, where);
  }
  if (n > row_start) row_sizes.push_back(n - row_start);
  std::vector<std::int64_t> shape;
  if (saw_newline) {
    const std::uint64_t cols = row_sizes.empty() ? 0 : row_sizes[0];
    for (std::size_t i = 1; i < row_sizes.size(); ++i)
      if (row_sizes[i] != cols)
        fail(where, ": text matrix row ", i + 1, " has ", row_sizes[i], " numbers, row 1 has ", cols);
    shape = {static_cast<std::int64_t>(row_sizes.size()), static_cast<std::int64_t>(cols)};
  } else {
    shape = {static_cast<std::int64_t>(n)};
  }
  Tensor t;
  t.swap_in(opt.text_dtype, shape, values);
  return t;
}

// One object: "\0B" then binary, else text.
Tensor read_object(ByteSource& in, const std::string& where, const KaldiReadOptions& opt) {
  if (in.peek() == 0) {
    in.get();
    const int b = in.get();
    if (b < 0) fail(where, ": truncated in the binary header");
    if (b != 'B') fail(where, ": corrupt binary header (\"\\0\" not followed by 'B')");
    return read_binary(in, where, opt);
  }
  return read_text(in, where, opt);
}

// ---- writing one object ---------------------------------------------------

// Kaldi's CompressedMatrix::CopyFromMat for float data, step by step in its
// arithmetic (FloatToUint16's "+ 0.499" is a double add, as in Kaldi). Checked
// once by hand against arks that Kaldi's copy-feats --compress wrote (methods
// 1, 3 and 5 on 10 x 20 matrices): the bytes were identical.
struct GlobalHeader {
  float min_value, range;
};
std::uint16_t float_to_uint16(const GlobalHeader& g, float value) {
  float f = (value - g.min_value) / g.range;
  if (f > 1.0f) f = 1.0f;
  if (f < 0.0f) f = 0.0f;
  return static_cast<std::uint16_t>(static_cast<int>(f * 65535 + 0.499));
}
std::uint8_t float_to_uint8(const GlobalHeader& g, float value) {
  float f = (value - g.min_value) / g.range;
  if (f > 1.0f) f = 1.0f;
  if (f < 0.0f) f = 0.0f;
  return static_cast<std::uint8_t>(static_cast<int>(f * 255 + 0.499));
}
std::uint8_t float_to_char(float p0, float p25, float p75, float p100, float value) {
  int ans;
  if (value < p25) {
    const float f = (value - p0) / (p25 - p0);
    ans = std::clamp(static_cast<int>(f * 64 + 0.5), 0, 64);
  } else if (value < p75) {
    const float f = (value - p25) / (p75 - p25);
    ans = std::clamp(64 + static_cast<int>(f * 128 + 0.5), 64, 192);
  } else {
    const float f = (value - p75) / (p100 - p75);
    ans = std::clamp(192 + static_cast<int>(f * 63 + 0.5), 192, 255);
  }
  return static_cast<std::uint8_t>(ans);
}

// The four percentiles of one column (Kaldi's ComputeColHeader: the sorted
// values at 0, n/4, 3n/4 and n-1, kept strictly increasing).
void column_header(const GlobalHeader& g, std::vector<float>& col, std::uint16_t p[4]) {
  std::sort(col.begin(), col.end());
  const std::size_t n = col.size();
  if (n >= 5) {
    const std::size_t q = n / 4;
    p[0] = std::min<std::uint16_t>(float_to_uint16(g, col[0]), 65532);
    p[1] = std::min<std::uint16_t>(std::max<std::uint16_t>(float_to_uint16(g, col[q]), p[0] + 1), 65533);
    p[2] = std::min<std::uint16_t>(std::max<std::uint16_t>(float_to_uint16(g, col[3 * q]), p[1] + 1), 65534);
    p[3] = std::max<std::uint16_t>(float_to_uint16(g, col[n - 1]), p[2] + 1);
  } else {
    p[0] = std::min<std::uint16_t>(float_to_uint16(g, col[0]), 65532);
    p[1] = n > 1 ? std::min<std::uint16_t>(std::max<std::uint16_t>(float_to_uint16(g, col[1]), p[0] + 1), 65533)
                 : static_cast<std::uint16_t>(p[0] + 1);
    p[2] = n > 2 ? std::min<std::uint16_t>(std::max<std::uint16_t>(float_to_uint16(g, col[2]), p[1] + 1), 65534)
                 : static_cast<std::uint16_t>(p[1] + 1);
    p[3] = n > 3 ? std::max<std::uint16_t>(float_to_uint16(g, col[3]), p[2] + 1)
                 : static_cast<std::uint16_t>(p[2] + 1);
  }
}

// The shortest decimal that reads back as the same float or double
// (std::to_chars; never more than max_digits10 digits), so text round trips
// are exact; several times faster than printf's %.9g.
void put_number(std::vector<unsigned char>& o, double v, bool f64) {
  if (std::isnan(v)) return put_str(o, "nan");  // Kaldi's spelling; "-nan" would not read back in Kaldi
  if (std::isinf(v)) return put_str(o, v > 0 ? "inf" : "-inf");
  char buf[64];
  const auto r = f64 ? std::to_chars(buf, buf + sizeof buf, v) : std::to_chars(buf, buf + sizeof buf, static_cast<float>(v));
  o.insert(o.end(), buf, r.ptr);
}

std::string wspec_name(const std::string& path) { return path == "-" ? "<stdout>" : path; }

}  // namespace

bool kaldi_compression_from_name(std::string_view name, KaldiCompression& out) {
  if (name == "none") out = KaldiCompression::None;
  else if (name == "auto") out = KaldiCompression::Auto;
  else if (name == "cm") out = KaldiCompression::CM;
  else if (name == "cm2") out = KaldiCompression::CM2;
  else if (name == "cm3") out = KaldiCompression::CM3;
  else return false;
  return true;
}

std::vector<unsigned char> compress_kaldi_matrix(const float* data, std::int32_t rows, std::int32_t cols,
                                                 KaldiCompression method) {
  std::vector<unsigned char> o;
  if (rows < 0 || cols < 0) fail("compress_kaldi_matrix: negative size ", rows, " x ", cols);
  if (rows == 0 || cols == 0) {
    // Kaldi's empty CompressedMatrix: its reader takes num_cols == 0 as empty.
    put_str(o, "CM ");
    o.insert(o.end(), 16, 0);
    return o;
  }
  if (method == KaldiCompression::Auto) method = rows > 8 ? KaldiCompression::CM : KaldiCompression::CM2;
  if (method == KaldiCompression::None) fail("compress_kaldi_matrix: no compression method");
  const std::size_t r = static_cast<std::size_t>(rows), c = static_cast<std::size_t>(cols);
  float lo = data[0], hi = data[0];
  for (std::size_t k = 0; k < r * c; ++k) {
    if (!std::isfinite(data[k])) fail("cannot compress NaN or Inf (Kaldi cannot either)");
    lo = std::min(lo, data[k]);
    hi = std::max(hi, data[k]);
  }
  // A constant matrix still gets a range > 0 (Kaldi's ComputeGlobalHeader).
  if (hi == lo) hi = static_cast<float>(lo + (1.0 + std::fabs(lo)));
  const GlobalHeader g{lo, hi - lo};
  put_str(o, method == KaldiCompression::CM ? "CM " : method == KaldiCompression::CM2 ? "CM2 " : "CM3 ");
  put_f32(o, g.min_value);
  put_f32(o, g.range);
  put32(o, static_cast<std::uint32_t>(rows));
  put32(o, static_cast<std::uint32_t>(cols));
  if (method == KaldiCompression::CM) {
    std::vector<unsigned char> bytes(r * c);
    std::vector<float> col(r);
    for (std::size_t j = 0; j < c; ++j) {
      for (std::size_t i = 0; i < r; ++i) col[i] = data[i * c + j];
      std::uint16_t p[4];
      column_header(g, col, p);
      for (int k = 0; k < 4; ++k) put16(o, p[k]);
      const float p0 = uint16_to_float(g.min_value, g.range, p[0]), p25 = uint16_to_float(g.min_value, g.range, p[1]),
                  p75 = uint16_to_float(g.min_value, g.range, p[2]), p100 = uint16_to_float(g.min_value, g.range, p[3]);
      for (std::size_t i = 0; i < r; ++i) bytes[j * r + i] = float_to_char(p0, p25, p75, p100, data[i * c + j]);
    }
    o.insert(o.end(), bytes.begin(), bytes.end());
  } else if (method == KaldiCompression::CM2) {
    for (std::size_t k = 0; k < r * c; ++k) put16(o, float_to_uint16(g, data[k]));
  } else {
    for (std::size_t k = 0; k < r * c; ++k) o.push_back(float_to_uint8(g, data[k]));
  }
  return o;
}

std::vector<unsigned char> serialize_kaldi_object(const Tensor& t, bool text, KaldiCompression compress,
                                                  const std::string& where) {
  if (t.dtype() == DType::Text)
    fail(where, ": a text record has no Kaldi form (Kaldi tables hold matrices and vectors)");
  if (t.rank() != 1 && t.rank() != 2)
    fail(where, ": rank ", t.rank(), " (", t.rank() ? t.shape_string() : "scalar",
         ") has no Kaldi form: Kaldi tables hold vectors (rank 1) and matrices (rank 2)");
  for (auto d : t.shape())
    if (d > std::numeric_limits<std::int32_t>::max()) fail(where, ": dimension ", d, " exceeds Kaldi's int32 sizes");
  const bool matrix = t.rank() == 2;
  // f64 stays double; i32 and i64 are exact in double (i64 checked below);
  // f32, f16 and u8 are exact in float.
  const bool f64 = t.dtype() == DType::F64 || t.dtype() == DType::I32 || t.dtype() == DType::I64;
  std::int32_t rows = matrix ? static_cast<std::int32_t>(t.dim(0)) : 1;
  std::int32_t cols = static_cast<std::int32_t>(t.dim(t.rank() - 1));
  if (matrix && t.numel() == 0) rows = cols = 0;  // Kaldi has no 0 x N matrix
  const std::size_t n = t.numel();
  std::vector<double> dv;
  std::vector<float> fv;
  if (f64) {
    dv.resize(n);
    if (t.dtype() == DType::F64) {
      if (n) std::memcpy(dv.data(), t.bytes(), n * 8);  // an empty tensor may hold no buffer at all
    } else if (t.dtype() == DType::I32) {
      const auto* p = reinterpret_cast<const std::int32_t*>(t.bytes());
      for (std::size_t k = 0; k < n; ++k) dv[k] = p[k];
    } else {
      for (std::size_t k = 0; k < n; ++k) {
        std::int64_t v;
        std::memcpy(&v, t.bytes() + 8 * k, 8);
        dv[k] = static_cast<double>(v);
        if (v > (std::int64_t{1} << 53) || v < -(std::int64_t{1} << 53))
          fail(where, ": i64 value ", v, " has no exact double (Kaldi's DM/DV)");
      }
    }
  } else if (t.dtype() == DType::F32) {
    fv.resize(n);
    if (n) std::memcpy(fv.data(), t.bytes(), n * 4);
  } else {
    fv = t.to_f32();
  }
  std::vector<unsigned char> o;
  if (text) {
    put_str(o, matrix ? " [" : " [ ");
    for (std::int32_t i = 0; i < (matrix ? rows : 1); ++i) {
      if (matrix) put_str(o, "\n  ");
      for (std::int32_t j = 0; j < cols; ++j) {
        const std::size_t k = static_cast<std::size_t>(i) * static_cast<std::size_t>(cols) + static_cast<std::size_t>(j);
        put_number(o, f64 ? dv[k] : fv[k], f64);
        o.push_back(' ');
      }
    }
    put_str(o, matrix && rows == 0 ? "\n ]\n" : "]\n");
    return o;
  }
  put_str(o, std::string_view("\0B", 2));
  if (matrix && compress != KaldiCompression::None) {
    if (f64) {
      fv.resize(n);
      for (std::size_t k = 0; k < n; ++k) fv[k] = static_cast<float>(dv[k]);
    }
    for (float v : fv)
      if (!std::isfinite(v)) fail(where, ": cannot compress NaN or Inf (Kaldi cannot either)");
    const auto cm = compress_kaldi_matrix(fv.data(), rows, cols, compress);
    o.insert(o.end(), cm.begin(), cm.end());
    return o;
  }
  put_str(o, f64 ? (matrix ? "DM " : "DV ") : (matrix ? "FM " : "FV "));
  if (matrix) {
    put_int(o, rows);
    put_int(o, cols);
  } else {
    put_int(o, cols);
  }
  const auto* p = f64 ? reinterpret_cast<const unsigned char*>(dv.data()) : reinterpret_cast<const unsigned char*>(fv.data());
  o.insert(o.end(), p, p + n * (f64 ? 8 : 4));
  return o;
}

Tensor parse_kaldi_object(const unsigned char* data, std::size_t size, const std::string& where,
                          std::size_t* consumed, KaldiReadOptions opt) {
  ByteSource in(data, size, where);
  Tensor t = read_object(in, where, opt);
  if (consumed) *consumed = static_cast<std::size_t>(in.offset());
  return t;
}

// ---- specifiers -------------------------------------------------------------

namespace {
std::vector<std::string> split_options(const std::string& before) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : before) {
    if (ch == ',') { out.push_back(cur); cur.clear(); }
    else if (ch != ' ') cur += ch;
  }
  out.push_back(cur);
  return out;
}
}  // namespace

KaldiRspecifier parse_kaldi_rspecifier(const std::string& spec) {
  const std::size_t colon = spec.find(':');
  if (colon == std::string::npos)
    usage_fail("'", spec, "' is not a Kaldi rspecifier (ark:FILE, ark:-, scp:FILE)");
  KaldiRspecifier r;
  int kinds = 0;
  for (const std::string& o : split_options(spec.substr(0, colon))) {
    if (o == "ark") { ++kinds; r.script = false; }
    else if (o == "scp") { ++kinds; r.script = true; }
    else if (o == "b" || o == "t" || o == "o" || o == "no" || o == "s" || o == "ns" || o == "cs" || o == "ncs" ||
             o == "p" || o == "np" || o == "bg") {
      // Binary or text is told by each object; the others change nothing in
      // a sequential copy (errors stay errors: sb drops no record silently).
    } else {
      usage_fail("'", spec, "': unknown rspecifier option '", o, "' (sb takes ark or scp, and b t o no s ns cs ncs p np bg)");
    }
  }
  if (kinds != 1) usage_fail("'", spec, "': an rspecifier needs exactly one of ark or scp");
  r.path = spec.substr(colon + 1);
  if (r.path.empty()) usage_fail("'", spec, "': no file after the colon");
  if (r.path.back() == '|' || (!r.path.empty() && r.path.back() == ' '))
    usage_fail("'", spec, "': sb-tensor does not run commands; run it yourself and pipe into ark:-");
  return r;
}

KaldiWspecifier parse_kaldi_wspecifier(const std::string& spec) {
  const std::size_t colon = spec.find(':');
  if (colon == std::string::npos)
    usage_fail("'", spec, "' is not a Kaldi wspecifier (ark:FILE, ark,t:FILE, ark,scp:A.ark,A.scp)");
  KaldiWspecifier w;
  bool ark = false, scp = false;
  for (const std::string& o : split_options(spec.substr(0, colon))) {
    if (o == "ark" && !ark && !scp) ark = true;
    else if (o == "scp" && !scp) scp = true;
    else if (o == "t") w.text = true;
    else if (o == "b") w.text = false;
    else if (o == "f" || o == "nf" || o == "p") {
      // Flushing and permissiveness change nothing here: outputs are
      // complete at the end or not there at all.
    } else {
      usage_fail("'", spec, "': unknown or misplaced wspecifier option '", o,
                 "' (sb takes ark, ark,scp, and b t f nf p)");
    }
  }
  const std::string rest = spec.substr(colon + 1);
  if (!ark) usage_fail("'", spec, "': sb writes archives: ark:FILE or ark,scp:A.ark,A.scp (a script alone has nowhere to put the data)");
  if (scp) {
    const std::size_t comma = rest.find(',');
    if (comma == std::string::npos) usage_fail("'", spec, "': ark,scp: needs two files, ark,scp:A.ark,A.scp");
    w.ark = rest.substr(0, comma);
    w.scp = rest.substr(comma + 1);
    if (w.scp.empty()) usage_fail("'", spec, "': no script file after the comma");
    if (w.ark == "-") usage_fail("'", spec, "': with scp the archive must be a file (the script names it)");
  } else {
    w.ark = rest;
  }
  if (w.ark.empty()) usage_fail("'", spec, "': no file after the colon");
  if (w.ark.back() == '|') usage_fail("'", spec, "': sb-tensor does not run commands; write to ark:- and pipe it yourself");
  return w;
}

// ---- the table reader -------------------------------------------------------

struct KaldiTableReader::Impl {
  KaldiReadOptions opt;
  KaldiRspecifier spec;
  std::unordered_set<std::string> seen;
  std::string last_key;
  std::uint64_t records = 0;
  // ark: the one input; scp: the file of the last entry, kept open because
  // entries usually point into the same archive one after the other.
  std::unique_ptr<ByteSource> in;
  std::string in_path;
  std::vector<TableEntry> script;
  std::size_t script_at = 0;
  std::string script_name;

  bool next_ark(Record& rec) {
    int c = in->peek();
    while (c >= 0 && is_space(c)) { in->get(); c = in->peek(); }
    if (c < 0) return false;
    const std::string after = records ? cat(" after key ", last_key) : std::string();
    std::string key;
    while ((c = in->peek()) >= 0 && !is_space(c)) {
      key += static_cast<char>(in->get());
      if (key.size() > kMaxKeyBytes)
        fail(in->name(), ":", after.empty() ? std::string(" at the start") : after,
             ": a key longer than ", kMaxKeyBytes, " bytes (not a Kaldi archive?)");
    }
    if (records == 0 && key.size() >= 4 && std::memcmp(key.data(), "\x28\xb5\x2f\xfd", 4) == 0)
      fail(in->name(), ": is an .sbt archive, not a Kaldi table (sb-tensor reads it directly)");
    if (const std::string why = key_problem(key); !why.empty())
      fail(in->name(), ":", after.empty() ? std::string(" at the start") : after, ": not a Kaldi archive (",
           why, ": '", printable(key.substr(0, 40)), "')");
    const std::string where = cat(in->name(), ": key ", key);
    if (!seen.insert(key).second) fail(where, ": the key appears twice (sb archives need unique keys)");
    c = in->get();
    if (c < 0) fail(where, ": truncated after the key");
    if (c == '\n') {
      // Kaldi leaves a newline after the key for the object reader: only a
      // text object may follow it.
      if (in->peek() == 0) fail(where, ": corrupt archive (a newline between the key and a binary object)");
    }
    rec.key = key;
    rec.tensor = read_object(*in, where, opt);
    last_key = key;
    ++records;
    return true;
  }

  bool next_scp(Record& rec) {
    if (script_at == script.size()) return false;
    const TableEntry& e = script[script_at++];
    const std::string line = cat(script_name, ": line ", e.line, ": key ", e.key);
    if (const std::string why = key_problem(e.key); !why.empty()) fail(line, ": ", why);
    std::string path = e.value;
    if (path.back() == '|')
      fail(line, ": '", path, "' is a command; sb-tensor does not run commands (run it and pipe into ark:-)");
    if (path.back() == ']')
      fail(line, ": '", path, "': row/column ranges in scp entries are not supported");
    std::uint64_t offset = 0;
    bool has_offset = false;
    if (const std::size_t colon = path.rfind(':'); colon != std::string::npos && colon + 1 < path.size()) {
      const std::string digits = path.substr(colon + 1);
      if (digits.find_first_not_of("0123456789") == std::string::npos) {
        if (digits.size() > 18) fail(line, ": offset ", digits, " is too large");
        offset = std::stoull(digits);
        path.resize(colon);
        has_offset = true;
      }
    }
    if (path == "-") fail(line, ": an scp entry cannot read standard input");
    if (!in || in_path != path) {
      in.reset();
      try {
        in = std::make_unique<ByteSource>(path);
      } catch (const Error& err) {
        fail(line, ": ", err.what());
      }
      in_path = path;
    }
    const std::string where = cat(path, ": key ", e.key, " (", script_name, " line ", e.line, ")");
    if (!in->size_known()) fail(where, ": not a regular file (scp entries point into files)");
    if (offset >= in->size())
      fail(where, ": offset ", offset, " is ", offset == in->size() ? "at" : "past", " the end of the file (",
           in->size(), " bytes)");
    if (has_offset || in->offset() != 0) in->seek(offset);
    rec.key = e.key;
    rec.tensor = read_object(*in, where, opt);
    ++records;
    return true;
  }
};

KaldiTableReader::KaldiTableReader(const std::string& rspecifier, KaldiReadOptions opt)
    : impl_(std::make_unique<Impl>()) {
  if (opt.text_dtype != DType::F32 && opt.text_dtype != DType::F64)
    usage_fail("Kaldi text reads as f32 or f64, not ", dtype_name(opt.text_dtype));
  impl_->opt = opt;
  impl_->spec = parse_kaldi_rspecifier(rspecifier);
  if (impl_->spec.script) {
    impl_->script_name = impl_->spec.path == "-" ? "<stdin>" : impl_->spec.path;
    impl_->script = read_table(impl_->spec.path);  // duplicate keys refused there
  } else {
    impl_->in = std::make_unique<ByteSource>(impl_->spec.path);
  }
}

KaldiTableReader::~KaldiTableReader() = default;

bool KaldiTableReader::next(Record& rec) {
  return impl_->spec.script ? impl_->next_scp(rec) : impl_->next_ark(rec);
}

// ---- the table writer -------------------------------------------------------

struct KaldiTableWriter::Impl {
  KaldiWspecifier spec;
  KaldiWriteOptions opt;
  std::unique_ptr<OutputFile> ark;
  std::unique_ptr<TextOutputFile> scp;
  std::vector<unsigned char> buf;
  std::uint64_t offset = 0;
  std::unordered_set<std::string> keys;
  bool closed = false;

  void flush() {
    if (!buf.empty()) ark->write_all(buf.data(), buf.size());
    buf.clear();
  }
};

KaldiTableWriter::KaldiTableWriter(const std::string& wspecifier, KaldiWriteOptions opt)
    : impl_(std::make_unique<Impl>()) {
  impl_->spec = parse_kaldi_wspecifier(wspecifier);
  impl_->opt = opt;
  if (impl_->spec.text && opt.compress != KaldiCompression::None)
    usage_fail("compression applies to binary archives only (drop ',t' or the compression)");
  impl_->ark = std::make_unique<OutputFile>(impl_->spec.ark);
  if (!impl_->spec.text && !opt.force_terminal && impl_->ark->in_place() && ::isatty(impl_->ark->fd()))
    fail(impl_->spec.ark == "-" ? std::string("refusing to write a binary Kaldi archive to a terminal")
                               : cat(impl_->spec.ark, ": refusing to write a binary Kaldi archive to a terminal"),
         " (use ark,t: for text, redirect it, or --force)");
  if (!impl_->spec.scp.empty()) impl_->scp = std::make_unique<TextOutputFile>(impl_->spec.scp);
}

KaldiTableWriter::~KaldiTableWriter() = default;

void KaldiTableWriter::write(std::string_view key, const Tensor& t) {
  Impl& m = *impl_;
  const std::string where = cat(wspec_name(m.spec.ark), ": key ", key);
  if (m.closed) fail(where, ": write after close");
  if (const std::string why = key_problem(key); !why.empty()) fail(where, ": ", why);
  if (!m.keys.insert(std::string(key)).second) fail(where, ": the key is written twice");
  const auto object = serialize_kaldi_object(t, m.spec.text, m.opt.compress, where);
  put_str(m.buf, key);
  m.buf.push_back(' ');
  // The script's offset is the object's, after "key " (as Kaldi's are).
  const std::uint64_t at = m.offset + key.size() + 1;
  m.buf.insert(m.buf.end(), object.begin(), object.end());
  m.offset = at + object.size();
  if (m.scp) m.scp->stream() << key << ' ' << m.spec.ark << ':' << at << '\n';
  if (m.buf.size() >= (1u << 20)) m.flush();
}

void KaldiTableWriter::close() {
  Impl& m = *impl_;
  if (m.closed) return;
  m.flush();
  m.ark->commit();
  if (m.scp) m.scp->commit();
  m.closed = true;
}

}  // namespace sb

// lib/io/kaldi: Kaldi tables. Fixtures are made here: hand-laid bytes for the
// layout (so the reader is checked against Kaldi's documented format, not
// against sb's own writer), sb's writer for round trips, and sb's
// implementation of Kaldi's compression algorithm for CM/CM2/CM3.
#define BOOST_TEST_MODULE kaldi
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <random>

#include "core/error.h"
#include "io/kaldi.h"

namespace fs = std::filesystem;
using namespace sb;

namespace {

struct TempDir {
  fs::path dir;
  TempDir() {
    char tmpl[] = "/tmp/sb-test-kaldi.XXXXXX";
    dir = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(dir); }
  std::string operator/(const std::string& name) const { return (dir / name).string(); }
};

void put_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}
std::string get_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Kaldi's int32: size byte 4, then little-endian.
std::string kint(std::int32_t v) {
  std::string s(1, '\x04');
  for (int i = 0; i < 4; ++i) s += static_cast<char>((static_cast<std::uint32_t>(v) >> (8 * i)) & 0xFF);
  return s;
}
template <class T>
std::string raw(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}
std::string raw32(std::uint32_t v) {
  std::string s;
  for (int i = 0; i < 4; ++i) s += static_cast<char>((v >> (8 * i)) & 0xFF);
  return s;
}
std::string rawf(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  return raw32(u);
}

// Runs f, which must throw sb::Error with one line containing `want`.
void expect_error(const std::function<void()>& f, const std::string& want) {
  try {
    f();
  } catch (const Error& e) {
    const std::string m = e.what();
    BOOST_TEST(m.find(want) != std::string::npos, "message '" << m << "' lacks '" << want << "'");
    BOOST_TEST(m.find('\n') == std::string::npos, "message '" << m << "' is not one line");
    return;
  }
  BOOST_ERROR("no error; expected '" << want << "'");
}

std::vector<Record> read_all(const std::string& rspec, KaldiReadOptions opt = {}) {
  KaldiTableReader r(rspec, opt);
  std::vector<Record> out;
  Record rec;
  while (r.next(rec)) out.push_back(rec);
  return out;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() && a.nbytes() == b.nbytes() &&
         (a.nbytes() == 0 || std::memcmp(a.bytes(), b.bytes(), a.nbytes()) == 0);
}

// Values that stress a text round trip: extremes, subnormals, -0, and
// numbers %g at 6 digits would round.
template <class T>
std::vector<T> hard_values(std::size_t n, unsigned seed) {
  std::vector<T> v = {T(0), -T(0), std::numeric_limits<T>::max(), std::numeric_limits<T>::lowest(),
                      std::numeric_limits<T>::min(), std::numeric_limits<T>::denorm_min(),
                      T(1) / T(3), T(-2.5e-7), T(123456.789), T(1e30)};
  std::mt19937 rng(seed);
  std::normal_distribution<double> g(0, 1);
  while (v.size() < n) v.push_back(static_cast<T>(g(rng) * std::pow(10.0, static_cast<int>(rng() % 21) - 10)));
  v.resize(n);
  return v;
}

}  // namespace

BOOST_AUTO_TEST_CASE(reads_hand_laid_binary_objects) {
  // \0B "FM " rows cols data: a 2 x 3 float matrix, row-major.
  const std::vector<float> fm = {1, 2, 3, 4, 5, -6.5f};
  const std::string fm_bytes = std::string("\0BFM ", 5) + kint(2) + kint(3) + raw(fm);
  std::size_t used = 0;
  Tensor t = parse_kaldi_object(reinterpret_cast<const unsigned char*>(fm_bytes.data()), fm_bytes.size(), "x", &used);
  BOOST_TEST(used == fm_bytes.size());
  BOOST_TEST((t.dtype() == DType::F32));
  BOOST_TEST(t.shape_string() == "2x3");
  BOOST_TEST(std::memcmp(t.bytes(), fm.data(), 24) == 0);
  // "DV " dim data: a double vector stays double.
  const std::vector<double> dv = {0.1, -1e300, 7};
  const std::string dv_bytes = std::string("\0BDV ", 5) + kint(3) + raw(dv);
  t = parse_kaldi_object(reinterpret_cast<const unsigned char*>(dv_bytes.data()), dv_bytes.size(), "x");
  BOOST_TEST((t.dtype() == DType::F64));
  BOOST_TEST(t.shape_string() == "3");
  BOOST_TEST(std::memcmp(t.bytes(), dv.data(), 24) == 0);
}

BOOST_AUTO_TEST_CASE(writes_kaldis_byte_layout) {
  const std::vector<float> v = {1.5f, -2};
  Tensor m = Tensor::from_f32({1, 2}, v.data());
  const auto fm = serialize_kaldi_object(m, false, KaldiCompression::None, "x");
  BOOST_TEST(std::string(fm.begin(), fm.end()) == std::string("\0BFM ", 5) + kint(1) + kint(2) + raw(v));
  Tensor vec = Tensor::from_f32({2}, v.data());
  const auto fv = serialize_kaldi_object(vec, false, KaldiCompression::None, "x");
  BOOST_TEST(std::string(fv.begin(), fv.end()) == std::string("\0BFV ", 5) + kint(2) + raw(v));
  const auto tm = serialize_kaldi_object(m, true, KaldiCompression::None, "x");
  BOOST_TEST(std::string(tm.begin(), tm.end()) == " [\n  1.5 -2 ]\n");
  const auto tv = serialize_kaldi_object(vec, true, KaldiCompression::None, "x");
  BOOST_TEST(std::string(tv.begin(), tv.end()) == " [ 1.5 -2 ]\n");
  // Kaldi has no 0 x N matrix: an empty matrix is written 0 x 0.
  const auto e = serialize_kaldi_object(Tensor(DType::F32, {0, 13}), false, KaldiCompression::None, "x");
  BOOST_TEST(std::string(e.begin(), e.end()) == std::string("\0BFM ", 5) + kint(0) + kint(0));
}

BOOST_AUTO_TEST_CASE(binary_round_trips_are_bit_identical) {
  TempDir d;
  const auto f = hard_values<float>(7 * 13, 1);
  auto fvals = f;
  fvals[5] = std::numeric_limits<float>::quiet_NaN();
  fvals[6] = -std::numeric_limits<float>::infinity();
  const auto dvals = hard_values<double>(5 * 3, 2);
  std::vector<Record> recs;
  recs.push_back({"fm", Tensor::from_f32({7, 13}, fvals.data())});
  recs.push_back({"dm", Tensor(DType::F64, {5, 3}, dvals.data())});
  recs.push_back({"fv", Tensor::from_f32({11}, fvals.data())});
  recs.push_back({"dv", Tensor(DType::F64, {4}, dvals.data())});
  recs.push_back({"empty", Tensor(DType::F32, {0, 0})});
  for (const char* spec : {"ark:", "ark,scp:"}) {
    const std::string ark = d / "a.ark", scp = d / "a.scp";
    const std::string w = std::string(spec) + ark + (spec[3] == ',' ? "," + scp : "");
    {
      KaldiTableWriter out(w);
      for (const Record& r : recs) out.write(r.key, r.tensor);
      out.close();
    }
    for (const std::string& rs : {"ark:" + ark, std::string(spec[3] == ',' ? "scp:" + scp : "ark:" + ark)}) {
      const auto back = read_all(rs);
      BOOST_REQUIRE_EQUAL(back.size(), recs.size());
      for (std::size_t i = 0; i < recs.size(); ++i) {
        BOOST_TEST(back[i].key == recs[i].key);
        BOOST_TEST(same_bits(back[i].tensor, recs[i].tensor), rs << ": " << recs[i].key << " differs");
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(scp_offsets_point_at_the_object) {
  TempDir d;
  const std::vector<float> v = {1, 2, 3};
  for (bool text : {false, true}) {
    {
      KaldiTableWriter out(std::string(text ? "ark,scp,t:" : "ark,scp:") + (d / "o.ark") + "," + (d / "o.scp"));
      out.write("first", Tensor::from_f32({1, 3}, v.data()));
      out.write("second-key", Tensor::from_f32({3}, v.data()));
      out.close();
    }
    const std::string ark = get_file(d / "o.ark");
    std::istringstream scp(get_file(d / "o.scp"));
    std::string key, where;
    int n = 0;
    while (scp >> key >> where) {
      ++n;
      BOOST_TEST(where.rfind(d / "o.ark:", 0) == 0u);
      const std::size_t off = std::stoul(where.substr(where.rfind(':') + 1));
      // The offset is just after "key " in the archive, at "\0B" or " [".
      BOOST_REQUIRE(off >= key.size() + 1);
      BOOST_TEST(ark.substr(off - key.size() - 1, key.size() + 1) == key + " ");
      BOOST_TEST(ark.substr(off, 2) == (text ? std::string(" [") : std::string("\0B", 2)));
    }
    BOOST_TEST(n == 2);
  }
}

BOOST_AUTO_TEST_CASE(text_round_trips_are_exact) {
  TempDir d;
  const auto f = hard_values<float>(40, 3);
  const auto g = hard_values<double>(40, 4);
  {
    KaldiTableWriter out("ark,t:" + (d / "t.ark"));
    out.write("m", Tensor::from_f32({8, 5}, f.data()));
    out.write("v", Tensor::from_f32({40}, f.data()));
    out.write("one-row", Tensor::from_f32({1, 4}, f.data()));
    out.close();
  }
  auto back = read_all("ark:" + (d / "t.ark"));
  BOOST_REQUIRE_EQUAL(back.size(), 3u);
  BOOST_TEST(same_bits(back[0].tensor, Tensor::from_f32({8, 5}, f.data())));
  BOOST_TEST(same_bits(back[1].tensor, Tensor::from_f32({40}, f.data())));
  BOOST_TEST(same_bits(back[2].tensor, Tensor::from_f32({1, 4}, f.data())));  // a newline makes it a matrix
  {
    KaldiTableWriter out("ark,t:" + (d / "d.ark"));
    out.write("m", Tensor(DType::F64, {10, 4}, g.data()));
    out.close();
  }
  KaldiReadOptions f64;
  f64.text_dtype = DType::F64;
  back = read_all("ark:" + (d / "d.ark"), f64);
  BOOST_TEST(same_bits(back[0].tensor, Tensor(DType::F64, {10, 4}, g.data())));
}

BOOST_AUTO_TEST_CASE(reads_text_as_kaldi_writes_it) {
  TempDir d;
  // copy-feats ark,t: output: "key  [", rows on their own lines, %g digits;
  // Kaldi's nan/inf spellings are kept (NaN/Inf are refused where they
  // matter, by sb-train and the evaluators).
  put_file(d / "k.ark",
           "utt1  [\n  1.5 -2 3e-05 \n  4 5 6 ]\nutt2  [ 7 8 ]\nutt3 [ ]\nutt4 [ nan inf -inf INF Infinity ]\n"
           "utt5 [\n  1 2 ; 3 4 ]\n");
  const auto r = read_all("ark,t:" + (d / "k.ark"));
  BOOST_REQUIRE_EQUAL(r.size(), 5u);
  BOOST_TEST(r[0].tensor.shape_string() == "2x3");
  BOOST_TEST(r[0].tensor.f32()[2] == 3e-05f);
  BOOST_TEST(r[1].tensor.shape_string() == "2");
  BOOST_TEST(r[2].tensor.shape_string() == "0");
  BOOST_TEST(std::isnan(r[3].tensor.f32()[0]));
  for (int i = 1; i < 5; ++i) BOOST_TEST(std::isinf(r[3].tensor.f32()[i]));
  BOOST_TEST(r[3].tensor.f32()[2] < 0);
  BOOST_TEST(r[4].tensor.shape_string() == "2x2");
}

BOOST_AUTO_TEST_CASE(compressed_formats_decode_as_kaldi_defines_them) {
  // CM2 by hand: min 0, range 3, uint16 codes row-major: min + range * q / 65535.
  std::string cm2 = std::string("\0BCM2 ", 6) + rawf(0) + rawf(3) + raw32(1) + raw32(3);
  for (std::uint16_t q : {0, 21845, 65535}) cm2 += std::string{static_cast<char>(q & 0xFF), static_cast<char>(q >> 8)};
  Tensor t = parse_kaldi_object(reinterpret_cast<const unsigned char*>(cm2.data()), cm2.size(), "x");
  BOOST_TEST(t.shape_string() == "1x3");
  BOOST_TEST(t.f32()[0] == 0.0f);
  BOOST_TEST(std::fabs(t.f32()[1] - 1.0f) < 1e-6f);
  BOOST_TEST(std::fabs(t.f32()[2] - 3.0f) < 1e-6f);
  // CM3: uint8 codes, min + range * q / 255.
  std::string cm3 = std::string("\0BCM3 ", 6) + rawf(-1) + rawf(2) + raw32(2) + raw32(1) + std::string("\x00\xff", 2);
  t = parse_kaldi_object(reinterpret_cast<const unsigned char*>(cm3.data()), cm3.size(), "x");
  BOOST_TEST(t.shape_string() == "2x1");
  BOOST_TEST(t.f32()[0] == -1.0f);
  BOOST_TEST(std::fabs(t.f32()[1] - 1.0f) < 1e-6f);
  // CM: one column of 4 rows; percentile codes 0, 16384, 32768, 65535 on
  // min 0, range 65535 (so code q means about q); bytes 0, 64, 192, 255 hit
  // the four percentiles, column-major after the per-column headers.
  std::string cm = std::string("\0BCM ", 5) + rawf(0) + rawf(65535) + raw32(4) + raw32(1);
  for (std::uint16_t q : {0, 16384, 32768, 65535}) cm += std::string{static_cast<char>(q & 0xFF), static_cast<char>(q >> 8)};
  cm += std::string("\x00\x40\xc0\xff", 4);
  t = parse_kaldi_object(reinterpret_cast<const unsigned char*>(cm.data()), cm.size(), "x");
  BOOST_TEST(t.shape_string() == "4x1");
  const float want[4] = {0, 16384, 32768, 65535};
  for (int i = 0; i < 4; ++i) BOOST_TEST(std::fabs(t.f32()[i] - want[i]) < 0.02f, i << ": " << t.f32()[i]);
}

BOOST_AUTO_TEST_CASE(compressed_matrices_decode_within_their_precision) {
  // Speech-like data: 200 frames x 13, each column its own scale and offset.
  const int rows = 200, cols = 13;
  std::mt19937 rng(5);
  std::normal_distribution<float> g(0, 1);
  std::vector<float> x(rows * cols);
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) x[i * cols + j] = 3.0f * j - 10 + g(rng) * (0.1f + j);
  float lo = x[0], hi = x[0];
  for (float v : x) { lo = std::min(lo, v); hi = std::max(hi, v); }
  const float range = hi - lo;
  for (KaldiCompression method : {KaldiCompression::CM, KaldiCompression::CM2, KaldiCompression::CM3}) {
    auto bytes = compress_kaldi_matrix(x.data(), rows, cols, method);
    bytes.insert(bytes.begin(), {0, 'B'});
    const Tensor t = parse_kaldi_object(bytes.data(), bytes.size(), "x");
    BOOST_REQUIRE(t.shape_string() == "200x13");
    double worst_ratio = 0;
    for (int j = 0; j < cols; ++j) {
      float clo = x[j], chi = x[j], err = 0;
      for (int i = 0; i < rows; ++i) {
        clo = std::min(clo, x[i * cols + j]);
        chi = std::max(chi, x[i * cols + j]);
        err = std::max(err, std::fabs(t.f32()[i * cols + j] - x[i * cols + j]));
      }
      // The bounds asserted: CM2 and CM3 0.501 of a step of the matrix's
      // range (range/65535, range/255: Kaldi rounds with + 0.499, so a
      // fraction just above one half rounds down) plus float rounding; CM half
      // a step of the coarsest of a column's three pieces at worst,
      // (max-min)/126, plus one step of the 16-bit percentile grid.
      float bound;
      if (method == KaldiCompression::CM2) bound = 0.501f * range / 65535 + 1e-6f * range;
      else if (method == KaldiCompression::CM3) bound = 0.501f * range / 255 + 1e-6f * range;
      else bound = (chi - clo) / 126 + range / 65535;
      BOOST_TEST(err <= bound, "method " << static_cast<int>(method) << " column " << j << ": error " << err
                                          << " > bound " << bound);
      worst_ratio = std::max(worst_ratio, static_cast<double>(err / bound));
    }
    const char* name = method == KaldiCompression::CM ? "CM" : method == KaldiCompression::CM2 ? "CM2" : "CM3";
    BOOST_TEST_MESSAGE(name << ": worst error / bound " << worst_ratio << " (matrix range " << range << ")");
  }
  // A constant matrix and tiny row counts (Kaldi's pathological branch).
  for (int r : {1, 2, 3, 4, 5, 9}) {
    std::vector<float> c(static_cast<std::size_t>(r) * 2, 2.5f);
    if (r > 1) c[1] = -1;
    auto bytes = compress_kaldi_matrix(c.data(), r, 2, KaldiCompression::CM);
    bytes.insert(bytes.begin(), {0, 'B'});
    const Tensor t = parse_kaldi_object(bytes.data(), bytes.size(), "x");
    for (std::size_t k = 0; k < c.size(); ++k)
      BOOST_TEST(std::fabs(t.f32()[k] - c[k]) <= 3.5f / 126 + 4.0f / 65535, r << " rows, element " << k);
  }
  // Auto is Kaldi's default: CM above 8 rows, CM2 otherwise.
  const auto a = compress_kaldi_matrix(x.data(), 9, cols, KaldiCompression::Auto);
  BOOST_TEST(std::string(a.begin(), a.begin() + 3) == "CM ");
  const auto b = compress_kaldi_matrix(x.data(), 8, cols, KaldiCompression::Auto);
  BOOST_TEST(std::string(b.begin(), b.begin() + 4) == "CM2 ");
  // NaN cannot be compressed (Kaldi asserts).
  x[3] = std::nanf("");
  expect_error([&] { compress_kaldi_matrix(x.data(), rows, cols, KaldiCompression::CM); }, "NaN or Inf");
}

BOOST_AUTO_TEST_CASE(every_truncation_names_the_file_and_key) {
  TempDir d;
  const std::vector<float> v = {1, 2, 3, 4, 5, 6};
  {
    KaldiTableWriter out("ark:" + (d / "full.ark"));
    out.write("utt1", Tensor::from_f32({2, 3}, v.data()));
    out.write("utt2", Tensor::from_f32({3}, v.data()));
    out.close();
  }
  std::string cm = std::string("utt3 \0B", 7);
  {
    const auto c = compress_kaldi_matrix(v.data(), 6, 1, KaldiCompression::CM);
    cm.append(c.begin(), c.end());
  }
  const std::string good = get_file(d / "full.ark") + cm;
  BOOST_REQUIRE_EQUAL(read_all("ark:" + (d / "full.ark")).size(), 2u);
  const std::size_t second = good.find("utt2"), third = good.find("utt3");
  // Every cut that is not at a record boundary is an error naming the key.
  for (std::size_t cut = 1; cut < good.size(); ++cut) {
    if (cut == second || cut == third) continue;
    put_file(d / "cut.ark", good.substr(0, cut));
    const std::size_t start = cut < second ? 0 : cut < third ? second : third;
    // A cut inside a key reads a shorter key: the message names what was read.
    const std::string key = good.substr(start, std::min<std::size_t>(4, cut - start));
    const std::string want = (d / "cut.ark") + ": key " + key + ": ";
    expect_error([&] { read_all("ark:" + (d / "cut.ark")); }, want);
  }
}

BOOST_AUTO_TEST_CASE(corrupt_headers_are_refused_without_allocating) {
  TempDir d;
  const std::string p = d / "bad.ark";
  auto check = [&](const std::string& bytes, const std::string& want) {
    put_file(p, bytes);
    expect_error([&] { read_all("ark:" + p); }, p + ": key " + want);
  };
  check(std::string("u1 \0BFM ", 8) + kint(-3) + kint(2), "u1: corrupt object header: negative row count -3");
  check(std::string("u1 \0BFM \x08", 9) + "12345678", "u1: corrupt object header: the row count has size byte 8");
  check(std::string("u1 \0BFM ", 8) + kint(60000) + kint(60000) + "abcd", "u1: truncated: the header says 14400000000 bytes");
  check(std::string("u1 \0BFM ", 8) + kint(0x7fffffff) + kint(0x7fffffff), "u1: 4611686014132420609 elements exceed the limit");
  check(std::string("u1 \0BXY 12", 10), "u1: unsupported Kaldi object 'XY'");
  check(std::string("u1 \0BFMFMFMFMFMFM", 17), "u1: unsupported Kaldi object 'FMFMFMFM");
  check(std::string("u1 \0X", 5), "u1: corrupt binary header");
  check(std::string("u1 \0BCM ", 8) + rawf(0) + rawf(NAN) + raw32(2) + raw32(2) + std::string(20, 'x'), "u1: corrupt CM header: min 0, range nan");
  check(std::string("u1 \0BCM2 ", 9) + rawf(0) + rawf(1) + raw32(0) + raw32(5), "u1: corrupt CM2 header: 0 x 5");
  check(std::string("u1 \0BCM3 ", 9) + rawf(0) + rawf(1) + raw32(1000000) + raw32(1000) + "x", "u1: truncated: the header says 1000000000 bytes of compressed data");
  check("u1 [ 1 2 x3 ]\n", "u1: bad number 'x3'");
  check("u1 [ 1 2 " + std::string(100, '7') + " ]\n", "u1: bad number '77777777777777777777...'");
  check("u1 [ 1e999 ]\n", "u1: number '1e999' is out of range for f32");
  check("u1 [\n 1 2\n 3 ]\n", "u1: text matrix row 2 has 1 numbers, row 1 has 2");
  check("u1 [ 1 2 3\n", "u1: truncated inside a text object");
  check("u1 hello\n", "u1: not a Kaldi matrix or vector (expected \"\\0B\" or '[', got 'h')");
  check("u1 3 4 4 5\n", "u1: not a Kaldi matrix or vector (expected \"\\0B\" or '[', got '3'; integer-vector tables");
  check(std::string("u1 \0B\x04\x02\0\0\0\x04\x01\0\0\0", 16), "u1: unsupported Kaldi object '\\x04\\x02\\x00\\x00\\x00\\x04\\x01\\x00' (sb reads FM, DM, FV, DV, CM, CM2, CM3 and text matrices and vectors; integer vectors such as alignments are not supported)");
  check("u1 [ 1 ]\nu1 [ 2 ]\n", "u1: the key appears twice");
  check("u1", "u1: truncated after the key");
  // A key that never ends, and bytes that are no key at all.
  put_file(p, std::string(10000, 'k'));
  expect_error([&] { read_all("ark:" + p); }, p + ": at the start: a key longer than 4096 bytes");
  put_file(p, "u1 [ 1 ]\n\x01\x02 [ 2 ]\n");
  expect_error([&] { read_all("ark:" + p); }, p + ": after key u1: not a Kaldi archive (key contains whitespace or a control character");
}

BOOST_AUTO_TEST_CASE(lying_sizes_on_a_pipe_cost_only_the_bytes_present) {
  // 60000 x 60000 floats claimed (14.4 GB), 4 bytes present, through a pipe:
  // the reader may hold what arrives, never what the header claims.
  const pid_t child = ::fork();
  if (child == 0) {
    int fds[2];
    if (::pipe(fds) != 0) ::_exit(10);
    const std::string bytes = std::string("big \0BFM ", 9) + kint(60000) + kint(60000) + "abcd";
    if (::write(fds[1], bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) ::_exit(11);
    ::close(fds[1]);
    ::dup2(fds[0], STDIN_FILENO);
    rusage before{}, after{};
    ::getrusage(RUSAGE_SELF, &before);
    try {
      read_all("ark:-");
    } catch (const Error& e) {
      ::getrusage(RUSAGE_SELF, &after);
      const bool named = std::string(e.what()).find("<stdin>: key big: truncated inside the data (4 of 14400000000 bytes)") !=
                         std::string::npos;
      const long grew_kb = after.ru_maxrss - before.ru_maxrss;
      ::_exit(!named ? 1 : grew_kb > 64 * 1024 ? 2 : 0);
    } catch (...) {
      ::_exit(3);
    }
    ::_exit(4);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) == 0), "child status " << status);
}

BOOST_AUTO_TEST_CASE(scripts_name_their_problems) {
  TempDir d;
  const std::vector<float> v = {1, 2};
  {
    KaldiTableWriter out("ark,scp:" + (d / "a.ark") + "," + (d / "a.scp"));
    out.write("a", Tensor::from_f32({1, 2}, v.data()));
    out.close();
  }
  const std::string size = std::to_string(fs::file_size(d / "a.ark"));
  // A file holding one object, named without an offset.
  put_file(d / "one.mat", std::string("\0BFV ", 5) + kint(2) + raw(v));
  put_file(d / "s.scp", "x " + (d / "one.mat") + "\n");
  const auto r = read_all("scp:" + (d / "s.scp"));
  BOOST_REQUIRE_EQUAL(r.size(), 1u);
  BOOST_TEST(r[0].tensor.shape_string() == "2");
  auto check = [&](const std::string& scp, const std::string& want) {
    put_file(d / "s.scp", scp);
    expect_error([&] { read_all("scp:" + (d / "s.scp")); }, want);
  };
  check("a " + (d / "a.ark") + ":" + size + "\n",
        (d / "a.ark") + ": key a (" + (d / "s.scp") + " line 1): offset " + size + " is at the end of the file");
  check("a " + (d / "a.ark") + ":99999\n", ": key a (" + (d / "s.scp") + " line 1): offset 99999 is past the end");
  check("a " + (d / "a.ark") + ":5\n", (d / "a.ark") + ": key a (");  // lands inside the object
  check("a " + (d / "nothere.ark") + ":0\n", (d / "s.scp") + ": line 1: key a: " + (d / "nothere.ark") + ": cannot open");
  check("a gunzip -c x.gz |\n", "line 1: key a: 'gunzip -c x.gz |' is a command");
  check("a " + (d / "a.ark") + ":2[0:1]\n", "line 1: key a: '" + (d / "a.ark") + ":2[0:1]': row/column ranges");
  check("a " + (d / "a.ark") + ":2\na " + (d / "a.ark") + ":2\n", "line 2: duplicate key 'a'");
  expect_error([&] { read_all("scp:" + (d / "none.scp")); }, "none.scp: cannot open");
}

BOOST_AUTO_TEST_CASE(specifiers_take_kaldis_options) {
  BOOST_TEST(parse_kaldi_rspecifier("ark:-").path == "-");
  BOOST_TEST(parse_kaldi_rspecifier("ark,s,cs:feats.ark").path == "feats.ark");
  BOOST_TEST(parse_kaldi_rspecifier("scp,p,o:feats.scp").script);
  BOOST_TEST(parse_kaldi_rspecifier("b,ark:x:y").path == "x:y");
  const auto w = parse_kaldi_wspecifier("ark,scp,t,f:a.ark,a.scp");
  BOOST_TEST(w.text);
  BOOST_TEST(w.ark == "a.ark");
  BOOST_TEST(w.scp == "a.scp");
  BOOST_TEST(!parse_kaldi_wspecifier("ark,b:-").text);
  BOOST_CHECK_THROW(parse_kaldi_rspecifier("feats.ark"), UsageError);
  BOOST_CHECK_THROW(parse_kaldi_rspecifier("ark,zz:feats.ark"), UsageError);
  BOOST_CHECK_THROW(parse_kaldi_rspecifier("ark,scp:feats.ark"), UsageError);
  BOOST_CHECK_THROW(parse_kaldi_rspecifier("ark:gunzip -c f.gz |"), UsageError);
  BOOST_CHECK_THROW(parse_kaldi_wspecifier("scp:a.scp"), UsageError);
  BOOST_CHECK_THROW(parse_kaldi_wspecifier("ark,scp:a.ark"), UsageError);
  BOOST_CHECK_THROW(parse_kaldi_wspecifier("ark,scp:-,a.scp"), UsageError);
  BOOST_CHECK_THROW(parse_kaldi_wspecifier("scp,ark:a.ark,a.scp"), UsageError);
}

BOOST_AUTO_TEST_CASE(writer_refuses_what_kaldi_cannot_hold_and_leaves_nothing) {
  TempDir d;
  const std::string ark = d / "w.ark", scp = d / "w.scp";
  {
    KaldiTableWriter out("ark,scp:" + ark + "," + scp);
    out.write("ok", Tensor(DType::F32, {2, 2}));
    expect_error([&] { out.write("ok", Tensor(DType::F32, {2})); }, ark + ": key ok: the key is written twice");
    expect_error([&] { out.write("t", Tensor::text("hi")); }, ark + ": key t: a text record has no Kaldi form");
    expect_error([&] { out.write("r3", Tensor(DType::F32, {2, 2, 2})); }, "key r3: rank 3 (2x2x2) has no Kaldi form");
    const std::int64_t big = (std::int64_t{1} << 53) + 1;
    expect_error([&] { out.write("i", Tensor(DType::I64, {1}, &big)); }, "key i: i64 value 9007199254740993 has no exact double");
    // destroyed without close()
  }
  BOOST_TEST(!fs::exists(ark));
  BOOST_TEST(!fs::exists(scp));
  // i32 goes to DV exactly; f16 and u8 to FV.
  {
    KaldiTableWriter out("ark:" + ark);
    const std::int32_t iv[2] = {-7, 1 << 30};
    out.write("i", Tensor::from_i32({2}, iv));
    out.close();
  }
  const auto back = read_all("ark:" + ark);
  BOOST_TEST((back[0].tensor.dtype() == DType::F64));
  const double* dv = reinterpret_cast<const double*>(back[0].tensor.bytes());
  BOOST_TEST(dv[0] == -7.0);
  BOOST_TEST(dv[1] == static_cast<double>(1 << 30));
}

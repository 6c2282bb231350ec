// lib/io: .sbt archives, .npy/.npz, text tables.
#define BOOST_TEST_MODULE io
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/diag.h"
#include "core/error.h"
#include "io/archive.h"
#include "io/npy.h"
#include "io/output_file.h"
#include "io/table.h"

namespace fs = std::filesystem;
using namespace sb;

namespace {

struct TempDir {
  fs::path dir;
  TempDir() {
    char tmpl[] = "/tmp/sb-test-io.XXXXXX";
    dir = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(dir); }
  std::string operator/(const std::string& name) const { return (dir / name).string(); }
};

std::vector<unsigned char> file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

void put_bytes(const std::string& path, const std::vector<unsigned char>& b) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

Tensor random_f32(std::vector<std::int64_t> shape, unsigned seed) {
  Tensor t(DType::F32, std::move(shape));
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd;
  for (std::size_t i = 0; i < t.numel(); ++i) t.f32()[i] = nd(rng);
  return t;
}

bool same(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() && a.nbytes() == b.nbytes() &&
         (a.nbytes() == 0 || std::memcmp(a.bytes(), b.bytes(), a.nbytes()) == 0);
}

// Expects `f` to throw sb::Error whose message contains `part`.
template <class F>
void expect_error(F&& f, const std::string& part) {
  try {
    f();
  } catch (const Error& e) {
    BOOST_TEST_INFO("message: " << e.what());
    BOOST_CHECK(std::string(e.what()).find(part) != std::string::npos);
    return;
  }
  BOOST_FAIL("no error raised, expected one mentioning '" << part << "'");
}

std::vector<Record> read_all(const std::string& p) { return read_archive(p); }

// Writes a one-frame item with a checksum, the way the writer does, so that
// tests can forge headers that zstd itself finds valid.
std::vector<unsigned char> zframe(const std::vector<unsigned char>& content) {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
  std::vector<unsigned char> out(ZSTD_compressBound(content.size()));
  const std::size_t n = ZSTD_compress2(c, out.data(), out.size(), content.data(), content.size());
  ZSTD_freeCCtx(c);
  out.resize(n);
  return out;
}

std::vector<unsigned char> header_item(std::uint16_t major) {
  return {'S', 'B', 'T', 'A', static_cast<unsigned char>(major), 0, 0, 0, 0, 0, 0, 0};
}

}  // namespace

BOOST_AUTO_TEST_CASE(round_trip_all_dtypes_and_ranks) {
  TempDir d;
  std::vector<Record> recs;
  recs.push_back({"scalar", Tensor(DType::F32, {})});
  recs.back().tensor.f32()[0] = 3.5f;
  recs.push_back({"matrix", random_f32({300, 13}, 1)});
  recs.push_back({"rank4", random_f32({2, 3, 4, 5}, 2)});
  recs.push_back({"empty", Tensor(DType::F32, {0, 13})});
  recs.push_back({"ints", Tensor(DType::I32, {3})});
  recs.back().tensor.i32()[2] = -7;
  recs.push_back({"bytes", Tensor(DType::U8, {4})});
  recs.push_back({"half", Tensor(DType::F16, {2})});
  recs.push_back({"f64", Tensor(DType::F64, {2, 2})});
  recs.push_back({"i64", Tensor(DType::I64, {1})});
  recs.push_back({"options", Tensor::text("hidden=1024\nvocab=abc\xC3\xA9\n")});
  recs.push_back({"ключ", Tensor::text("")});
  {
    ArchiveWriter w(d / "a.sbt");
    for (const auto& r : recs) w.write(r.key, r.tensor);
    w.close();
    BOOST_TEST(w.records() == recs.size());
  }
  const auto back = read_all(d / "a.sbt");
  BOOST_REQUIRE_EQUAL(back.size(), recs.size());
  for (std::size_t i = 0; i < recs.size(); ++i) {
    BOOST_TEST(back[i].key == recs[i].key);
    BOOST_TEST(same(back[i].tensor, recs[i].tensor), "record " << recs[i].key);
  }
  BOOST_TEST(back[0].tensor.rank() == 0);
  BOOST_TEST(back[9].tensor.as_text() == "hidden=1024\nvocab=abc\xC3\xA9\n");
}

BOOST_AUTO_TEST_CASE(empty_archive_is_valid) {
  TempDir d;
  ArchiveWriter(d / "e.sbt").close();
  BOOST_TEST(read_all(d / "e.sbt").empty());
}

BOOST_AUTO_TEST_CASE(concatenation_is_a_valid_archive) {
  TempDir d;
  {
    ArchiveWriter a(d / "a.sbt");
    a.write("x", random_f32({2, 3}, 3));
    a.close();
    ArchiveWriter b(d / "b.sbt", {.level = 9});
    b.write("y", random_f32({4}, 4));
    b.write("z", Tensor::text("t"));
    b.close();
  }
  auto ab = file_bytes(d / "a.sbt");
  const auto bb = file_bytes(d / "b.sbt");
  ab.insert(ab.end(), bb.begin(), bb.end());
  put_bytes(d / "c.sbt", ab);
  const auto c = read_all(d / "c.sbt");
  BOOST_REQUIRE_EQUAL(c.size(), 3u);
  BOOST_TEST(c[0].key == "x");
  BOOST_TEST(c[1].key == "y");
  BOOST_TEST(c[2].tensor.as_text() == "t");
}

BOOST_AUTO_TEST_CASE(every_truncation_is_an_error) {
  TempDir d;
  {
    ArchiveWriter w(d / "a.sbt");
    w.write("one", random_f32({50, 13}, 5));
    w.write("two", random_f32({20, 13}, 6));
    w.close();
  }
  const auto full = file_bytes(d / "a.sbt");
  std::size_t boundary_cuts = 0;
  for (std::size_t n = 0; n < full.size(); ++n) {
    put_bytes(d / "t.sbt", std::vector<unsigned char>(full.begin(), full.begin() + static_cast<long>(n)));
    try {
      const auto r = read_all(d / "t.sbt");
      BOOST_ERROR("cut at " << n << " read as a complete archive of " << r.size() << " records");
    } catch (const Error& e) {
      const std::string m = e.what();
      BOOST_TEST((m.find("truncated") != std::string::npos || m.find("empty input") != std::string::npos ||
                  m.find("not an .sbt") != std::string::npos),
                 "cut at " << n << ": " << m);
      // A cut exactly between frames (after the header, after record one,
      // after record two) is told apart by the missing end record.
      boundary_cuts += m.find("no end record") != std::string::npos;
    }
  }
  BOOST_TEST(boundary_cuts == 3u);
  BOOST_TEST(read_all(d / "a.sbt").size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_cut_archive_stays_cut_when_concatenated) {
  TempDir d;
  {
    ArchiveWriter a(d / "a.sbt");
    a.write("x", random_f32({2, 3}, 3));
    a.write("y", random_f32({2, 3}, 4));
    a.close();
    ArchiveWriter b(d / "b.sbt");
    b.write("z", random_f32({4}, 5));
    b.close();
  }
  // a.sbt cut after its first record (header frame + one record frame), then b.sbt.
  const auto full = file_bytes(d / "a.sbt");
  std::size_t cut = 0;
  for (int frame = 0; frame < 2; ++frame)
    cut += ZSTD_findFrameCompressedSize(full.data() + cut, full.size() - cut);
  BOOST_REQUIRE(cut < full.size());
  std::vector<unsigned char> bytes(full.begin(), full.begin() + static_cast<long>(cut));
  const auto b = file_bytes(d / "b.sbt");
  bytes.insert(bytes.end(), b.begin(), b.end());
  put_bytes(d / "c.sbt", bytes);
  expect_error([&] { read_all(d / "c.sbt"); }, "truncated archive (no end record");
}

BOOST_AUTO_TEST_CASE(end_record_must_match_the_records) {
  TempDir d;
  auto header11 = header_item(1);
  header11[6] = 1;  // minor version 1
  auto record = [](const std::string& key) {
    std::vector<unsigned char> rec = {'S', 'B', 'T', 'R', 6, 1, static_cast<unsigned char>(key.size()), 0,
                                      1, 0, 0, 0, 0, 0, 0, 0};
    rec.insert(rec.end(), key.begin(), key.end());
    rec.push_back(42);
    return zframe(rec);
  };
  auto end_item = [](std::uint64_t n, std::uint32_t crc) {
    std::vector<unsigned char> e = {'S', 'B', 'T', 'E'};
    for (int i = 0; i < 8; ++i) e.push_back((n >> (8 * i)) & 0xFF);
    for (int i = 0; i < 4; ++i) e.push_back((crc >> (8 * i)) & 0xFF);
    for (int i = 0; i < 4; ++i) e.push_back(0);
    return zframe(e);
  };
  auto join = [](std::initializer_list<std::vector<unsigned char>> parts) {
    std::vector<unsigned char> out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
  };
  {  // The CRC the writer puts there: read it back from a real archive.
    ArchiveWriter w(d / "real.sbt");
    w.write("k1", Tensor(DType::U8, {1}));
    w.close();
  }
  BOOST_TEST(read_all(d / "real.sbt").size() == 1u);
  put_bytes(d / "count.sbt", join({zframe(header11), record("k1"), end_item(2, 0)}));
  expect_error([&] { read_all(d / "count.sbt"); }, "end record counts 2 records, the archive holds 1");
  put_bytes(d / "crc.sbt", join({zframe(header11), record("k1"), end_item(1, 12345)}));
  expect_error([&] { read_all(d / "crc.sbt"); }, "key checksum does not match");
  put_bytes(d / "after.sbt", join({zframe(header11), end_item(0, 0), record("k1")}));
  expect_error([&] { read_all(d / "after.sbt"); }, "a record after the end record");
  put_bytes(d / "twice.sbt", join({zframe(header11), end_item(0, 0), end_item(0, 0)}));
  expect_error([&] { read_all(d / "twice.sbt"); }, "an end record where none belongs");
  put_bytes(d / "noheader.sbt", join({zframe(header11), end_item(0, 0)}));
  BOOST_TEST(read_all(d / "noheader.sbt").empty());
}

BOOST_AUTO_TEST_CASE(format_1_0_archives_are_read_with_one_warning) {
  TempDir d;
  std::vector<unsigned char> rec = {'S', 'B', 'T', 'R', 6, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 'k', 7};
  auto bytes = zframe(header_item(1));
  for (int i = 0; i < 2; ++i) {
    const auto f = zframe(rec);
    bytes.insert(bytes.end(), f.begin(), f.end());
  }
  put_bytes(d / "old.sbt", bytes);
  std::vector<std::string> warnings;
  auto previous = set_warning_sink([&](std::string_view m) { warnings.emplace_back(m); });
  const auto r = read_all(d / "old.sbt");
  set_warning_sink(previous);
  BOOST_TEST(r.size() == 2u);
  BOOST_REQUIRE_EQUAL(warnings.size(), 1u);
  BOOST_TEST(warnings[0].find("old.sbt: an archive of format 1.0") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_frame_without_checksum_is_an_error) {
  TempDir d;
  auto header11 = header_item(1);
  header11[6] = 1;
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 0);
  std::vector<unsigned char> plain(ZSTD_compressBound(header11.size()));
  plain.resize(ZSTD_compress2(c, plain.data(), plain.size(), header11.data(), header11.size()));
  ZSTD_freeCCtx(c);
  put_bytes(d / "nosum.sbt", plain);
  expect_error([&] { read_all(d / "nosum.sbt"); }, "record 1: corrupt archive (a zstd frame without a content checksum)");
}

BOOST_AUTO_TEST_CASE(every_flipped_byte_is_detected) {
  TempDir d;
  {
    ArchiveWriter w(d / "a.sbt");
    w.write("utt", random_f32({40, 13}, 7));
    w.close();
  }
  const auto full = file_bytes(d / "a.sbt");
  const auto orig = read_all(d / "a.sbt");
  for (std::size_t i = 0; i < full.size(); ++i) {
    auto bad = full;
    bad[i] ^= 0x10;
    put_bytes(d / "b.sbt", bad);
    try {
      const auto r = read_all(d / "b.sbt");
      // A flip may only go unnoticed where it changes nothing we return
      // (e.g. an unused frame-header bit); the data must then be identical.
      BOOST_REQUIRE_EQUAL(r.size(), 1u);
      BOOST_TEST(same(r[0].tensor, orig[0].tensor), "flip at byte " << i << " changed the data silently");
    } catch (const Error&) {
    }
  }
}

BOOST_AUTO_TEST_CASE(wrong_magic_and_version) {
  TempDir d;
  put_bytes(d / "text.sbt", {'h', 'e', 'l', 'l', 'o', '\n'});
  expect_error([&] { read_all(d / "text.sbt"); }, "not an .sbt archive");
  put_bytes(d / "empty.sbt", {});
  expect_error([&] { read_all(d / "empty.sbt"); }, "empty input");
  // A zstd frame that does not hold an sbt item.
  put_bytes(d / "zstd.sbt", zframe({'n', 'o', 'p', 'e', 1, 2, 3, 4}));
  expect_error([&] { read_all(d / "zstd.sbt"); }, "bad magic");
  put_bytes(d / "v2.sbt", zframe(header_item(2)));
  expect_error([&] { read_all(d / "v2.sbt"); }, "version 2.0 is not supported");
  expect_error([&] { read_all(d / "missing.sbt"); }, "missing.sbt: cannot open");
}

BOOST_AUTO_TEST_CASE(hostile_headers_are_rejected_without_allocating) {
  TempDir d;
  // A checksummed record whose dims claim 2^36 floats (256 GiB) but carries
  // 4 bytes: must fail fast, naming the record, without a huge allocation.
  std::vector<unsigned char> rec = {'S', 'B', 'T', 'R', 1, 2, 1, 0};
  auto put64 = [&](std::uint64_t v) { for (int i = 0; i < 8; ++i) rec.push_back((v >> (8 * i)) & 0xFF); };
  put64(std::uint64_t{1} << 18);
  put64(std::uint64_t{1} << 18);
  rec.push_back('k');
  rec.insert(rec.end(), {0, 0, 128, 63});
  auto bytes = zframe(header_item(1));
  const auto r = zframe(rec);
  bytes.insert(bytes.end(), r.begin(), r.end());
  put_bytes(d / "huge.sbt", bytes);
  expect_error([&] { read_all(d / "huge.sbt"); }, "record 1");

  // Claims 4 MiB (under the limit) but holds 4 bytes: a short record.
  rec.resize(8);
  put64(1 << 20);
  put64(1);
  rec.push_back('k');
  rec.insert(rec.end(), {0, 0, 128, 63});
  bytes = zframe(header_item(1));
  const auto r2 = zframe(rec);
  bytes.insert(bytes.end(), r2.begin(), r2.end());
  put_bytes(d / "short.sbt", bytes);
  expect_error([&] { read_all(d / "short.sbt"); }, "record 1 ('k'): corrupt archive");

  // Unknown dtype code and over-long rank.
  for (auto [dt, rk, why] : {std::tuple{9, 1, "dtype"}, std::tuple{1, 9, "rank"}}) {
    std::vector<unsigned char> bad = {'S', 'B', 'T', 'R', static_cast<unsigned char>(dt), static_cast<unsigned char>(rk), 1, 0};
    auto b = zframe(header_item(1));
    const auto f = zframe(bad);
    b.insert(b.end(), f.begin(), f.end());
    put_bytes(d / "bad.sbt", b);
    expect_error([&] { read_all(d / "bad.sbt"); }, why);
  }
}

BOOST_AUTO_TEST_CASE(writer_refuses_what_its_reader_would) {
  TempDir d;
  ArchiveWriter w(d / "w.sbt");
  w.write("a", Tensor(DType::U8, {1}));
  expect_error([&] { w.write("a", Tensor(DType::U8, {2})); }, "w.sbt: record 2 ('a'): duplicate key");
  expect_error([&] {
    const std::int64_t dims[2] = {0, std::int64_t{1} << 36};
    w.write("empty-but-huge", DType::F32, std::span<const std::int64_t>(dims, 2), nullptr);
  }, "dimension 68719476736 exceeds");
  const std::int64_t ok[1] = {3};
  w.begin_record("b", DType::U8, std::span<const std::int64_t>(ok, 1));
  w.append("xyz", 3);
  w.end_record();
  expect_error([&] { w.begin_record("b", DType::U8, std::span<const std::int64_t>(ok, 1)); }, "duplicate key");
  w.close();
  const auto r = read_all(d / "w.sbt");
  BOOST_REQUIRE_EQUAL(r.size(), 2u);
  BOOST_TEST(r[1].key == "b");
}

BOOST_AUTO_TEST_CASE(tables_name_the_reason_they_cannot_be_read) {
  TempDir d;
  expect_error([&] { read_table(d.dir.string()); }, "is a directory, not a table");
  expect_error([&] { read_table(d / "missing"); }, "missing: cannot open: No such file or directory");
}

BOOST_AUTO_TEST_CASE(out_of_memory_names_the_record) {
#if defined(__SANITIZE_ADDRESS__)
  BOOST_TEST_MESSAGE("skipped under AddressSanitizer (it aborts on a failed allocation by design)");
#else
  TempDir d;
  {  // A genuine 512 MiB record of zeros: a few KB on disk.
    ArchiveWriter w(d / "big.sbt");
    const std::int64_t n[1] = {std::int64_t{512} << 20};
    w.begin_record("big", DType::U8, std::span<const std::int64_t>(n, 1));
    const std::vector<unsigned char> zeros(1 << 20);
    for (int i = 0; i < 512; ++i) w.append(zeros.data(), zeros.size());
    w.end_record();
    w.close();
  }
  const pid_t child = ::fork();
  if (child == 0) {
    rlimit lim{std::uint64_t{256} << 20, std::uint64_t{256} << 20};
    ::setrlimit(RLIMIT_AS, &lim);
    try {
      read_all(d / "big.sbt");
    } catch (const Error& e) {
      ::_exit(std::string(e.what()).find("big.sbt: record 1 ('big'): out of memory for its 536870912 bytes") !=
                      std::string::npos ? 0 : 1);
    } catch (...) {
      ::_exit(2);
    }
    ::_exit(3);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) == 0), "child status " << status);
#endif
}

BOOST_AUTO_TEST_CASE(bad_keys_are_refused_on_write) {
  TempDir d;
  ArchiveWriter w(d / "k.sbt");
  const Tensor t(DType::F32, {1});
  expect_error([&] { w.write("two words", t); }, "whitespace");
  expect_error([&] { w.write("", t); }, "empty key");
  expect_error([&] { w.write("\xC3", t); }, "UTF-8");
  expect_error([&] { w.write(std::string(5000, 'k'), t); }, "longer than");
  w.close();
}

BOOST_AUTO_TEST_CASE(atomic_writer_renames_only_on_close) {
  TempDir d;
  {
    ArchiveWriter w(d / "m.sbt");
    w.write("p", random_f32({3}, 9));
    BOOST_TEST(!fs::exists(d / "m.sbt"));
    w.close();
  }
  BOOST_TEST(read_all(d / "m.sbt").size() == 1u);
  {  // destroyed without close (an exception in flight): old file untouched
    ArchiveWriter w(d / "m.sbt");
    w.write("p", random_f32({3}, 9));
    w.write("q", random_f32({3}, 9));
  }
  BOOST_TEST(read_all(d / "m.sbt").size() == 1u);
  std::size_t leftovers = 0;
  for (auto& e : fs::directory_iterator(d.dir)) leftovers += e.path().string().find(".tmp.") != std::string::npos;
  BOOST_TEST(leftovers == 0u);
}

std::size_t temporaries_in(const fs::path& dir) {
  std::size_t n = 0;
  for (auto& e : fs::directory_iterator(dir)) n += e.path().string().find(".tmp.") != std::string::npos;
  return n;
}

BOOST_AUTO_TEST_CASE(output_file_appears_only_when_committed) {
  TempDir d;
  put_bytes(d / "out.txt", {'o', 'l', 'd'});
  {
    OutputFile f(d / "out.txt");
    f.write_all("new", 3);
    BOOST_TEST(file_bytes(d / "out.txt").size() == 3u);
    BOOST_TEST(temporaries_in(d.dir) == 1u);
  }  // not committed: the old content stays, the temporary goes
  BOOST_TEST((file_bytes(d / "out.txt") == std::vector<unsigned char>{'o', 'l', 'd'}));
  BOOST_TEST(temporaries_in(d.dir) == 0u);
  {
    OutputFile f(d / "out.txt");
    f.write_all("fresh", 5);
    f.commit();
  }
  BOOST_TEST(file_bytes(d / "out.txt").size() == 5u);
  BOOST_TEST(temporaries_in(d.dir) == 0u);
  expect_error([&] { OutputFile f(d.dir.string()); }, "is a directory");
  expect_error([&] { OutputFile f(d / "no/such/dir/x"); }, "cannot open for writing");
}

BOOST_AUTO_TEST_CASE(output_file_streams_into_devices_and_fifos) {
  TempDir d;
  {
    OutputFile f("/dev/null");
    BOOST_TEST(f.in_place());
    f.write_all("x", 1);
    f.commit();
  }
  struct stat st;
  BOOST_REQUIRE(::stat("/dev/null", &st) == 0);
  BOOST_TEST(S_ISCHR(st.st_mode), "/dev/null was replaced by a regular file");
  BOOST_REQUIRE(::mkfifo((d / "fifo").c_str(), 0600) == 0);
  const pid_t child = ::fork();
  if (child == 0) {  // the reader end
    std::ifstream in(d / "fifo", std::ios::binary);
    std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ::_exit(got == "through the pipe" ? 0 : 1);
  }
  {
    OutputFile f(d / "fifo");
    BOOST_TEST(f.in_place());
    f.write_all("through the pipe", 16);
    f.commit();
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  BOOST_REQUIRE(::stat((d / "fifo").c_str(), &st) == 0);
  BOOST_TEST(S_ISFIFO(st.st_mode));
}

BOOST_AUTO_TEST_CASE(output_file_removes_what_a_killed_run_left) {
  TempDir d;
  const pid_t gone = ::fork();
  if (gone == 0) ::_exit(0);
  ::waitpid(gone, nullptr, 0);
  const std::string stale = d / ("out.sbt.tmp." + std::to_string(gone));
  put_bytes(stale, {1, 2, 3});
  put_bytes(d / ("out.sbt.tmp." + std::to_string(::getpid())), {4});  // ours: not stale
  std::vector<std::string> warnings;
  auto previous = set_warning_sink([&](std::string_view m) { warnings.emplace_back(m); });
  {
    ArchiveWriter w(d / "out.sbt");
    w.close();
  }
  set_warning_sink(previous);
  BOOST_TEST(!fs::exists(stale));
  BOOST_REQUIRE_EQUAL(warnings.size(), 1u);
  BOOST_TEST(warnings[0].find("partial output of an interrupted run") != std::string::npos);
  BOOST_TEST(read_all(d / "out.sbt").empty());
}

BOOST_AUTO_TEST_CASE(output_file_is_removed_on_sigterm) {
  TempDir d;
  const pid_t child = ::fork();
  if (child == 0) {
    remove_partial_outputs_on_signal();
    OutputFile f(d / "half.sbt");
    f.write_all("half", 4);
    ::raise(SIGTERM);
    ::_exit(3);  // not reached
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  BOOST_TEST((WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM));
  BOOST_TEST(!fs::exists(d / "half.sbt"));
  BOOST_TEST(temporaries_in(d.dir) == 0u);
}

BOOST_AUTO_TEST_CASE(empty_tensors_convert_without_touching_null_data) {
  // An empty record has no bytes (data() is null): converting it must not
  // hand null to memcpy (UBSan under make test-asan).
  for (DType t : {DType::F32, DType::F64, DType::F16, DType::I32, DType::I64, DType::U8})
    BOOST_TEST(Tensor(t, {0, 13}).to_f32().empty());
}

BOOST_AUTO_TEST_CASE(half_precision_conversion) {
  BOOST_TEST(half_to_float(0x3C00) == 1.0f);
  BOOST_TEST(half_to_float(0xC000) == -2.0f);
  BOOST_TEST(half_to_float(0x7BFF) == 65504.0f);
  BOOST_TEST(half_to_float(0x0001) == std::ldexp(1.0f, -24));
  BOOST_TEST(std::isinf(half_to_float(0x7C00)));
  BOOST_TEST(std::isnan(half_to_float(0x7E00)));
  // Every finite half survives float and back.
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7C00) == 0x7C00) continue;
    BOOST_REQUIRE_EQUAL(float_to_half(half_to_float(static_cast<std::uint16_t>(h))), h);
  }
  BOOST_TEST(float_to_half(1.0f + std::ldexp(1.0f, -11)) == 0x3C00);  // tie -> even
  BOOST_TEST(float_to_half(1e6f) == 0x7C00);
}

BOOST_AUTO_TEST_CASE(npy_round_trip_and_errors) {
  TempDir d;
  const Tensor m = random_f32({3, 5}, 11);
  write_npy(d / "m.npy", m);
  BOOST_TEST(same(read_npy(d / "m.npy"), m));
  // The header is NumPy's: 64-byte aligned data, version 1.0.
  const auto b = file_bytes(d / "m.npy");
  BOOST_TEST(b.size() == 128u + 60u);
  BOOST_TEST(std::string(b.begin() + 10, b.begin() + 128).find("'shape': (3, 5)") != std::string::npos);
  const Tensor txt = Tensor::text("abc");
  write_npy(d / "s.npy", txt);
  BOOST_TEST(read_npy(d / "s.npy").as_text() == "abc");
  // Truncated data and bad dtypes.
  auto cut = b;
  cut.resize(cut.size() - 1);
  put_bytes(d / "cut.npy", cut);
  expect_error([&] { read_npy(d / "cut.npy"); }, "truncated or corrupt");
  auto obj = b;
  const std::string h(obj.begin(), obj.end());
  obj[h.find("<f4") + 1] = 'O';
  put_bytes(d / "obj.npy", obj);
  expect_error([&] { read_npy(d / "obj.npy"); }, "unsupported .npy dtype");
}

BOOST_AUTO_TEST_CASE(npz_round_trip) {
  TempDir d;
  std::vector<Record> recs = {{"a", random_f32({2, 2}, 1)}, {"b", Tensor(DType::I32, {3})}};
  write_npz(d / "x.npz", recs);
  const auto back = read_npz(d / "x.npz");
  BOOST_REQUIRE_EQUAL(back.size(), 2u);
  BOOST_TEST(back[0].key == "a");
  BOOST_TEST(same(back[0].tensor, recs[0].tensor));
  BOOST_TEST(same(back[1].tensor, recs[1].tensor));
  recs.push_back({"a", Tensor(DType::U8, {1})});
  expect_error([&] { write_npz(d / "y.npz", recs); }, "duplicate key 'a'");
}

// A zip built byte by byte: one local header + data per member, the central
// directory, the end record. Sizes and offsets can be forged per member.
struct ZipMember {
  std::string name;
  std::uint16_t method = 0;
  std::vector<unsigned char> data;  // as stored
  std::uint32_t crc = 0;
  std::uint32_t usize = 0;
  std::uint32_t offset_override = 0;  // 0 = the real offset
};

std::vector<unsigned char> forge_zip(const std::vector<ZipMember>& members,
                                     const std::vector<unsigned char>& before_eocd = {}) {
  std::vector<unsigned char> z, cd;
  auto u16 = [](std::vector<unsigned char>& o, std::uint32_t v) { o.push_back(v & 0xFF); o.push_back((v >> 8) & 0xFF); };
  auto u32 = [&](std::vector<unsigned char>& o, std::uint32_t v) { u16(o, v & 0xFFFF); u16(o, v >> 16); };
  for (const auto& m : members) {
    const auto off = static_cast<std::uint32_t>(z.size());
    u32(z, 0x04034b50u); u16(z, 20); u16(z, 0); u16(z, m.method); u32(z, 0);
    u32(z, m.crc); u32(z, static_cast<std::uint32_t>(m.data.size())); u32(z, m.usize);
    u16(z, static_cast<std::uint32_t>(m.name.size())); u16(z, 0);
    z.insert(z.end(), m.name.begin(), m.name.end());
    z.insert(z.end(), m.data.begin(), m.data.end());
    u32(cd, 0x02014b50u); u16(cd, 20); u16(cd, 20); u16(cd, 0); u16(cd, m.method); u32(cd, 0);
    u32(cd, m.crc); u32(cd, static_cast<std::uint32_t>(m.data.size())); u32(cd, m.usize);
    u16(cd, static_cast<std::uint32_t>(m.name.size())); u16(cd, 0); u16(cd, 0); u16(cd, 0); u16(cd, 0); u32(cd, 0);
    u32(cd, m.offset_override ? m.offset_override : off);
    cd.insert(cd.end(), m.name.begin(), m.name.end());
  }
  const auto cd_off = static_cast<std::uint32_t>(z.size());
  z.insert(z.end(), cd.begin(), cd.end());
  z.insert(z.end(), before_eocd.begin(), before_eocd.end());
  u32(z, 0x06054b50u); u16(z, 0); u16(z, 0);
  u16(z, static_cast<std::uint32_t>(members.size())); u16(z, static_cast<std::uint32_t>(members.size()));
  u32(z, static_cast<std::uint32_t>(cd.size())); u32(z, before_eocd.empty() ? cd_off : 0xFFFFFFFFu); u16(z, 0);
  return z;
}

BOOST_AUTO_TEST_CASE(hostile_npz_files) {
  TempDir d;
  // A valid stored member, for reference.
  const auto npy = [] {
    TempDir t;
    write_npy(t / "a.npy", Tensor(DType::U8, {4}));
    return file_bytes(t / "a.npy");
  }();
  const auto crc = static_cast<std::uint32_t>(crc32(0, npy.data(), static_cast<uInt>(npy.size())));
  const ZipMember good{"a.npy", 0, npy, crc, static_cast<std::uint32_t>(npy.size())};
  put_bytes(d / "good.npz", forge_zip({good}));
  BOOST_TEST(read_npz(d / "good.npz").size() == 1u);

  // Two members with one name would silently become duplicate keys.
  put_bytes(d / "dup.npz", forge_zip({good, good}));
  expect_error([&] { read_npz(d / "dup.npz"); }, "a second member named 'a'");

  // A local header offset near 2^32 (beyond the file).
  ZipMember far = good;
  far.offset_override = 0xFFFFFFF0u;
  put_bytes(d / "far.npz", forge_zip({far}));
  expect_error([&] { read_npz(d / "far.npz"); }, "corrupt local header");

  // A zip64 locator whose directory offset is 2^64 - 8: z64 + 56 wraps.
  std::vector<unsigned char> locator = {0x50, 0x4b, 0x06, 0x07, 0, 0, 0, 0};
  for (int i = 0; i < 8; ++i) locator.push_back(i == 0 ? 0xF8 : 0xFF);
  locator.insert(locator.end(), {1, 0, 0, 0});
  put_bytes(d / "z64.npz", forge_zip({good}, locator));
  expect_error([&] { read_npz(d / "z64.npz"); }, "corrupt zip64 directory");

  // A deflated member of a few bytes that claims 2 GiB: refused without the
  // allocation (the address space of the child that reads it is 256 MiB).
  std::vector<unsigned char> deflated(1024);
  {
    z_stream s{};
    deflateInit2(&s, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    s.next_in = const_cast<unsigned char*>(npy.data());
    s.avail_in = static_cast<uInt>(npy.size());
    s.next_out = deflated.data();
    s.avail_out = static_cast<uInt>(deflated.size());
    deflate(&s, Z_FINISH);
    deflated.resize(s.total_out);
    deflateEnd(&s);
  }
  ZipMember huge{"h.npy", 8, deflated, crc, 0x80000000u};
  put_bytes(d / "huge.npz", forge_zip({huge}));
  const pid_t child = ::fork();
  if (child == 0) {
#if !defined(__SANITIZE_ADDRESS__)  // ASan's shadow memory does not fit in 256 MiB
    rlimit lim{std::uint64_t{256} << 20, std::uint64_t{256} << 20};
    ::setrlimit(RLIMIT_AS, &lim);
#endif
    try {
      read_npz(d / "huge.npz");
    } catch (const Error& e) {
      ::_exit(std::string(e.what()).find("corrupt deflate data") != std::string::npos ? 0 : 1);
    } catch (const std::bad_alloc&) {
      ::_exit(2);
    }
    ::_exit(3);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  BOOST_TEST(WIFEXITED(status));
  BOOST_TEST(WEXITSTATUS(status) == 0, "child exit " << WEXITSTATUS(status) << " (2: it tried to allocate the claim)");
  // The same member with its true size reads back.
  huge.usize = static_cast<std::uint32_t>(npy.size());
  put_bytes(d / "ok.npz", forge_zip({huge}));
  BOOST_TEST(read_npz(d / "ok.npz").size() == 1u);
}

BOOST_AUTO_TEST_CASE(tables) {
  TempDir d;
  {
    std::ofstream f(d / "text");
    f << "utt1 a dog runs\n\n  utt2\tthe  cat \nutt3 é\n";
  }
  const auto t = read_table(d / "text");
  BOOST_REQUIRE_EQUAL(t.size(), 3u);
  BOOST_TEST(t[0].value == "a dog runs");
  BOOST_TEST(t[1].key == "utt2");
  BOOST_TEST(t[1].value == "the  cat");
  BOOST_TEST(t[2].line == 4u);
  {
    std::ofstream f(d / "dup");
    f << "a 1\nb 2\na 3\n";
  }
  expect_error([&] { read_table(d / "dup"); }, "dup: line 3: duplicate key 'a'");
  {
    std::ofstream f(d / "novalue");
    f << "a 1\nb\n";
  }
  expect_error([&] { read_table(d / "novalue"); }, "line 2: 'b' has no value");
  BOOST_TEST(read_key_list(d / "novalue").size() == 2u);
}

// .sbt archives: a stream of keyed tensors, zstd-compressed, one zstd frame
// per record (with content checksum), readable and writable through pipes
// record by record, closed by an end record that counts the records and
// checksums their keys, so that a reader tells a complete archive from one
// cut at a record boundary. `cat a.sbt b.sbt` is a valid archive. The byte
// layout, limits and versioning rules are specified in man/sbt.5.
//
//   sb::ArchiveWriter out("-");           // stdout; refuses a terminal
//   out.write("utt1", tensor);
//   out.close();                          // reports write errors
//
//   sb::ArchiveReader in("feats.sbt");    // or "-" for stdin
//   sb::Record r;
//   while (in.next(r)) use(r.key, r.tensor);
//
// Every read error is an sb::Error naming the file and the record:
//   "feats.sbt: record 3 (after 'utt2'): truncated archive (ends inside a record)"
#pragma once
#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "io/tensor.h"

namespace sb {

constexpr int kDefaultZstdLevel = 1;        // see sbt(5): speed first, ~same ratio on floats
constexpr std::uint16_t kSbtVersionMajor = 1;
constexpr std::uint16_t kSbtVersionMinor = 2;  // 1.1: the end record; 1.2: dtype i8

// Sanity limits a reader enforces before trusting a header (sbt(5)).
struct ArchiveLimits {
  std::uint64_t max_record_bytes = std::uint64_t{16} << 30;  // 16 GiB
  std::uint32_t max_key_bytes = 4096;
};

struct WriterOptions {
  int level = kDefaultZstdLevel;   // zstd level, 1..19
  bool force_terminal = false;     // allow binary output to a terminal
  int threads = 0;                 // zstd worker threads (0 = none)
};

// Keys: non-empty UTF-8, no whitespace or control characters, at most
// ArchiveLimits::max_key_bytes bytes. Returns an explanation or "".
std::string key_problem(std::string_view key);

class ArchiveWriter {
 public:
  // "-" is standard output. A file is written as an OutputFile
  // (io/output_file.h): it appears under its name only after close().
  explicit ArchiveWriter(const std::string& path, WriterOptions opt = {});
  ~ArchiveWriter();  // without close(): a file is removed, a pipe gets no end record
  ArchiveWriter(const ArchiveWriter&) = delete;
  ArchiveWriter& operator=(const ArchiveWriter&) = delete;

  void write(std::string_view key, const Tensor& t);
  // Writes without building a Tensor (data holds numel * dtype_size bytes).
  void write(std::string_view key, DType dtype, std::span<const std::int64_t> shape,
             const void* data);
  void write_f32(std::string_view key, std::initializer_list<std::int64_t> shape,
                 const float* data);
  void write_text(std::string_view key, std::string_view utf8);
  // One record in pieces, for payloads too large to hold in memory (an hour
  // of features): begin_record() fixes key, dtype and shape, append() gives
  // the payload in order, end_record() checks that exactly numel * dtype_size
  // bytes came. Other writes and close() are refused inside a record.
  void begin_record(std::string_view key, DType dtype, std::span<const std::int64_t> shape);
  void append(const void* data, std::size_t bytes);
  void end_record();
  void flush();   // pushes everything written so far down the pipe
  // Writes the end record and finishes the stream; throws sb::Error on any
  // write failure. A writer destroyed without close() writes no end record,
  // so what it left behind reads as truncated, never as complete.
  void close();

  const std::string& path() const { return path_; }
  std::uint64_t records() const { return records_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string path_;
  std::uint64_t records_ = 0;
};

class ArchiveReader {
 public:
  explicit ArchiveReader(const std::string& path, ArchiveLimits limits = {});
  ~ArchiveReader();
  ArchiveReader(const ArchiveReader&) = delete;
  ArchiveReader& operator=(const ArchiveReader&) = delete;

  // Reads the next record; false at the end of a complete stream. Throws
  // sb::Error on truncation (a 1.1 archive without its end record included),
  // corruption, bad magic or version, or a broken limit. A 1.0 archive (no
  // end record) is read with one warning (core/diag.h).
  bool next(Record& rec);
  bool next(std::string& key, Tensor& t);

  const std::string& path() const { return path_; }
  std::uint64_t records_read() const { return records_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string path_;
  std::uint64_t records_ = 0;
};

// Reads a whole archive (small archives: models, image vectors, embeddings).
std::vector<Record> read_archive(const std::string& path);

}  // namespace sb

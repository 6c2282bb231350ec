// .sbt archives; the specification is man/sbt.5. In short: the file is a
// sequence of zstd frames, each with a content checksum, each holding exactly
// one item: an archive header ("SBTA", version), a record ("SBTR", dtype,
// rank, key length, dims, key, payload) or, last, the end record ("SBTE",
// record count, CRC-32 of the keys). One frame per item is what lets a
// reader hand out a record only after its checksum has been verified, and
// what makes `cat a.sbt b.sbt` valid; the end record is what tells a
// complete archive from one cut exactly between two frames.
#include "io/archive.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>
#include <unordered_set>

#include "core/diag.h"
#include "core/error.h"
#include "core/strings.h"
#include "io/output_file.h"

namespace sb {
namespace {

constexpr char kHeaderTag[4] = {'S', 'B', 'T', 'A'};
constexpr char kRecordTag[4] = {'S', 'B', 'T', 'R'};
constexpr char kEndTag[4] = {'S', 'B', 'T', 'E'};
constexpr std::size_t kHeaderItemBytes = 12;
constexpr std::size_t kEndItemBytes = 20;  // tag, u64 records, u32 key CRC, u32 reserved
constexpr std::size_t kRecordFixedBytes = 8;  // tag, dtype, rank, key length
constexpr std::uint32_t kZstdMagic = 0xFD2FB528u;
// Skippable frames: magic 0x184D2A50..0x184D2A5F (RFC 8878, 3.1.2).
constexpr std::uint32_t kSkippableMagicMask = 0xFFFFFFF0u;
constexpr std::uint32_t kSkippableMagic = 0x184D2A50u;
// Records up to this size are compressed in one shot from a contiguous copy;
// larger ones are streamed in pieces so that memory stays near one record.
constexpr std::size_t kOneShotBytes = std::size_t{64} << 20;
// Compressed output is handed to write(2) in chunks of about this size.
constexpr std::size_t kDrainBytes = std::size_t{1} << 20;

void put_u16(unsigned char* p, std::uint16_t v) { p[0] = v & 0xFF; p[1] = v >> 8; }
void put_u32(unsigned char* p, std::uint32_t v) { for (int i = 0; i < 4; ++i) p[i] = (v >> (8 * i)) & 0xFF; }
void put_u64(unsigned char* p, std::uint64_t v) { for (int i = 0; i < 8; ++i) p[i] = (v >> (8 * i)) & 0xFF; }
std::uint16_t get_u16(const unsigned char* p) { return static_cast<std::uint16_t>(p[0] | (p[1] << 8)); }
std::uint32_t get_u32(const unsigned char* p) {
  return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
         static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}
std::uint64_t get_u64(const unsigned char* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// A record item's header, validated: what write() and begin_record() share.
struct RecordHead {
  unsigned char bytes[8 + 8 * kMaxRank];
  std::size_t size;        // header bytes used
  std::uint64_t payload;   // data bytes the record must carry
};

RecordHead encode_record_head(std::string_view key, DType dtype, std::span<const std::int64_t> shape,
                              const std::string& where);

std::string display_name(const std::string& path) { return path == "-" ? "<stdin>" : path; }

// The end record's key checksum: zlib's CRC-32 over every key followed by
// a newline, in order (keys are at most 4096 bytes).
std::uint32_t crc_add_key(std::uint32_t crc, std::string_view key) {
  uLong c = crc32(crc, reinterpret_cast<const Bytef*>(key.data()), static_cast<uInt>(key.size()));
  const Bytef nl = '\n';
  return static_cast<std::uint32_t>(crc32(c, &nl, 1));
}

}  // namespace

std::string key_problem(std::string_view key) {
  const ArchiveLimits lim;
  if (key.empty()) return "empty key";
  if (key.size() > lim.max_key_bytes) return cat("key longer than ", lim.max_key_bytes, " bytes");
  for (char c : key) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7F) return "key contains whitespace or a control character";
  }
  if (!valid_utf8(key)) return "key is not valid UTF-8";
  return "";
}

namespace {

RecordHead encode_record_head(std::string_view key, DType dtype, std::span<const std::int64_t> shape,
                              const std::string& where) {
  if (const std::string why = key_problem(key); !why.empty()) fail(where, ": ", why);
  if (shape.size() > static_cast<std::size_t>(kMaxRank)) fail(where, ": rank ", shape.size(), " exceeds ", kMaxRank);
  if (dtype == DType::Text && shape.size() != 1) fail(where, ": a text record has rank 1");
  // The reader's limits, applied before a byte is written: a writer never
  // makes an archive its own reader rejects (a dimension over the limit
  // beside a zero one holds no data, and is still refused by both).
  const std::uint64_t limit = ArchiveLimits{}.max_record_bytes;
  std::uint64_t numel = 1;
  for (std::int64_t d : shape) {
    if (d < 0) fail(where, ": negative dimension");
    const auto u = static_cast<std::uint64_t>(d);
    if (u > limit) fail(where, ": dimension ", u, " exceeds the ", limit, "-byte record limit");
    if (u != 0 && numel > limit / u) fail(where, ": record larger than the ", limit, "-byte limit");
    numel *= u;
  }
  if (numel > limit / dtype_size(dtype)) fail(where, ": record larger than the ", limit, "-byte limit");
  RecordHead h;
  h.payload = numel * dtype_size(dtype);
  std::memcpy(h.bytes, kRecordTag, 4);
  h.bytes[4] = static_cast<unsigned char>(dtype);
  h.bytes[5] = static_cast<unsigned char>(shape.size());
  put_u16(h.bytes + 6, static_cast<std::uint16_t>(key.size()));
  for (std::size_t i = 0; i < shape.size(); ++i) put_u64(h.bytes + 8 + 8 * i, static_cast<std::uint64_t>(shape[i]));
  h.size = kRecordFixedBytes + 8 * shape.size();
  return h;
}

}  // namespace

// ---------------------------------------------------------------- writer --

struct ArchiveWriter::Impl {
  std::unique_ptr<OutputFile> file;
  bool closed = false;
  bool failed = false;
  ZSTD_CCtx* cctx = nullptr;
  std::vector<unsigned char> out;  // compressed bytes waiting for write()
  std::size_t out_used = 0;
  std::vector<unsigned char> scratch;  // a record's item, contiguous, for one-shot compression
  bool in_record = false;              // between begin_record() and end_record()
  std::uint64_t record_left = 0;       // payload bytes append() still owes
  std::string record_key;
  std::uint32_t key_crc = 0;           // CRC-32 of the keys written (the end record's)
  std::unordered_set<std::string> keys;  // one record per key in an archive

  void claim_key(std::string_view key, const std::string& where) {
    if (!keys.emplace(key).second) fail(where, ": duplicate key (a record of this key was written already)");
  }

  // Streams n bytes into the current zstd frame (ZSTD_e_end closes it).
  void compress(const void* p, std::size_t n, ZSTD_EndDirective mode, const std::string& where) {
    ZSTD_inBuffer in{p, n, 0};
    for (;;) {
      if (out.size() - out_used < ZSTD_CStreamOutSize()) drain(where);
      ZSTD_outBuffer o{out.data() + out_used, out.size() - out_used, 0};
      const std::size_t r = ZSTD_compressStream2(cctx, &o, &in, mode);
      if (ZSTD_isError(r)) fail(where, ": zstd: ", ZSTD_getErrorName(r));
      out_used += o.pos;
      if (mode == ZSTD_e_end ? r == 0 : in.pos == in.size) break;
    }
  }

  void drain(const std::string&) {
    try {
      file->write_all(out.data(), out_used);
    } catch (...) {
      failed = true;
      throw;
    }
    out_used = 0;
  }
};

ArchiveWriter::ArchiveWriter(const std::string& path, WriterOptions opt)
    : impl_(std::make_unique<Impl>()), path_(path) {
  Impl& m = *impl_;
  m.file = std::make_unique<OutputFile>(path);
  path_ = m.file->name();
  if (!opt.force_terminal && m.file->in_place() && ::isatty(m.file->fd()))
    fail(path == "-" ? std::string("refusing to write a binary archive to a terminal")
                     : cat(path, ": refusing to write a binary archive to a terminal"),
         " (redirect it, use -o FILE, or --force)");
  m.cctx = ZSTD_createCCtx();
  if (!m.cctx) fail(path_, ": cannot create a zstd context");
  ZSTD_CCtx_setParameter(m.cctx, ZSTD_c_compressionLevel, std::clamp(opt.level, 1, 19));
  ZSTD_CCtx_setParameter(m.cctx, ZSTD_c_checksumFlag, 1);
  ZSTD_CCtx_setParameter(m.cctx, ZSTD_c_contentSizeFlag, 1);
  if (opt.threads > 0) ZSTD_CCtx_setParameter(m.cctx, ZSTD_c_nbWorkers, opt.threads);
  m.out.resize(kDrainBytes + ZSTD_CStreamOutSize());

  unsigned char header[kHeaderItemBytes];
  std::memcpy(header, kHeaderTag, 4);
  put_u16(header + 4, kSbtVersionMajor);
  put_u16(header + 6, kSbtVersionMinor);
  put_u32(header + 8, 0);  // flags: none defined in 1.0
  // The header is an item of its own, written like a record's pieces.
  ZSTD_CCtx_reset(m.cctx, ZSTD_reset_session_only);
  ZSTD_CCtx_setPledgedSrcSize(m.cctx, kHeaderItemBytes);
  ZSTD_inBuffer in{header, kHeaderItemBytes, 0};
  for (;;) {
    ZSTD_outBuffer o{m.out.data() + m.out_used, m.out.size() - m.out_used, 0};
    const std::size_t r = ZSTD_compressStream2(m.cctx, &o, &in, ZSTD_e_end);
    if (ZSTD_isError(r)) fail(path_, ": zstd: ", ZSTD_getErrorName(r));
    m.out_used += o.pos;
    if (r == 0) break;
    m.drain(path_);
  }
}

ArchiveWriter::~ArchiveWriter() {
  if (!impl_) return;
  Impl& m = *impl_;
  if (!m.closed && m.file) {
    // Not closed explicitly: an error is propagating. A file is discarded,
    // never renamed; on a pipe the complete frames already written go out
    // (without an end record, so the reader calls the stream truncated).
    try {
      if (!m.failed && m.file->in_place()) m.drain(path_);
    } catch (...) {
    }
  }
  ZSTD_freeCCtx(m.cctx);
}

void ArchiveWriter::write(std::string_view key, const Tensor& t) {
  write(key, t.dtype(), t.shape(), t.bytes());
}

void ArchiveWriter::write_f32(std::string_view key, std::initializer_list<std::int64_t> shape,
                              const float* data) {
  write(key, DType::F32, std::span<const std::int64_t>(shape.begin(), shape.size()), data);
}

void ArchiveWriter::write_text(std::string_view key, std::string_view utf8) {
  const std::int64_t n = static_cast<std::int64_t>(utf8.size());
  write(key, DType::Text, std::span<const std::int64_t>(&n, 1), utf8.data());
}

void ArchiveWriter::write(std::string_view key, DType dtype, std::span<const std::int64_t> shape,
                          const void* data) {
  Impl& m = *impl_;
  if (m.closed) fail(path_, ": write after close");
  if (m.in_record) fail(path_, ": write inside the unfinished record '", m.record_key, "'");
  const std::string where = cat(path_, ": record ", records_ + 1, " ('", key, "')");
  const RecordHead rh = encode_record_head(key, dtype, shape, where);
  m.claim_key(key, where);
  const unsigned char* head = rh.bytes;
  const std::size_t head_bytes = rh.size;
  const std::uint64_t payload = rh.payload;

  const std::size_t item_bytes = head_bytes + key.size() + static_cast<std::size_t>(payload);
  ZSTD_CCtx_reset(m.cctx, ZSTD_reset_session_only);
  if (item_bytes <= kOneShotBytes) {
    // One-shot compression of a contiguous copy is about twice as fast as
    // streaming the three pieces (zstd's streaming mode buffers its input).
    m.scratch.resize(item_bytes);
    std::memcpy(m.scratch.data(), head, head_bytes);
    std::memcpy(m.scratch.data() + head_bytes, key.data(), key.size());
    if (payload) std::memcpy(m.scratch.data() + head_bytes + key.size(), data, static_cast<std::size_t>(payload));
    const std::size_t bound = ZSTD_compressBound(item_bytes);
    if (m.out.size() - m.out_used < bound) {
      m.drain(path_);
      if (m.out.size() < bound) m.out.resize(bound);
    }
    const std::size_t r = ZSTD_compress2(m.cctx, m.out.data() + m.out_used, m.out.size() - m.out_used,
                                         m.scratch.data(), item_bytes);
    if (ZSTD_isError(r)) fail(path_, ": record ", records_ + 1, " ('", key, "'): zstd: ", ZSTD_getErrorName(r));
    m.out_used += r;
    if (m.out_used >= kDrainBytes) m.drain(path_);
    ++records_;
    m.key_crc = crc_add_key(m.key_crc, key);
    return;
  }
  ZSTD_CCtx_setPledgedSrcSize(m.cctx, item_bytes);
  const struct Piece { const void* p; std::size_t n; } pieces[3] = {
      {head, head_bytes}, {key.data(), key.size()}, {data, static_cast<std::size_t>(payload)}};
  for (int i = 0; i < 3; ++i) {
    const bool last = i == 2;
    ZSTD_inBuffer in{pieces[i].p, pieces[i].n, 0};
    for (;;) {
      if (m.out.size() - m.out_used < ZSTD_CStreamOutSize()) m.drain(path_);
      ZSTD_outBuffer o{m.out.data() + m.out_used, m.out.size() - m.out_used, 0};
      const std::size_t r = ZSTD_compressStream2(m.cctx, &o, &in, last ? ZSTD_e_end : ZSTD_e_continue);
      if (ZSTD_isError(r)) fail(path_, ": record ", records_ + 1, " ('", key, "'): zstd: ", ZSTD_getErrorName(r));
      m.out_used += o.pos;
      if (last ? r == 0 : in.pos == in.size) break;
    }
  }
  ++records_;
  m.key_crc = crc_add_key(m.key_crc, key);
}

void ArchiveWriter::begin_record(std::string_view key, DType dtype, std::span<const std::int64_t> shape) {
  Impl& m = *impl_;
  if (m.closed) fail(path_, ": write after close");
  if (m.in_record) fail(path_, ": record '", key, "' begun inside the unfinished record '", m.record_key, "'");
  const std::string where = cat(path_, ": record ", records_ + 1, " ('", key, "')");
  const RecordHead rh = encode_record_head(key, dtype, shape, where);
  m.claim_key(key, where);
  const unsigned char* head = rh.bytes;
  const std::size_t head_bytes = rh.size;
  const std::uint64_t payload = rh.payload;
  ZSTD_CCtx_reset(m.cctx, ZSTD_reset_session_only);
  ZSTD_CCtx_setPledgedSrcSize(m.cctx, head_bytes + key.size() + payload);
  m.in_record = true;
  m.record_left = payload;
  m.record_key = key;
  m.compress(head, head_bytes, ZSTD_e_continue, where);
  m.compress(key.data(), key.size(), ZSTD_e_continue, where);
}

void ArchiveWriter::append(const void* data, std::size_t bytes) {
  Impl& m = *impl_;
  if (!m.in_record) fail(path_, ": append() outside a record");
  if (bytes > m.record_left)
    fail(path_, ": record ", records_ + 1, " ('", m.record_key, "'): ", bytes - m.record_left,
         " bytes more than its shape holds");
  m.compress(data, bytes, ZSTD_e_continue, cat(path_, ": record ", records_ + 1, " ('", m.record_key, "')"));
  m.record_left -= bytes;
  if (m.out_used >= kDrainBytes) m.drain(path_);
}

void ArchiveWriter::end_record() {
  Impl& m = *impl_;
  if (!m.in_record) fail(path_, ": end_record() outside a record");
  const std::string where = cat(path_, ": record ", records_ + 1, " ('", m.record_key, "')");
  if (m.record_left) fail(where, ": ", m.record_left, " payload bytes missing");
  m.compress(nullptr, 0, ZSTD_e_end, where);
  m.in_record = false;
  ++records_;
  m.key_crc = crc_add_key(m.key_crc, m.record_key);
  if (m.out_used >= kDrainBytes) m.drain(path_);
}

void ArchiveWriter::flush() { impl_->drain(path_); }

void ArchiveWriter::close() {
  Impl& m = *impl_;
  if (m.closed) return;
  if (m.in_record) fail(path_, ": close() inside the unfinished record '", m.record_key, "'");
  unsigned char end[kEndItemBytes];
  std::memcpy(end, kEndTag, 4);
  put_u64(end + 4, records_);
  put_u32(end + 12, m.key_crc);
  put_u32(end + 16, 0);
  ZSTD_CCtx_reset(m.cctx, ZSTD_reset_session_only);
  ZSTD_CCtx_setPledgedSrcSize(m.cctx, kEndItemBytes);
  m.compress(end, kEndItemBytes, ZSTD_e_end, path_);
  m.drain(path_);
  m.closed = true;
  m.file->commit();
}

// ---------------------------------------------------------------- reader --

struct ArchiveReader::Impl {
  int fd = -1;
  bool own_fd = false;
  bool eof = false;
  bool seen_header = false;
  bool started = false;  // some input byte has been seen
  ArchiveLimits limits;
  ZSTD_DCtx* dctx = nullptr;
  std::vector<unsigned char> in;
  ZSTD_inBuffer inb{nullptr, 0, 0};
  std::vector<unsigned char> head;     // fixed part + dims + key of the current item
  std::vector<unsigned char> payload;  // recycled between records
  std::string last_key;
  // The archive segment being read (from its header item to its end record;
  // concatenation makes several): what its end record must confirm.
  std::uint16_t seg_minor = 0;
  std::uint64_t seg_records = 0;
  std::uint32_t seg_crc = 0;
  bool seg_ended = false;
  bool warned_legacy = false;

  // Makes at least n bytes available at inb.pos unless the file ends first
  // (the bytes left are moved to the front of the buffer); returns how many
  // are available, at most n.
  std::size_t peek(std::size_t n, const std::string& name) {
    while (inb.size - inb.pos < n && !eof) {
      const std::size_t left = inb.size - inb.pos;
      std::memmove(in.data(), in.data() + inb.pos, left);
      const ssize_t r = ::read(fd, in.data() + left, in.size() - left);
      if (r < 0) {
        if (errno == EINTR) {
          inb = {in.data(), left, 0};
          continue;
        }
        fail(name, ": read failed: ", std::strerror(errno));
      }
      if (r == 0) eof = true;
      inb = {in.data(), left + static_cast<std::size_t>(r), 0};
    }
    return std::min(n, inb.size - inb.pos);
  }

  // Refills the input buffer; false at end of file.
  bool refill(const std::string& name) {
    if (inb.pos < inb.size) return true;
    if (eof) return false;
    for (;;) {
      const ssize_t r = ::read(fd, in.data(), in.size());
      if (r < 0) {
        if (errno == EINTR) continue;
        fail(name, ": read failed: ", std::strerror(errno));
      }
      if (r == 0) {
        eof = true;
        return false;
      }
      inb = {in.data(), static_cast<std::size_t>(r), 0};
      return true;
    }
  }
};

ArchiveReader::ArchiveReader(const std::string& path, ArchiveLimits limits)
    : impl_(std::make_unique<Impl>()), path_(display_name(path)) {
  Impl& m = *impl_;
  m.limits = limits;
  if (path == "-") {
    m.fd = STDIN_FILENO;
  } else {
    m.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (m.fd < 0) fail(path, ": cannot open: ", std::strerror(errno));
    m.own_fd = true;
    struct stat st;
    if (::fstat(m.fd, &st) == 0 && S_ISDIR(st.st_mode)) {
      ::close(m.fd);
      fail(path, ": is a directory, not an .sbt archive");
    }
  }
  m.dctx = ZSTD_createDCtx();
  if (!m.dctx) fail(path_, ": cannot create a zstd context");
  // Bounds the window a hostile frame can ask for (the writer's default
  // levels use far less).
  ZSTD_DCtx_setParameter(m.dctx, ZSTD_d_windowLogMax, 27);
  m.in.resize(ZSTD_DStreamInSize());
}

ArchiveReader::~ArchiveReader() {
  if (!impl_) return;
  if (impl_->own_fd) ::close(impl_->fd);
  ZSTD_freeDCtx(impl_->dctx);
}

bool ArchiveReader::next(std::string& key, Tensor& t) {
  Record r;
  r.tensor = std::move(t);
  const bool ok = next(r);
  key = std::move(r.key);
  t = std::move(r.tensor);
  return ok;
}

bool ArchiveReader::next(Record& rec) {
  Impl& m = *impl_;
  for (;;) {  // loops over archive headers (from concatenation) to the next record
    const std::uint64_t index = records_ + 1;
    auto where = [&]() {
      return m.last_key.empty() ? cat(path_, ": record ", index)
                                : cat(path_, ": record ", index, " (after '", m.last_key, "')");
    };
    // A segment ends at the next header item or at the end of the input.
    auto finish_segment = [&]() {
      if (!m.seen_header) fail(path_, ": not an .sbt archive (no archive header)");
      if (m.seg_minor >= 1) {
        if (!m.seg_ended)
          fail(where(), ": truncated archive (no end record: the input stops between two records)");
      } else if (!m.warned_legacy) {
        m.warned_legacy = true;
        warning(cat(path_, ": an archive of format 1.0, which has no end record: a cut between two records "
                           "cannot be detected (`sb-tensor merge OLD.sbt -o NEW.sbt` rewrites it with one)"));
      }
    };
    // Input exhausted exactly at a frame boundary: complete only if the
    // last segment's end record came (1.0 archives have none).
    if (!m.refill(path_)) {
      if (!m.started) fail(path_, ": empty input, not an .sbt archive");
      finish_segment();
      return false;
    }
    // Every zstd frame must carry a content checksum (RFC 8878: bit 2 of
    // the frame header descriptor, the byte after the magic number).
    const std::size_t avail = m.peek(5, path_);
    const unsigned char* fh = m.in.data() + m.inb.pos;
    const std::uint32_t magic = avail >= 4 ? get_u32(fh) : 0;
    if (!m.started) {
      m.started = true;
      if (avail >= 4 && magic != kZstdMagic) fail(path_, ": not an .sbt archive (no zstd frame at the start)");
    }
    if (magic == kZstdMagic && avail == 5 && !(fh[4] & 0x04))
      fail(where(), ": corrupt archive (a zstd frame without a content checksum)");
    if (avail >= 4 && magic != kZstdMagic && (magic & kSkippableMagicMask) != kSkippableMagic)
      fail(where(), ": corrupt archive (no zstd frame where one should start)");
    ZSTD_DCtx_reset(m.dctx, ZSTD_reset_session_only);
    bool frame_done = false;
    // Decompresses into [dst, dst+want) until it is full or the frame ends.
    auto pull = [&](unsigned char* dst, std::size_t want, const std::string& what) -> std::size_t {
      ZSTD_outBuffer o{dst, want, 0};
      while (o.pos < o.size && !frame_done) {
        if (m.inb.pos == m.inb.size && !m.refill(path_))
          fail(where(), ": truncated archive (the file ends inside ", what, ")");
        const std::size_t r = ZSTD_decompressStream(m.dctx, &o, &m.inb);
        if (ZSTD_isError(r)) {
          const ZSTD_ErrorCode code = ZSTD_getErrorCode(r);
          if (code == ZSTD_error_checksum_wrong) fail(where(), ": corrupt archive (checksum mismatch)");
          if (code == ZSTD_error_prefix_unknown) fail(where(), ": not an .sbt archive (no zstd frame where one should start)");
          fail(where(), ": corrupt archive (zstd: ", ZSTD_getErrorName(r), ")");
        }
        if (r == 0) frame_done = true;
      }
      return o.pos;
    };

    m.head.resize(kRecordFixedBytes + 8 * kMaxRank);
    std::size_t got = pull(m.head.data(), 4, "an item header");
    if (got == 0 && frame_done) continue;  // an empty (or skippable) frame
    if (got < 4) fail(where(), ": corrupt archive (item shorter than its tag)");
    if (std::memcmp(m.head.data(), kHeaderTag, 4) == 0) {
      got += pull(m.head.data() + 4, kHeaderItemBytes - 4, "the archive header");
      unsigned char extra;
      if (got != kHeaderItemBytes || (!frame_done && pull(&extra, 1, "the archive header") != 0) || !frame_done)
        fail(path_, ": corrupt archive (bad archive header)");
      const std::uint16_t major = get_u16(m.head.data() + 4), minor = get_u16(m.head.data() + 6);
      if (major != kSbtVersionMajor)
        fail(path_, ": archive format version ", major, ".", minor, " is not supported (this build reads ",
             kSbtVersionMajor, ".x)");
      if (m.seen_header) finish_segment();
      m.seen_header = true;
      m.seg_minor = minor;
      m.seg_records = 0;
      m.seg_crc = 0;
      m.seg_ended = false;
      continue;
    }
    if (std::memcmp(m.head.data(), kEndTag, 4) == 0 && m.seen_header) {
      unsigned char extra;
      got += pull(m.head.data() + 4, kEndItemBytes - 4, "the end record");
      if (got != kEndItemBytes || (!frame_done && pull(&extra, 1, "the end record") != 0) || !frame_done)
        fail(where(), ": corrupt archive (bad end record)");
      if (m.seg_minor < 1 || m.seg_ended) fail(where(), ": corrupt archive (an end record where none belongs)");
      const std::uint64_t n = get_u64(m.head.data() + 4);
      if (n != m.seg_records)
        fail(where(), ": corrupt archive (the end record counts ", n, " records, the archive holds ",
             m.seg_records, ")");
      if (get_u32(m.head.data() + 12) != m.seg_crc)
        fail(where(), ": corrupt archive (the end record's key checksum does not match the keys read)");
      m.seg_ended = true;
      continue;
    }
    if (std::memcmp(m.head.data(), kRecordTag, 4) != 0)
      fail(where(), m.seen_header ? ": corrupt archive (bad record tag)" : ": not an .sbt archive (bad magic)");
    if (!m.seen_header) fail(path_, ": not an .sbt archive (no archive header before the first record)");
    if (m.seg_ended) fail(where(), ": corrupt archive (a record after the end record)");

    got += pull(m.head.data() + 4, kRecordFixedBytes - 4, "a record header");
    if (got != kRecordFixedBytes) fail(where(), ": corrupt archive (record header cut short)");
    DType dtype;
    if (!dtype_from_code(m.head[4], dtype)) fail(where(), ": corrupt archive (unknown dtype code ", int(m.head[4]), ")");
    const int rank = m.head[5];
    if (rank > kMaxRank) fail(where(), ": corrupt archive (rank ", rank, " exceeds ", kMaxRank, ")");
    if (dtype == DType::Text && rank != 1) fail(where(), ": corrupt archive (text record of rank ", rank, ")");
    const std::uint16_t key_len = get_u16(m.head.data() + 6);
    if (key_len == 0 || key_len > m.limits.max_key_bytes)
      fail(where(), ": corrupt archive (key length ", key_len, ")");
    if (pull(m.head.data() + kRecordFixedBytes, 8 * rank, "a record header") != static_cast<std::size_t>(8 * rank))
      fail(where(), ": corrupt archive (record header cut short)");
    std::vector<std::int64_t> shape(static_cast<std::size_t>(rank));
    std::uint64_t numel = 1;
    const std::uint64_t elem = dtype_size(dtype);
    for (int i = 0; i < rank; ++i) {
      const std::uint64_t d = get_u64(m.head.data() + kRecordFixedBytes + 8 * i);
      if (d > m.limits.max_record_bytes) fail(where(), ": corrupt archive (dimension ", d, " too large)");
      if (d != 0 && numel > m.limits.max_record_bytes / d)
        fail(where(), ": record larger than the ", m.limits.max_record_bytes, "-byte limit");
      numel *= d;
      shape[static_cast<std::size_t>(i)] = static_cast<std::int64_t>(d);
    }
    if (numel > m.limits.max_record_bytes / elem)
      fail(where(), ": record larger than the ", m.limits.max_record_bytes, "-byte limit");
    const std::size_t payload_bytes = static_cast<std::size_t>(numel * elem);

    std::string key(key_len, '\0');
    if (pull(reinterpret_cast<unsigned char*>(key.data()), key_len, "a record key") != key_len)
      fail(where(), ": corrupt archive (key cut short)");
    const std::string kp = key_problem(key);
    if (!kp.empty()) fail(where(), ": corrupt archive (", kp, ")");
    auto here = [&]() { return cat(path_, ": record ", index, " ('", key, "')"); };

    // The payload buffer grows with the data actually decoded (doubling),
    // never straight to the size a header claims.
    std::vector<unsigned char>& buf = m.payload;
    std::size_t have = 0;
    // Out of memory names the record (a genuine record can still be larger
    // than the machine's memory).
    auto grow = [&](std::size_t n) {
      try {
        buf.resize(n);
      } catch (const std::bad_alloc&) {
        fail(here(), ": out of memory for its ", payload_bytes, " bytes of data");
      }
    };
    grow(std::min(payload_bytes, std::max<std::size_t>(buf.capacity(), std::size_t{1} << 20)));
    while (have < payload_bytes) {
      if (have == buf.size()) grow(std::min(payload_bytes, buf.size() * 2));
      const std::size_t n = pull(buf.data() + have, buf.size() - have, "a record's data");
      have += n;
      if (frame_done && have < payload_bytes)
        fail(here(), ": corrupt archive (", have, " bytes of data, the header says ", payload_bytes, ")");
    }
    // The frame must end exactly here (this also verifies the checksum).
    unsigned char extra;
    if (!frame_done && pull(&extra, 1, "a record's data") != 0)
      fail(here(), ": corrupt archive (more data than the header says)");
    if (!frame_done) fail(here(), ": corrupt archive (record frame does not end)");
    m.seg_crc = crc_add_key(m.seg_crc, key);
    ++m.seg_records;
    rec.key = std::move(key);
    rec.tensor.swap_in(dtype, std::move(shape), buf);
    m.last_key = rec.key;
    ++records_;
    return true;
  }
}

std::vector<Record> read_archive(const std::string& path) {
  ArchiveReader in(path);
  std::vector<Record> out;
  Record r;
  while (in.next(r)) out.push_back(std::move(r));
  return out;
}

}  // namespace sb

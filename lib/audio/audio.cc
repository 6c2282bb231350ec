#include "audio/audio.h"

#include <sndfile.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cerrno>
#include <cstring>
#include <new>
#include <string>
#include <string_view>

#include "core/error.h"

namespace sb {

namespace {

struct RawEncoding {
  const char* name;
  int format;  // SF_FORMAT_RAW | subtype | endianness
  int bytes;   // per sample
};

constexpr RawEncoding kRawEncodings[] = {
    {"s16le", SF_FORMAT_RAW | SF_FORMAT_PCM_16 | SF_ENDIAN_LITTLE, 2},
    {"s16be", SF_FORMAT_RAW | SF_FORMAT_PCM_16 | SF_ENDIAN_BIG, 2},
    {"s24le", SF_FORMAT_RAW | SF_FORMAT_PCM_24 | SF_ENDIAN_LITTLE, 3},
    {"s32le", SF_FORMAT_RAW | SF_FORMAT_PCM_32 | SF_ENDIAN_LITTLE, 4},
    {"f32le", SF_FORMAT_RAW | SF_FORMAT_FLOAT | SF_ENDIAN_LITTLE, 4},
    {"f64le", SF_FORMAT_RAW | SF_FORMAT_DOUBLE | SF_ENDIAN_LITTLE, 8},
    {"u8", SF_FORMAT_RAW | SF_FORMAT_PCM_U8, 1},
    {"s8", SF_FORMAT_RAW | SF_FORMAT_PCM_S8, 1},
};

// libsndfile's virtual I/O over a byte buffer we own.
struct MemoryFile {
  std::vector<unsigned char> bytes;
  sf_count_t pos = 0;
};

sf_count_t mem_length(void* user) {
  return static_cast<sf_count_t>(static_cast<MemoryFile*>(user)->bytes.size());
}
sf_count_t mem_seek(sf_count_t offset, int whence, void* user) {
  auto* m = static_cast<MemoryFile*>(user);
  sf_count_t size = static_cast<sf_count_t>(m->bytes.size());
  sf_count_t to = whence == SEEK_SET ? offset : whence == SEEK_CUR ? m->pos + offset : size + offset;
  m->pos = std::clamp<sf_count_t>(to, 0, size);
  return m->pos;
}
sf_count_t mem_read(void* ptr, sf_count_t count, void* user) {
  auto* m = static_cast<MemoryFile*>(user);
  sf_count_t size = static_cast<sf_count_t>(m->bytes.size());
  sf_count_t n = std::clamp<sf_count_t>(size - m->pos, 0, std::max<sf_count_t>(count, 0));
  if (n > 0) std::memcpy(ptr, m->bytes.data() + m->pos, static_cast<std::size_t>(n));
  m->pos += n;
  return n;
}
sf_count_t mem_write(const void*, sf_count_t, void*) { return 0; }
sf_count_t mem_tell(void* user) { return static_cast<MemoryFile*>(user)->pos; }

std::string format_name(int format) {
  SF_FORMAT_INFO major{}, sub{};
  major.format = format & SF_FORMAT_TYPEMASK;
  sub.format = format & SF_FORMAT_SUBMASK;
  std::string out;
  if (sf_command(nullptr, SFC_GET_FORMAT_INFO, &major, sizeof major) == 0 && major.name)
    out = major.name;
  if (sf_command(nullptr, SFC_GET_FORMAT_INFO, &sub, sizeof sub) == 0 && sub.name)
    out += std::string(out.empty() ? "" : " ") + sub.name;
  return out;
}

// libsndfile accepts a file whose header promises more audio than the file
// holds and silently reads what is there; a truncated recording must be an
// error, not a shorter utterance. Its header parsers log what they found:
// "data : <declared> (should be <present>)" (WAV; "SSND" AIFF, "Data Size"
// AU, "riff" W64, "Riff size" RF64, "FORM" IFF), "Data length N should be
// M" (WVE), or say "truncated" (MAT4, VOC). Containers (RIFF, FORM) may be
// one pad byte off in files that are otherwise whole. Streamed files (espeak-ng
// --stdout, sox to a pipe) declare a huge placeholder size because they cannot
// seek back; those are accepted.
std::string truncation_problem(SNDFILE* f) {
  char log[16384] = {0};
  sf_command(f, SFC_GET_LOG_INFO, log, sizeof log - 1);
  for (const char* line = log; *line;) {
    const char* end = std::strchr(line, '\n');
    const std::string text(line, end ? static_cast<std::size_t>(end - line) : std::strlen(line));
    line = end ? end + 1 : line + text.size();
    if (text.find("truncated") != std::string::npos)
      return cat("truncated file (", text.substr(text.find_first_not_of("* "), std::string::npos), ")");
    const std::size_t should = text.find("should be ");
    if (should == std::string::npos) continue;
    // The declared size is the last number before "should be", the size
    // present the first one after it.
    std::size_t d_end = text.find_last_of("0123456789", should);
    if (d_end == std::string::npos) continue;
    std::size_t d_begin = text.find_last_not_of("0123456789", d_end);
    d_begin = d_begin == std::string::npos ? 0 : d_begin + 1;
    const long long declared = std::atoll(text.c_str() + d_begin);
    const long long present = std::atoll(text.c_str() + should + 10);
    const std::string tag = text.substr(text.find_first_not_of(' '), 4);
    const bool container = tag == "RIFF" || tag == "riff" || tag == "FORM" || tag == "Riff";
    if (declared > present + (container ? 1 : 0) && declared < 0x7FFF0000LL)
      return cat("truncated file (header promises ", declared, " bytes, ", present, " present)");
  }
  return "";
}

// NIST SPHERE: the 1024-byte text header's sample_count, which libsndfile
// does not compare with the data present.
std::int64_t nist_sample_count(const unsigned char* header, std::size_t n) {
  const std::string h(reinterpret_cast<const char*>(header), std::min<std::size_t>(n, 1024));
  constexpr std::string_view kKey = "\nsample_count -i ";
  const std::size_t at = h.find(kKey);
  return at == std::string::npos ? -1 : std::atoll(h.c_str() + at + kKey.size());
}

// Containers whose header records the audio's length, so that a cut file is
// told apart from a short one (above, or by decoding: FLAC, Ogg, MPEG, CAF).
// The others (AVR, PAF, PVF, IRCAM, SDS, MPC2K, MAT5, HTK, SD2, XI) record no
// length or libsndfile does not report the difference: refused, not guessed.
bool length_is_checked(int major) {
  switch (major) {
    case SF_FORMAT_WAV: case SF_FORMAT_WAVEX: case SF_FORMAT_RF64: case SF_FORMAT_W64:
    case SF_FORMAT_AIFF: case SF_FORMAT_AU: case SF_FORMAT_CAF: case SF_FORMAT_FLAC:
    case SF_FORMAT_OGG: case SF_FORMAT_MPEG: case SF_FORMAT_SVX: case SF_FORMAT_WVE:
    case SF_FORMAT_MAT4: case SF_FORMAT_VOC: case SF_FORMAT_NIST: case SF_FORMAT_RAW:
      return true;
    default:
      return false;
  }
}

}  // namespace

std::string raw_encodings() {
  std::string s;
  for (const auto& e : kRawEncodings) s += std::string(s.empty() ? "" : ", ") + e.name;
  return s;
}

struct AudioReader::Impl {
  SNDFILE* file = nullptr;
  MemoryFile mem;
  SpooledStream spool;
  SF_VIRTUAL_IO vio{mem_length, mem_seek, mem_read, mem_write, mem_tell};
  bool in_memory = false;
  int channel = -1;
  // 16-bit PCM (WAV, AIFF, FLAC, ...) is read as int16 and scaled here:
  // libsndfile's own int16-to-float loop does not vectorise and costs more
  // than the rest of decoding. x / 32768 is exact, so the samples are the
  // bits sf_readf_float gives.
  bool pcm16 = false;
  std::vector<float> interleaved;
  std::vector<short> pcm;
  ~Impl() {
    if (file) sf_close(file);
  }
};

AudioReader::AudioReader(const std::string& path, int channel, const RawFormat* raw)
    : impl_(std::make_unique<Impl>()), name_(path) {
  if (path == "-") {
    impl_->spool = spool_stdin("<stdin>");
    name_ = "<stdin>";
  }
  open(channel, raw);
}

AudioReader::AudioReader(SpooledStream&& spool, const std::string& name, int channel,
                         const RawFormat* raw)
    : impl_(std::make_unique<Impl>()), name_(name) {
  impl_->spool = std::move(spool);
  open(channel, raw);
}

AudioReader::AudioReader(const void* data, std::size_t size, const std::string& name, int channel,
                         const RawFormat* raw)
    : impl_(std::make_unique<Impl>()), name_(name) {
  const auto* p = static_cast<const unsigned char*>(data);
  impl_->mem.bytes.assign(p, p + size);
  impl_->in_memory = true;
  open(channel, raw);
}

AudioReader::AudioReader(std::vector<unsigned char>&& bytes, const std::string& name, int channel,
                         const RawFormat* raw)
    : impl_(std::make_unique<Impl>()), name_(name) {
  impl_->mem.bytes = std::move(bytes);
  impl_->in_memory = true;
  open(channel, raw);
}

AudioReader::~AudioReader() = default;

void AudioReader::open(int channel, const RawFormat* raw) {
  SF_INFO sfi{};
  // The input's size: 0 bytes is its own error, and raw PCM must hold whole
  // sample frames (libsndfile would drop a partial one silently).
  std::int64_t size = -1;
  if (impl_->in_memory) {
    size = static_cast<std::int64_t>(impl_->mem.bytes.size());
  } else if (impl_->spool.valid()) {
    size = impl_->spool.size();
  } else if (struct stat st{}; ::stat(name_.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
    size = static_cast<std::int64_t>(st.st_size);
  }
  if (size == 0) fail(name_, ": empty file (0 bytes)");
  if (raw) {
    const RawEncoding* enc = nullptr;
    for (const auto& e : kRawEncodings)
      if (raw->encoding == e.name) enc = &e;
    if (!enc) fail(name_, ": unknown raw encoding '", raw->encoding, "' (", raw_encodings(), ")");
    if (!(raw->rate > 0)) fail(name_, ": raw audio needs a sample rate");
    if (raw->channels < 1) fail(name_, ": raw audio needs at least one channel");
    const std::int64_t frame = static_cast<std::int64_t>(enc->bytes) * raw->channels;
    if (size > 0 && size % frame != 0)
      fail(name_, ": ", size, " bytes of raw ", raw->encoding, " audio is not a whole number of ",
           raw->channels == 1 ? "samples" : "sample frames", " (", frame, " bytes each)");
    sfi.format = enc->format;
    sfi.samplerate = static_cast<int>(raw->rate);
    sfi.channels = raw->channels;
  }
  // The virtual I/O path serves memory and stdin; a path on disk goes to
  // sf_open so that libsndfile streams it block by block (bounded memory).
  if (impl_->in_memory) {
    impl_->file = sf_open_virtual(&impl_->vio, SFM_READ, &sfi, &impl_->mem);
  } else if (impl_->spool.valid()) {
    // The spool keeps its descriptor; libsndfile must not close it.
    // libsndfile takes the descriptor's offset as the file's start.
    if (::lseek(impl_->spool.fd(), 0, SEEK_SET) != 0) fail(name_, ": cannot rewind: ", std::strerror(errno));
    impl_->file = sf_open_fd(impl_->spool.fd(), SFM_READ, &sfi, SF_FALSE);
  } else {
    impl_->file = sf_open(name_.c_str(), SFM_READ, &sfi);
  }
  if (!impl_->file) {
    std::string why = sf_strerror(nullptr);
    // libsndfile says "System error : No such file or directory." for a
    // missing file and a format complaint for junk; both are worth keeping.
    while (!why.empty() && (why.back() == '.' || why.back() == '\n')) why.pop_back();
    fail(name_, ": cannot read audio: ", why);
  }
  if (std::string t = truncation_problem(impl_->file); !t.empty()) fail(name_, ": ", t);
  const int major = sfi.format & SF_FORMAT_TYPEMASK;
  if (!length_is_checked(major))
    fail(name_, ": ", format_name(sfi.format), " files are not read: their header records no length, so a "
                "cut file could not be told from a short one (convert it, e.g. with sox, to WAV or FLAC)");
  if (major == SF_FORMAT_NIST) {
    unsigned char header[1024] = {0};
    std::size_t got = 0;
    if (impl_->in_memory) {
      got = std::min<std::size_t>(sizeof header, impl_->mem.bytes.size());
      std::memcpy(header, impl_->mem.bytes.data(), got);
    } else if (impl_->spool.valid()) {
      const ssize_t n = ::pread(impl_->spool.fd(), header, sizeof header, 0);
      got = n > 0 ? static_cast<std::size_t>(n) : 0;
    } else if (std::FILE* h = std::fopen(name_.c_str(), "rb")) {
      got = std::fread(header, 1, sizeof header, h);
      std::fclose(h);
    }
    const std::int64_t declared = nist_sample_count(header, got);
    if (declared > sfi.frames)
      fail(name_, ": truncated file (the NIST header promises ", declared, " samples, ", sfi.frames, " present)");
  }
  if (sfi.channels < 1) fail(name_, ": no audio channels");
  if (!(sfi.samplerate > 0)) fail(name_, ": invalid sample rate ", sfi.samplerate);
  if (channel >= sfi.channels)
    fail(name_, ": channel ", channel, " requested but the audio has ", sfi.channels,
         sfi.channels == 1 ? " channel" : " channels");
  impl_->channel = channel;
  info_.rate = sfi.samplerate;
  info_.channels = sfi.channels;
  info_.frames = sfi.frames;
  info_.format = format_name(sfi.format);
  impl_->pcm16 = (sfi.format & SF_FORMAT_SUBMASK) == SF_FORMAT_PCM_16;
  if (info_.frames < 0) fail(name_, ": unknown length");
}

namespace {

// Reads n frames of `ch` interleaved channels as floats in [-1, 1).
sf_count_t read_interleaved(SNDFILE* f, bool pcm16, std::vector<short>& pcm, float* out, std::size_t n, int ch) {
  if (!pcm16) return sf_readf_float(f, out, static_cast<sf_count_t>(n));
  const std::size_t want = n * static_cast<std::size_t>(ch);
  if (pcm.size() < want) pcm.resize(want);
  const sf_count_t got = sf_readf_short(f, pcm.data(), static_cast<sf_count_t>(n));
  const std::size_t m = got > 0 ? static_cast<std::size_t>(got) * static_cast<std::size_t>(ch) : 0;
  constexpr float kScale = 1.0f / 32768.0f;
  for (std::size_t i = 0; i < m; ++i) out[i] = static_cast<float>(pcm[i]) * kScale;
  return got;
}

// A NaN or infinite sample (float files can hold them) would make every
// feature of its frames NaN, and a huge one overflows the power spectrum.
// Samples are nominally in [-1, 1]; kMaxSample leaves float files'
// overshoot far inside. Returns the index of the first bad sample, or n.
constexpr float kMaxSample = 1e6f;
std::size_t first_bad_sample(const float* x, std::size_t n) {
  // Blocks without an early exit, so that the test vectorises; the
  // position is looked for only when a block has one.
  constexpr std::size_t kChunk = 1024;
  for (std::size_t at = 0; at < n; at += kChunk) {
    const std::size_t end = std::min(n, at + kChunk);
    int bad = 0;
    for (std::size_t i = at; i < end; ++i) bad |= !(std::fabs(x[i]) <= kMaxSample);
    if (bad)
      for (std::size_t i = at; i < end; ++i)
        if (!(std::fabs(x[i]) <= kMaxSample)) return i;
  }
  return n;
}

}  // namespace

std::size_t AudioReader::read(float* out, std::size_t n) {
  std::int64_t left = info_.frames - pos_;
  n = static_cast<std::size_t>(std::min<std::int64_t>(static_cast<std::int64_t>(n), left));
  if (n == 0) return 0;
  const int ch = info_.channels;
  sf_count_t got;
  if (ch == 1) {
    got = read_interleaved(impl_->file, impl_->pcm16, impl_->pcm, out, n, 1);
  } else {
    auto& buf = impl_->interleaved;
    if (buf.size() < n * static_cast<std::size_t>(ch)) buf.resize(n * static_cast<std::size_t>(ch));
    got = read_interleaved(impl_->file, impl_->pcm16, impl_->pcm, buf.data(), n, ch);
    const float* p = buf.data();
    if (impl_->channel >= 0) {
      for (sf_count_t i = 0; i < got; ++i) out[i] = p[i * ch + impl_->channel];
    } else {
      const float scale = 1.0f / static_cast<float>(ch);
      for (sf_count_t i = 0; i < got; ++i) {
        float s = 0;
        for (int c = 0; c < ch; ++c) s += p[i * ch + c];
        out[i] = s * scale;
      }
    }
  }
  if (int e = sf_error(impl_->file); e != SF_ERR_NO_ERROR)
    fail(name_, ": decoding failed after ", pos_ + std::max<sf_count_t>(got, 0),
         " samples: ", sf_error_number(e));
  if (got < static_cast<sf_count_t>(n))
    fail(name_, ": audio ends after ", pos_ + std::max<sf_count_t>(got, 0), " of ",
         info_.frames, " samples (truncated or corrupt)");
  // 16-bit samples are within [-1, 1) by construction.
  if (const std::size_t i = impl_->pcm16 ? static_cast<std::size_t>(got) : first_bad_sample(out, static_cast<std::size_t>(got));
      i < static_cast<std::size_t>(got))
    fail(name_, ": sample ", pos_ + static_cast<std::int64_t>(i), " is ", out[i],
         std::isfinite(out[i]) ? " (beyond +-1e6; samples are nominally within +-1)" : " (not a finite number)");
  pos_ += got;
  return static_cast<std::size_t>(got);
}

// The buffer grows with the samples actually decoded, never straight to the
// count a header claims (a FLAC header on stdin can claim 22 GB).
Audio read_audio(AudioReader& in) {
  Audio a;
  a.rate = in.info().rate;
  const auto claimed = static_cast<std::size_t>(in.info().frames);
  std::size_t at = 0;
  while (at < claimed) {
    if (at == a.samples.size()) {
      try {
        a.samples.resize(std::min(claimed, std::max<std::size_t>(65536, a.samples.size() * 2)));
      } catch (const std::bad_alloc&) {
        fail(in.name(), ": out of memory after ", at, " of ", claimed, " samples");
      }
    }
    const std::size_t got = in.read(a.samples.data() + at, std::min<std::size_t>(65536, a.samples.size() - at));
    if (got == 0) break;
    at += got;
  }
  a.samples.resize(at);
  return a;
}

Audio read_audio(const std::string& path, int channel) {
  AudioReader in(path, channel);
  return read_audio(in);
}

Audio read_audio_memory(const void* data, std::size_t size, const std::string& name, int channel) {
  AudioReader in(data, size, name, channel);
  return read_audio(in);
}

SpooledStream SpooledStream::copy(std::FILE* from, const std::string& name) {
  const char* env = std::getenv("TMPDIR");
  const std::string dir = env && *env ? env : "/tmp";
  std::string path = dir + "/sb-spool.XXXXXX";
  SpooledStream s;
  s.fd_ = ::mkstemp(path.data());
  if (s.fd_ < 0)
    fail(name, ": cannot make a temporary file in ", dir, " to hold the stream: ", std::strerror(errno));
  ::unlink(path.c_str());  // gone with the descriptor, even after kill -9
  unsigned char buf[1 << 16];
  for (;;) {
    const std::size_t got = std::fread(buf, 1, sizeof buf, from);
    for (std::size_t at = 0; at < got;) {
      const ssize_t n = ::write(s.fd_, buf + at, got - at);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0)
        fail(name, ": cannot keep the stream in a temporary file in ", dir, " after ", s.size_,
             " bytes: ", std::strerror(n < 0 ? errno : ENOSPC));
      at += static_cast<std::size_t>(n);
      s.size_ += n;
    }
    if (got < sizeof buf) break;
  }
  if (std::ferror(from)) fail(name, ": read error after ", s.size_, " bytes");
  if (::lseek(s.fd_, 0, SEEK_SET) != 0) fail(name, ": cannot rewind the temporary file: ", std::strerror(errno));
  return s;
}

SpooledStream::SpooledStream(SpooledStream&& o) noexcept : fd_(o.fd_), size_(o.size_) { o.fd_ = -1; }

SpooledStream& SpooledStream::operator=(SpooledStream&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    size_ = o.size_;
    o.fd_ = -1;
  }
  return *this;
}

SpooledStream::~SpooledStream() {
  if (fd_ >= 0) ::close(fd_);
}

std::vector<unsigned char> SpooledStream::bytes() const {
  std::vector<unsigned char> out(static_cast<std::size_t>(size_));
  std::size_t at = 0;
  while (at < out.size()) {
    const ssize_t n = ::pread(fd_, out.data() + at, out.size() - at, static_cast<off_t>(at));
    if (n <= 0) fail("temporary file: read failed");
    at += static_cast<std::size_t>(n);
  }
  return out;
}

SpooledStream SpooledStream::reopen() const {
  SpooledStream s;
  s.fd_ = ::fcntl(fd_, F_DUPFD_CLOEXEC, 0);
  if (s.fd_ < 0 || ::lseek(s.fd_, 0, SEEK_SET) != 0)
    fail("temporary file: cannot reopen: ", std::strerror(errno));
  s.size_ = size_;
  return s;
}

SpooledStream spool_stdin(const std::string& name) { return SpooledStream::copy(stdin, name); }

}  // namespace sb

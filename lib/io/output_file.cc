#include "io/output_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>

#include "core/diag.h"
#include "core/error.h"

namespace sb {
namespace {

// Temporary files the signal handler removes. A slot is claimed (0 -> 1),
// filled, published (2), and freed (0) once its file is renamed or removed;
// the handler only reads published slots and only calls unlink(), which is
// async-signal-safe. An output that finds no free slot is still cleaned up
// by the next run that opens it.
constexpr int kSlots = 64;
constexpr std::size_t kSlotBytes = 4096;
std::atomic<int> g_slot_state[kSlots];
char g_slot_path[kSlots][kSlotBytes];

int claim_slot(const std::string& path) {
  if (path.size() >= kSlotBytes) return -1;
  for (int i = 0; i < kSlots; ++i) {
    int expected = 0;
    if (g_slot_state[i].compare_exchange_strong(expected, 1)) {
      std::memcpy(g_slot_path[i], path.c_str(), path.size() + 1);
      g_slot_state[i].store(2);
      return i;
    }
  }
  return -1;
}

void release_slot(int i) {
  if (i >= 0) g_slot_state[i].store(0);
}

extern "C" void remove_partials_and_die(int sig) {
  for (int i = 0; i < kSlots; ++i)
    if (g_slot_state[i].load() == 2) ::unlink(g_slot_path[i]);
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

// "<dir>/<base>.tmp.<pid>" files whose process is gone: partial outputs of a
// run that was killed before it could remove them.
void remove_stale_temporaries(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const std::string prefix = (slash == std::string::npos ? path : path.substr(slash + 1)) + ".tmp.";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;  // opening the output itself will say what is wrong
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string digits = name.substr(prefix.size());
    if (digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(digits));
    if (pid <= 0 || pid == ::getpid()) continue;
    if (::kill(pid, 0) == 0 || errno != ESRCH) continue;  // still running (or not ours to judge)
    const std::string full = slash == std::string::npos ? name : dir + "/" + name;
    if (::unlink(full.c_str()) == 0)
      warning(cat(full, ": removed the partial output of an interrupted run (process ", pid, ")"));
  }
  ::closedir(d);
}

}  // namespace

OutputFile::OutputFile(const std::string& path) : path_(path), name_(path == "-" ? "<stdout>" : path) {
  if (path == "-") {
    fd_ = STDOUT_FILENO;
    return;
  }
  if (path.empty()) fail("an output file name is empty");
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    if (S_ISDIR(st.st_mode)) fail(path, ": is a directory");
    if (!S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode))
      fail(path, ": not a regular file, FIFO or character device; refusing to replace it");
    // A pipe or a device: written in place, never replaced by a file.
    fd_ = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd_ < 0) fail(path, ": cannot open for writing: ", std::strerror(errno));
    own_fd_ = true;
    return;
  }
  remove_stale_temporaries(path);
  temp_ = cat(path, ".tmp.", ::getpid());
  fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    const int e = errno;
    temp_.clear();
    fail(path, ": cannot open for writing: ", std::strerror(e));
  }
  own_fd_ = true;
  slot_index_ = claim_slot(temp_);
}

OutputFile::~OutputFile() { discard(); }

void OutputFile::discard() noexcept {
  if (own_fd_ && fd_ >= 0) ::close(fd_);
  fd_ = -1;
  own_fd_ = false;
  if (!temp_.empty()) ::unlink(temp_.c_str());
  temp_.clear();
  release_slot(slot_index_);
  slot_index_ = -1;
}

void OutputFile::write_all(const void* data, std::size_t n) {
  if (fd_ < 0) fail(name_, ": write after close");
  const auto* p = static_cast<const unsigned char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd_, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      fail(name_, ": write failed: ", std::strerror(errno));
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

void OutputFile::commit() {
  if (fd_ < 0) fail(name_, ": already closed");
  if (!own_fd_) {  // standard output: the caller's stream, left open
    fd_ = -1;
    return;
  }
  if (!temp_.empty() && ::fsync(fd_) != 0) {
    const int e = errno;
    discard();
    fail(path_, ": fsync failed: ", std::strerror(e));
  }
  const int rc = ::close(fd_);
  const int close_errno = errno;
  fd_ = -1;
  own_fd_ = false;
  if (rc != 0) {
    discard();
    fail(path_, ": close failed: ", std::strerror(close_errno));
  }
  if (temp_.empty()) return;
  if (std::rename(temp_.c_str(), path_.c_str()) != 0) {
    const int e = errno;
    discard();
    fail(path_, ": cannot rename the finished temporary file into place: ", std::strerror(e));
  }
  temp_.clear();
  release_slot(slot_index_);
  slot_index_ = -1;
}

class TextOutputFile::Buffer : public std::streambuf {
 public:
  explicit Buffer(OutputFile& f) : file_(f), bytes_(1 << 16) { setp(bytes_.data(), bytes_.data() + bytes_.size()); }
  // Writes what is buffered; an sb::Error from OutputFile is kept for
  // commit() to rethrow (streams swallow exceptions into badbit).
  bool drain() {
    const std::size_t n = static_cast<std::size_t>(pptr() - pbase());
    if (n == 0 || error_) return !error_;
    try {
      file_.write_all(pbase(), n);
    } catch (...) {
      error_ = std::current_exception();
      return false;
    }
    setp(bytes_.data(), bytes_.data() + bytes_.size());
    return true;
  }
  std::exception_ptr error() const { return error_; }

 protected:
  int_type overflow(int_type c) override {
    if (!drain()) return traits_type::eof();
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(c);
      pbump(1);
    }
    return traits_type::not_eof(c);
  }
  int sync() override { return drain() ? 0 : -1; }

 private:
  OutputFile& file_;
  std::vector<char> bytes_;
  std::exception_ptr error_;
};

TextOutputFile::TextOutputFile(const std::string& path) {
  if (path == "-") {
    os_ = &std::cout;
    return;
  }
  file_ = std::make_unique<OutputFile>(path);
  buf_ = std::make_unique<Buffer>(*file_);
  own_ = std::make_unique<std::ostream>(buf_.get());
  os_ = own_.get();
}

TextOutputFile::~TextOutputFile() = default;  // not committed: the file's temporary goes

void TextOutputFile::commit() {
  if (!file_) {
    std::cout.flush();
    if (!std::cout) fail("<stdout>: write failed");
    return;
  }
  own_->flush();
  if (auto e = buf_->error()) std::rethrow_exception(e);
  if (!*own_) fail(file_->name(), ": write failed");
  file_->commit();
}

void remove_partial_outputs_on_signal() {
  struct sigaction sa {};
  sa.sa_handler = remove_partials_and_die;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    // A signal the caller ignores (nohup) stays ignored.
    struct sigaction old {};
    if (::sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_DFL) ::sigaction(sig, &sa, nullptr);
  }
}

}  // namespace sb

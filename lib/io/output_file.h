// An output file that appears under its final name only when it is
// complete. Bytes go to "<path>.tmp.<pid>" in the same directory; commit()
// syncs it and renames it over <path>; anything else (an error, a destructor
// during unwinding, SIGINT/SIGTERM/SIGHUP with the cleanup handlers
// installed) removes the temporary file and leaves <path> as it was.
//
// Targets that are not regular files are written in place, never replaced:
// "-" is standard output, and a FIFO or a character device (/dev/null,
// /dev/stdout, a terminal) streams; a directory or any other kind of file is
// refused. A temporary file of the same output left by a run that was killed
// (kill -9: no cleanup could run) is removed, with a warning, when the next
// run opens that output.
#pragma once
#include <memory>
#include <ostream>
#include <streambuf>
#include <string>
#include <vector>

namespace sb {

class OutputFile {
 public:
  // Opens for writing; throws sb::Error naming the path.
  explicit OutputFile(const std::string& path);
  ~OutputFile();  // not committed: the temporary file is removed
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  int fd() const { return fd_; }
  // "<stdout>" for "-", else the path as given (for messages).
  const std::string& name() const { return name_; }
  // True where bytes go straight to the target (stdout, FIFO, device).
  bool in_place() const { return temp_.empty(); }

  // Writes all n bytes (EINTR retried); throws sb::Error on failure.
  void write_all(const void* p, std::size_t n);
  // Makes the output final: fsync + rename (files), close; throws on failure.
  void commit();

 private:
  void discard() noexcept;

  std::string path_, name_, temp_;
  int fd_ = -1;
  bool own_fd_ = false;
  bool slot_ = false;
  int slot_index_ = -1;
};

// A text output with the same guarantee, as a std::ostream: "-" writes to
// standard output (through std::cout, flushed by commit()), a file appears
// only on commit(). Bytes go out in 64 KiB pieces, so memory stays flat.
class TextOutputFile {
 public:
  explicit TextOutputFile(const std::string& path);
  ~TextOutputFile();
  std::ostream& stream() { return *os_; }
  void commit();  // throws sb::Error naming the file on any write failure

 private:
  class Buffer;
  std::unique_ptr<OutputFile> file_;
  std::unique_ptr<Buffer> buf_;
  std::unique_ptr<std::ostream> own_;
  std::ostream* os_ = nullptr;
};

// Installs SIGINT, SIGTERM and SIGHUP handlers that remove every open
// OutputFile's temporary file and then die of the signal as before (exit
// status 128 + signal). A tool that handles a signal itself (sb-train) may
// install its own handler afterwards. Called by cli::run_tool.
void remove_partial_outputs_on_signal();

}  // namespace sb

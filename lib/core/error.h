// Errors in sb: one exception type for "this input or this run is bad",
// one for "the command line is bad". Tools catch both in cli::run_tool and
// turn them into `sb-<tool>: message` and an exit status (2 and 1).
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace sb {

// A runtime failure with a one-line, user-facing message. The message names
// the file and, where there is one, the record: "feats.sbt: record 12 (utt3):
// truncated payload".
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// A bad command line: unknown option, missing argument, value out of range.
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& what) : Error(what) {}
};

// Builds a message from any streamable pieces: cat("record ", i, ": ", why).
template <class... Parts>
std::string cat(Parts&&... parts) {
  std::ostringstream os;
  (os << ... << std::forward<Parts>(parts));
  return os.str();
}

template <class... Parts>
[[noreturn]] void fail(Parts&&... parts) {
  throw Error(cat(std::forward<Parts>(parts)...));
}

template <class... Parts>
[[noreturn]] void usage_fail(Parts&&... parts) {
  throw UsageError(cat(std::forward<Parts>(parts)...));
}

}  // namespace sb

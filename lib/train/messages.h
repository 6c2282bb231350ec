// Lines for the user. The library never prints: the trainer hands every
// line to these callbacks, and the tool prefixes them with its name and
// decides where they go.
#pragma once
#include <functional>
#include <string_view>

namespace sb::train {

struct Messages {
  std::function<void(std::string_view)> info = [](std::string_view) {};
  std::function<void(std::string_view)> warn = [](std::string_view) {};
  // A progress bar: each call replaces the previous bar line in place (a
  // terminal's \r); `done` ends that line.
  std::function<void(std::string_view, bool done)> bar = [](std::string_view, bool) {};
};

}  // namespace sb::train

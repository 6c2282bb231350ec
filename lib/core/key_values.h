// The "key value" text records of sb archives (a model's options, a
// checkpoint's training state): one record a line, the key up to the first
// whitespace, the trimmed rest of the line its value; blank lines are
// skipped and a later key wins. One parser for every reader:
// model::parse_options_text (ModelOptions::from_text, the trainer's state)
// and the probes' reading of a model's convolution (lib/eval), which must
// not link lib/model.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "core/strings.h"

namespace sb {

using KeyValues = std::map<std::string, std::string, std::less<>>;

inline KeyValues parse_key_values(std::string_view text) {
  KeyValues kv;
  std::size_t b = 0;
  while (b < text.size()) {
    std::size_t e = text.find('\n', b);
    if (e == std::string_view::npos) e = text.size();
    std::string_view key, rest;
    if (split_key(text.substr(b, e - b), key, rest)) kv[std::string(key)] = std::string(rest);
    b = e + 1;
  }
  return kv;
}

}  // namespace sb

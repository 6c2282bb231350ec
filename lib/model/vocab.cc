#include "model/vocab.h"

#include <algorithm>

#include "core/strings.h"

namespace sb::model {

Vocabulary::Vocabulary(std::vector<char32_t> chars) : chars_(std::move(chars)) {
  for (std::size_t i = 0; i < chars_.size(); ++i)
    ids_[chars_[i]] = static_cast<std::int32_t>(i + 1);
}

void Vocabulary::add(std::string_view utf8) {
  for (char32_t c : utf8_decode(utf8))
    if (ids_.emplace(c, 0).second) chars_.push_back(c);
}

void Vocabulary::build() {
  std::sort(chars_.begin(), chars_.end());
  ids_.clear();
  for (std::size_t i = 0; i < chars_.size(); ++i)
    ids_[chars_[i]] = static_cast<std::int32_t>(i + 1);
}

std::vector<std::int32_t> Vocabulary::encode(std::string_view utf8) const {
  std::vector<std::int32_t> out;
  for (char32_t c : utf8_decode(utf8)) {
    auto it = ids_.find(c);
    out.push_back(it == ids_.end() ? 0 : it->second);
  }
  return out;
}

}  // namespace sb::model

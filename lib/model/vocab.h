// The character vocabulary: one mapping for every task, built from the text
// of all tasks' training data, so that an id means the same character in
// SPEECH/TEXT and TEXT/IMAGE (the peer code built one per task). Id 0 is the
// unknown symbol; characters get ids 1.. in code point order, so the
// vocabulary does not depend on the order data was read in.
#pragma once
#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sb::model {

class Vocabulary {
 public:
  Vocabulary() = default;
  explicit Vocabulary(std::vector<char32_t> chars);  // ids 1.. in this order

  // Collects characters; call build() when all text has been added.
  void add(std::string_view utf8);
  void build();

  // UTF-8 text -> ids; unseen characters become 0. Throws on bad UTF-8.
  std::vector<std::int32_t> encode(std::string_view utf8) const;
  int size() const { return static_cast<int>(chars_.size()) + 1; }
  const std::vector<char32_t>& chars() const { return chars_; }

 private:
  std::vector<char32_t> chars_;
  std::unordered_map<char32_t, std::int32_t> ids_;
};

}  // namespace sb::model

// Levenshtein distance over symbol strings (unit costs for insertion,
// deletion and substitution), two ways:
//   levenshtein_dp   the textbook dynamic programme, O(|a| |b|) cells;
//                    kept as the reference for tests and the benchmark.
//   MyersPattern     the bit-parallel algorithm of Myers (1999) in Hyyrö's
//                    (2003) formulation, 64 pattern symbols per machine word
//                    (several words for longer patterns): O(ceil(|a|/64) |b|).
// Symbols are small dense integers (encode_strings maps Unicode code points
// to them), so a pattern's match masks are one array lookup per symbol.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace sb::eval {

using Symbols = std::vector<std::uint32_t>;

std::size_t levenshtein_dp(std::span<const std::uint32_t> a, std::span<const std::uint32_t> b);

class MyersPattern {
 public:
  // Every symbol of `pattern` and of later texts must be < alphabet.
  MyersPattern(std::span<const std::uint32_t> pattern, std::size_t alphabet);
  std::size_t distance(std::span<const std::uint32_t> text) const;
  std::size_t size() const { return m_; }
  std::size_t words() const { return words_; }

 private:
  friend void myers_distance4(const MyersPattern* const p[4],
                              const std::span<const std::uint32_t> texts[4], std::size_t out[4]);
  std::size_t m_, words_;
  std::vector<std::uint64_t> peq_;  // [symbol][word]: bit i set where pattern[64 w + i] == symbol
};

// Four (pattern, text) pairs at once: four independent dependency chains
// keep the CPU's units busy where one pair would wait on each step. Pairs
// whose pattern is longer than 64 symbols fall back to distance().
void myers_distance4(const MyersPattern* const p[4], const std::span<const std::uint32_t> texts[4],
                     std::size_t out[4]);

// Decodes UTF-8 strings into code points and renumbers the code points that
// occur densely from 0 (in order of first appearance). Malformed UTF-8
// throws sb::Error (text tables are validated when read, so callers that
// read them never see it).
struct EncodedStrings {
  std::vector<Symbols> strings;
  std::size_t alphabet = 0;
};
EncodedStrings encode_strings(const std::vector<std::string>& utf8);

}  // namespace sb::eval

#include "eval/levenshtein.h"

#include <algorithm>
#include <numeric>
#include <unordered_map>

#include "core/error.h"
#include "core/strings.h"

namespace sb::eval {

std::size_t levenshtein_dp(std::span<const std::uint32_t> a, std::span<const std::uint32_t> b) {
  if (a.size() < b.size()) std::swap(a, b);  // one row of the shorter length
  std::vector<std::size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), std::size_t{0});
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({up + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = up;
    }
  }
  return row[b.size()];
}

MyersPattern::MyersPattern(std::span<const std::uint32_t> pattern, std::size_t alphabet)
    : m_(pattern.size()), words_((pattern.size() + 63) / 64), peq_(alphabet * words_, 0) {
  for (std::size_t i = 0; i < m_; ++i) {
    if (pattern[i] >= alphabet) fail("MyersPattern: symbol ", pattern[i], " >= alphabet ", alphabet);
    peq_[pattern[i] * words_ + i / 64] |= std::uint64_t{1} << (i % 64);
  }
}

std::size_t MyersPattern::distance(std::span<const std::uint32_t> text) const {
  if (m_ == 0) return text.size();
  const std::uint64_t last = std::uint64_t{1} << ((m_ - 1) % 64);
  std::size_t dist = m_;
  if (words_ == 1) {
    // Column j of the DP matrix as vertical deltas: VP/VN mark +1/-1 steps.
    std::uint64_t vp = ~std::uint64_t{0}, vn = 0;
    for (std::uint32_t c : text) {
      const std::uint64_t eq = peq_[c];
      const std::uint64_t xv = eq | vn;
      const std::uint64_t xh = (((eq & vp) + vp) ^ vp) | eq;
      std::uint64_t hp = vn | ~(xh | vp);
      std::uint64_t hn = vp & xh;
      dist += (hp & last) != 0;
      dist -= (hn & last) != 0;
      // Row 0 of the matrix is 0, 1, 2, ...: a +1 horizontal step enters at the top.
      hp = (hp << 1) | 1;
      hn <<= 1;
      vp = hn | ~(xv | hp);
      vn = hp & xv;
    }
    return dist;
  }
  // Blocks of 64 rows: each word passes its bottom row's horizontal delta
  // (+1, 0 or -1) to the next word as HP/HN carry-in (Hyyrö 2003, section 4).
  std::vector<std::uint64_t> vp(words_, ~std::uint64_t{0}), vn(words_, 0);
  for (std::uint32_t c : text) {
    const std::uint64_t* eqs = &peq_[c * words_];
    std::uint64_t hp_carry = 1, hn_carry = 0;
    for (std::size_t w = 0; w < words_; ++w) {
      const std::uint64_t x = eqs[w] | hn_carry;
      const std::uint64_t d0 = (((x & vp[w]) + vp[w]) ^ vp[w]) | x | vn[w];
      std::uint64_t hp = vn[w] | ~(d0 | vp[w]);
      std::uint64_t hn = d0 & vp[w];
      const std::uint64_t hp_in = hp_carry, hn_in = hn_carry;
      if (w + 1 < words_) {
        hp_carry = hp >> 63;
        hn_carry = hn >> 63;
      } else {
        hp_carry = (hp & last) != 0;
        hn_carry = (hn & last) != 0;
      }
      hp = (hp << 1) | hp_in;
      hn = (hn << 1) | hn_in;
      vp[w] = hn | ~(d0 | hp);
      vn[w] = hp & d0;
    }
    dist += hp_carry;
    dist -= hn_carry;
  }
  return dist;
}

EncodedStrings encode_strings(const std::vector<std::string>& utf8) {
  EncodedStrings out;
  std::unordered_map<char32_t, std::uint32_t> ids;
  out.strings.reserve(utf8.size());
  for (const auto& s : utf8) {
    Symbols sym;
    for (char32_t cp : utf8_decode(s)) {
      auto [it, fresh] = ids.emplace(cp, static_cast<std::uint32_t>(ids.size()));
      sym.push_back(it->second);
    }
    out.strings.push_back(std::move(sym));
  }
  out.alphabet = ids.size();
  return out;
}

}  // namespace sb::eval

#include "eval/levenshtein.h"

#include <algorithm>
#include <numeric>
#include <unordered_map>

#include "core/error.h"
#include "core/strings.h"

namespace sb::eval {

std::size_t levenshtein_dp(std::span<const std::uint32_t> a, std::span<const std::uint32_t> b) {
  if (a.size() < b.size()) std::swap(a, b);  // one row of the shorter length
  std::vector<std::uint32_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), 0u);
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::uint32_t diag = row[0];
    row[0] = static_cast<std::uint32_t>(i);
    const std::uint32_t ai = a[i - 1];
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::uint32_t up = row[j];
      std::uint32_t best = diag + (ai != b[j - 1]);
      best = std::min(best, up + 1);
      best = std::min(best, row[j - 1] + 1);
      row[j] = best;
      diag = up;
    }
  }
  return row[b.size()];
}

namespace {

// One column step of the single-word algorithm (Hyyrö 2003, Fig. 3):
// VP/VN hold the +1/-1 vertical deltas of the current DP column.
inline void myers_step(std::uint64_t eq, std::uint64_t last, std::uint64_t& vp, std::uint64_t& vn,
                       std::size_t& dist) {
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

}  // namespace

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
    std::uint64_t vp = ~std::uint64_t{0}, vn = 0;
    for (std::uint32_t c : text) myers_step(peq_[c], last, vp, vn, dist);
    return dist;
  }
  // Blocks of 64 rows: each word passes its bottom row's horizontal delta
  // (+1, 0 or -1) to the next word as HP/HN carry-in (Hyyrö 2003, section 4).
  // Up to 512 pattern symbols on the stack: no allocation per distance.
  std::uint64_t stack_vp[8], stack_vn[8];
  std::vector<std::uint64_t> heap_vp, heap_vn;
  std::uint64_t* vp = stack_vp;
  std::uint64_t* vn = stack_vn;
  if (words_ > 8) {
    heap_vp.resize(words_);
    heap_vn.resize(words_);
    vp = heap_vp.data();
    vn = heap_vn.data();
  }
  std::fill(vp, vp + words_, ~std::uint64_t{0});
  std::fill(vn, vn + words_, std::uint64_t{0});
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

void myers_distance4(const MyersPattern* const p[4], const std::span<const std::uint32_t> texts[4],
                     std::size_t out[4]) {
  bool single = true;
  for (int l = 0; l < 4; ++l) single = single && p[l]->words_ == 1;
  if (!single) {
    for (int l = 0; l < 4; ++l) out[l] = p[l]->distance(texts[l]);
    return;
  }
  std::uint64_t vp[4], vn[4], last[4];
  std::size_t dist[4];
  const std::uint64_t* peq[4];
  std::size_t common = texts[0].size();
  for (int l = 0; l < 4; ++l) {
    vp[l] = ~std::uint64_t{0};
    vn[l] = 0;
    dist[l] = p[l]->m_;
    last[l] = std::uint64_t{1} << (p[l]->m_ - 1);
    peq[l] = p[l]->peq_.data();
    common = std::min(common, texts[l].size());
  }
  const std::uint32_t *t0 = texts[0].data(), *t1 = texts[1].data(), *t2 = texts[2].data(),
                      *t3 = texts[3].data();
  for (std::size_t k = 0; k < common; ++k) {
    myers_step(peq[0][t0[k]], last[0], vp[0], vn[0], dist[0]);
    myers_step(peq[1][t1[k]], last[1], vp[1], vn[1], dist[1]);
    myers_step(peq[2][t2[k]], last[2], vp[2], vn[2], dist[2]);
    myers_step(peq[3][t3[k]], last[3], vp[3], vn[3], dist[3]);
  }
  for (int l = 0; l < 4; ++l) {
    for (std::size_t k = common; k < texts[l].size(); ++k)
      myers_step(peq[l][texts[l][k]], last[l], vp[l], vn[l], dist[l]);
    out[l] = dist[l];
  }
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

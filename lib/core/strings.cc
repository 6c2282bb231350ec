#include "core/strings.h"

#include <cerrno>
#include <cstdlib>
#include <string>

#include "core/error.h"

namespace sb {

static bool is_ws(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::vector<std::string_view> split_ws(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_ws(line[i])) ++i;
    std::size_t j = i;
    while (j < line.size() && !is_ws(line[j])) ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

std::string_view trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && is_ws(s[b])) ++b;
  while (e > b && is_ws(s[e - 1])) --e;
  return s.substr(b, e - b);
}

bool split_key(std::string_view line, std::string_view& key, std::string_view& rest) {
  line = trim(line);
  if (line.empty()) return false;
  std::size_t j = 0;
  while (j < line.size() && !is_ws(line[j])) ++j;
  key = line.substr(0, j);
  rest = trim(line.substr(j));
  return true;
}

// Returns the number of bytes of the code point at s[i], 0 if malformed.
static std::size_t utf8_step(std::string_view s, std::size_t i, char32_t& cp) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  std::size_t len;
  char32_t min;
  if (b0 < 0x80) { cp = b0; return 1; }
  if ((b0 & 0xE0) == 0xC0) { len = 2; cp = b0 & 0x1F; min = 0x80; }
  else if ((b0 & 0xF0) == 0xE0) { len = 3; cp = b0 & 0x0F; min = 0x800; }
  else if ((b0 & 0xF8) == 0xF0) { len = 4; cp = b0 & 0x07; min = 0x10000; }
  else return 0;
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

bool valid_utf8(std::string_view s) {
  char32_t cp;
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = utf8_step(s, i, cp);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::vector<char32_t> utf8_decode(std::string_view s) {
  std::vector<char32_t> out;
  out.reserve(s.size());
  char32_t cp;
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = utf8_step(s, i, cp);
    if (n == 0) fail("malformed UTF-8 at byte ", i);
    out.push_back(cp);
    i += n;
  }
  return out;
}

std::string utf8_encode(char32_t c) {
  std::string o;
  if (c < 0x80) {
    o += static_cast<char>(c);
  } else if (c < 0x800) {
    o += static_cast<char>(0xC0 | (c >> 6));
    o += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    o += static_cast<char>(0xE0 | (c >> 12));
    o += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    o += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    o += static_cast<char>(0xF0 | (c >> 18));
    o += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    o += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    o += static_cast<char>(0x80 | (c & 0x3F));
  }
  return o;
}

long long parse_int(std::string_view s, std::string_view what) {
  const std::string str(trim(s));
  if (str.empty()) usage_fail(what, ": expected an integer, got ''");
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(str.c_str(), &end, 10);
  if (errno != 0 || end != str.c_str() + str.size())
    usage_fail(what, ": expected an integer, got '", str, "'");
  return v;
}

double parse_double(std::string_view s, std::string_view what) {
  const std::string str(trim(s));
  if (str.empty()) usage_fail(what, ": expected a number, got ''");
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(str.c_str(), &end);
  if (errno == ERANGE || end != str.c_str() + str.size())
    usage_fail(what, ": expected a number, got '", str, "'");
  return v;
}

}  // namespace sb

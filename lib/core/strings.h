// Small text helpers shared by the table readers and the tools.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sb {

// Splits on runs of ASCII whitespace; no empty fields.
std::vector<std::string_view> split_ws(std::string_view line);
// Strips ASCII whitespace at both ends.
std::string_view trim(std::string_view s);
// Splits "key rest of line" at the first run of whitespace; rest is trimmed.
// Returns false when the line has no key.
bool split_key(std::string_view line, std::string_view& key, std::string_view& rest);
// True when s is well-formed UTF-8 (no overlongs, no surrogates).
bool valid_utf8(std::string_view s);
// Decodes UTF-8 into code points; throws sb::Error on malformed input.
std::vector<char32_t> utf8_decode(std::string_view s);
std::string utf8_encode(char32_t c);
// Parses a whole string as a number; throws sb::UsageError naming `what`.
long long parse_int(std::string_view s, std::string_view what);
double parse_double(std::string_view s, std::string_view what);

}  // namespace sb

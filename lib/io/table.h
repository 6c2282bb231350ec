// Kaldi-style text tables (wav.scp, text, utt2spk, utt2img, ...): UTF-8, one
// record a line, key first, whitespace, then the value (the rest of the line,
// trimmed). Blank lines are skipped. Errors name the file and the line.
#pragma once
#include <string>
#include <unordered_map>
#include <vector>

namespace sb {

struct TableEntry {
  std::string key;
  std::string value;
  std::size_t line = 0;  // 1-based, for messages
};

// Reads PATH ("-" = stdin). Duplicate keys, lines without a value (unless
// allow_empty_value), and malformed UTF-8 are errors naming file and line.
std::vector<TableEntry> read_table(const std::string& path, bool allow_empty_value = false);

// The same as a map key -> value (still rejecting duplicates).
std::unordered_map<std::string, std::string> read_table_map(const std::string& path);

// Reads a plain list of keys, one per line (the first field of each line).
std::vector<std::string> read_key_list(const std::string& path);

}  // namespace sb

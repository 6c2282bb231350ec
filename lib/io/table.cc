#include "io/table.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <unordered_set>

#include "core/error.h"
#include "core/strings.h"

namespace sb {

std::vector<TableEntry> read_table(const std::string& path, bool allow_empty_value) {
  std::ifstream file;
  std::istream* in = &std::cin;
  const std::string name = path == "-" ? "<stdin>" : path;
  if (path != "-") {
    struct stat st;
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) fail(path, ": is a directory, not a table");
    errno = 0;
    file.open(path);
    if (!file) fail(path, ": cannot open", errno ? cat(": ", std::strerror(errno)) : std::string());
    in = &file;
  }
  std::vector<TableEntry> out;
  std::unordered_set<std::string> seen;
  std::string line;
  std::size_t n = 0;
  while (std::getline(*in, line)) {
    ++n;
    if (!valid_utf8(line)) fail(name, ": line ", n, ": not valid UTF-8");
    std::string_view key, rest;
    if (!split_key(line, key, rest)) continue;
    if (rest.empty() && !allow_empty_value) fail(name, ": line ", n, ": '", key, "' has no value");
    if (!seen.insert(std::string(key)).second) fail(name, ": line ", n, ": duplicate key '", key, "'");
    out.push_back({std::string(key), std::string(rest), n});
  }
  if (in->bad()) fail(name, ": read failed after line ", n, errno ? cat(": ", std::strerror(errno)) : std::string());
  return out;
}

std::unordered_map<std::string, std::string> read_table_map(const std::string& path) {
  std::unordered_map<std::string, std::string> m;
  for (auto& e : read_table(path)) m.emplace(std::move(e.key), std::move(e.value));
  return m;
}

std::vector<std::string> read_key_list(const std::string& path) {
  std::vector<std::string> keys;
  for (auto& e : read_table(path, true)) keys.push_back(std::move(e.key));
  return keys;
}

}  // namespace sb

#include "cli/options.h"

#include <cerrno>
#include <cfloat>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "cli/cli.h"
#include "core/error.h"
#include "core/strings.h"

namespace sb::cli {
namespace {

// "o,output" -> {"o", "output"}; "hidden" -> {"", "hidden"}; "C" -> {"C", ""}.
std::pair<std::string, std::string> split_name(const std::string& name) {
  const auto comma = name.find(',');
  if (comma != std::string::npos) return {name.substr(0, comma), name.substr(comma + 1)};
  if (name.size() == 1) return {name, ""};
  return {"", name};
}

// The range as --help and the errors show it: "1..65536", ">= 0", "<= 5"
// or "" when the type's own limits are the only ones.
template <class T>
std::string range_text(T min, T max, T lowest, T highest, std::string (*str)(T)) {
  const bool lo = min > lowest, hi = max < highest;
  if (lo && hi) return str(min) + ".." + str(max);
  if (lo) return ">= " + str(min);
  if (hi) return "<= " + str(max);
  return "";
}
std::string ll_str(long long v) { return std::to_string(v); }
std::string u64_str(std::uint64_t v) { return std::to_string(v); }
std::string dbl_str(double v) { return format_number(v); }
// Unsigned ranges always have a lower end worth showing: "0..100", ">= 1", ">= 0".
std::string u64_range(std::uint64_t min, std::uint64_t max) {
  if (max < UINT64_MAX) return u64_str(min) + ".." + u64_str(max);
  return ">= " + u64_str(min);
}

std::string out_of_range(const std::string& option, const std::string& text, const std::string& range) {
  if (range.empty()) return cat(option, ": ", text, " is out of range");
  if (range.find("..") != std::string::npos) return cat(option, ": ", text, " is out of range ", range);
  return cat(option, ": ", text, " is out of range (must be ", range, ")");
}

std::string column(const std::string& type, const std::string& range, const std::string& def) {
  std::string s = " (" + type;
  if (!range.empty()) s += ", " + range;
  if (!def.empty()) s += ", default " + def;
  return s + ")";
}

std::string join(const std::vector<std::string>& words, const char* sep) {
  std::string s;
  for (const auto& w : words) s += (s.empty() ? "" : sep) + w;
  return s;
}

}  // namespace

std::string format_number(double v) {
  char buf[64];
  // Whole numbers as such ("10000000", not "1e+07"), up to where %.0f stays short.
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  for (int prec = 6; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

std::string format_number(float v) {
  char buf[64];
  for (int prec = 6; prec <= 9; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, static_cast<double>(v));
    if (std::strtof(buf, nullptr) == v) break;
  }
  return buf;
}

long long to_integer(const std::string& text, const std::string& option, long long min, long long max) {
  const std::string s(trim(text));
  errno = 0;
  char* end = nullptr;
  const long long v = s.empty() ? 0 : std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || end != s.c_str() + s.size()) usage_fail(option, ": '", s, "' is not an integer");
  const std::string range = range_text<long long>(min, max, LLONG_MIN, LLONG_MAX, ll_str);
  if (errno == ERANGE || v < min || v > max) throw UsageError(out_of_range(option, s, range));
  return v;
}

std::uint64_t to_unsigned(const std::string& text, const std::string& option, std::uint64_t min,
                          std::uint64_t max) {
  const std::string s(trim(text));
  errno = 0;
  char* end = nullptr;
  // strtoull accepts "-1" (and wraps it); a sign is never valid here.
  const bool digits = !s.empty() && s[0] >= '0' && s[0] <= '9';
  const unsigned long long v = digits ? std::strtoull(s.c_str(), &end, 10) : 0;
  const std::string range = u64_range(min, max);
  if (!digits || end != s.c_str() + s.size()) {
    // A well-formed negative integer is a range problem, not a syntax one.
    if (s.size() > 1 && s[0] == '-' && s.find_first_not_of("0123456789", 1) == std::string::npos)
      throw UsageError(out_of_range(option, s, range));
    usage_fail(option, ": '", s, "' is not an integer");
  }
  if (errno == ERANGE || v < min || v > max) throw UsageError(out_of_range(option, s, range));
  return v;
}

double to_real(const std::string& text, const std::string& option, double min, double max) {
  const std::string s(trim(text));
  errno = 0;
  char* end = nullptr;
  const double v = s.empty() ? 0 : std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size()) usage_fail(option, ": '", s, "' is not a number");
  const std::string range = range_text<double>(min, max, -DBL_MAX, DBL_MAX, dbl_str);
  // ERANGE: overflow, or an underflow to a denormal or zero; either way not
  // the number that was written.
  if (errno == ERANGE || !std::isfinite(v) || !(v >= min && v <= max))
    throw UsageError(out_of_range(option, s, range));
  return v;
}

std::string OptionRegistry::display_name(const std::string& name) {
  const auto [s, l] = split_name(name);
  return l.empty() ? "-" + s : "--" + l;
}

OptionRegistry::OptionRegistry(cxxopts::Options& opts, const std::string& group)
    : opts_(opts), group_(group) {
  note_group(opts, group);
}

void OptionRegistry::declare(const std::string& name, const std::string& help, const std::string& metavar,
                             const std::string& col, std::function<void(const std::string&)> set,
                             bool* flag) {
  const auto [s, l] = split_name(name);
  Entry e;
  e.key = l.empty() ? s : l;
  e.display = display_name(name);
  e.set = std::move(set);
  e.flag = flag;
  auto adder = opts_.add_options(group_);
  if (flag)
    adder(name, help, cxxopts::value<bool>());
  else
    adder(name, help + col, cxxopts::value<std::string>(), metavar);
  entries_.push_back(std::move(e));
}

void OptionRegistry::add(const std::string& name, int* value, const std::string& help, long long min,
                         long long max) {
  min = std::max<long long>(min, INT_MIN);
  max = std::min<long long>(max, INT_MAX);
  const std::string opt = display_name(name);
  const std::string range = range_text<long long>(min, max, INT_MIN, INT_MAX, ll_str);
  declare(name, help, "N", column("int", range, std::to_string(*value)),
          [=](const std::string& t) { *value = static_cast<int>(to_integer(t, opt, min, max)); });
}

void OptionRegistry::add(const std::string& name, long long* value, const std::string& help, long long min,
                         long long max) {
  const std::string opt = display_name(name);
  const std::string range = range_text<long long>(min, max, LLONG_MIN, LLONG_MAX, ll_str);
  declare(name, help, "N", column("int", range, std::to_string(*value)),
          [=](const std::string& t) { *value = to_integer(t, opt, min, max); });
}

void OptionRegistry::add(const std::string& name, std::uint64_t* value, const std::string& help,
                         std::uint64_t min, std::uint64_t max) {
  const std::string opt = display_name(name);
  const std::string range = u64_range(min, max);
  declare(name, help, "N", column("int", range, std::to_string(*value)),
          [=](const std::string& t) { *value = to_unsigned(t, opt, min, max); });
}

void OptionRegistry::add(const std::string& name, double* value, const std::string& help, double min,
                         double max) {
  const std::string opt = display_name(name);
  const std::string range = range_text<double>(min, max, -DBL_MAX, DBL_MAX, dbl_str);
  declare(name, help, "X", column("real", range, format_number(*value)),
          [=](const std::string& t) { *value = to_real(t, opt, min, max); });
}

void OptionRegistry::add(const std::string& name, float* value, const std::string& help, double min,
                         double max) {
  min = std::max<double>(min, -FLT_MAX);
  max = std::min<double>(max, FLT_MAX);
  const std::string opt = display_name(name);
  const std::string range = range_text<double>(min, max, -FLT_MAX, FLT_MAX, dbl_str);
  declare(name, help, "X", column("real", range, format_number(*value)),
          [=](const std::string& t) { *value = static_cast<float>(to_real(t, opt, min, max)); });
}

void OptionRegistry::add(const std::string& name, bool* value, const std::string& help) {
  declare(name, help, "", "", nullptr, value);
}

void OptionRegistry::add(const std::string& name, std::string* value, const std::string& help) {
  declare(name, help, "TEXT", value->empty() ? "" : column("text", "", *value),
          [=](const std::string& t) { *value = t; });
}

void OptionRegistry::add(const std::string& name, std::string* value, const std::string& help,
                         const TextCheck& check) {
  add_text(name, value, help, "TEXT", check);
}

void OptionRegistry::add_text(const std::string& name, std::string* value, const std::string& help,
                              const std::string& metavar, const TextCheck& check) {
  declare(name, help, metavar, value->empty() ? "" : column("text", "", *value),
          [=](const std::string& t) {
            if (check) check(t);
            *value = t;
          });
}

void OptionRegistry::add(const std::string& name, std::string* value, const std::string& help,
                         const std::vector<std::string>& choices) {
  const std::string opt = display_name(name);
  declare(name, help, "WORD", column(join(choices, "|"), "", *value), [=](const std::string& t) {
    for (const auto& c : choices)
      if (t == c) {
        *value = t;
        return;
      }
    usage_fail(opt, ": '", t, "' is not one of ", join(choices, ", "));
  });
}

void OptionRegistry::apply(const cxxopts::ParseResult& r) const {
  for (const auto& e : entries_) {
    if (!r.count(e.key)) continue;
    if (e.flag) {
      *e.flag = r[e.key].as<bool>();
    } else {
      e.set(r[e.key].as<std::string>());
    }
  }
}

}  // namespace sb::cli

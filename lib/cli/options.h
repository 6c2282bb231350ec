// sb::OptionsItf over cxxopts: an options struct's Register(OptionsItf&)
// declares its options on a cxxopts::Options, and apply() writes the parsed
// values back into the struct's fields.
//
//   MfccOptions mo;
//   auto opts = cli::make_options("MFCC features", "[INPUT...]");
//   cli::OptionRegistry reg(opts, "Features");
//   mo.Register(reg);
//   const auto r = cli::parse(opts, argc, argv, kEpilog);
//   reg.apply(r);                  // mo now holds the given values
//
// --help shows each option's type, valid range and default in one column,
// as SPTK's commands do:
//   --hidden N   GRU size (int, 1..65536, default 1024)
// Every value travels through cxxopts as text and is converted here, so a
// bad value is a UsageError that names its option:
//   --hidden: 'abc' is not an integer
//   --hidden: 0 is out of range 1..65536
//   --lr: 1e400 is out of range
#pragma once
#include <cxxopts.hpp>
#include <functional>
#include <string>
#include <vector>

#include "core/options_itf.h"

namespace sb::cli {

class OptionRegistry : public OptionsItf {
 public:
  // Options are added to `group` of `opts` ("" = the unnamed first group).
  OptionRegistry(cxxopts::Options& opts, const std::string& group);

  void add(const std::string& name, int* value, const std::string& help, long long min,
           long long max) override;
  void add(const std::string& name, long long* value, const std::string& help, long long min,
           long long max) override;
  void add(const std::string& name, std::uint64_t* value, const std::string& help,
           std::uint64_t min, std::uint64_t max) override;
  void add(const std::string& name, double* value, const std::string& help, double min,
           double max) override;
  void add(const std::string& name, float* value, const std::string& help, double min,
           double max) override;
  void add(const std::string& name, bool* value, const std::string& help) override;
  void add(const std::string& name, std::string* value, const std::string& help) override;
  void add(const std::string& name, std::string* value, const std::string& help,
           const std::vector<std::string>& choices) override;
  void add(const std::string& name, std::string* value, const std::string& help,
           const TextCheck& check) override;

  // Free text shown with its own metavar in --help ("--gold FILE"), for
  // tools; OptionsItf's text options show "TEXT".
  void add_text(const std::string& name, std::string* value, const std::string& help,
                const std::string& metavar, const TextCheck& check = nullptr);

  // Converts and range-checks every given value and writes its field; fields
  // of options not given keep their defaults. Throws UsageError naming the
  // option on the first bad value.
  void apply(const cxxopts::ParseResult& r) const;

  // The option's name as a user types it: "--hidden", or "-C" for a
  // one-letter name without a long form.
  static std::string display_name(const std::string& name);

 private:
  struct Entry {
    std::string key;      // what ParseResult is indexed by (the long name)
    std::string display;  // "--hidden"
    std::function<void(const std::string& text)> set;  // converts, checks, writes
    bool* flag = nullptr;
  };
  void declare(const std::string& name, const std::string& help, const std::string& metavar,
               const std::string& column, std::function<void(const std::string&)> set,
               bool* flag = nullptr);

  cxxopts::Options& opts_;
  std::string group_;
  std::vector<Entry> entries_;
};

// Text helpers the registry uses, shared with tools that check values
// themselves. All throw UsageError naming `option` ("--top").
long long to_integer(const std::string& text, const std::string& option, long long min,
                     long long max);
std::uint64_t to_unsigned(const std::string& text, const std::string& option, std::uint64_t min,
                          std::uint64_t max);
double to_real(const std::string& text, const std::string& option, double min, double max);
// Shortest decimal form that reads back as the same double ("0.0002", "25").
std::string format_number(double v);
std::string format_number(float v);  // shortest that reads back as the same float

}  // namespace sb::cli

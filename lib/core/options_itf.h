// Kaldi's Register pattern: an options struct describes each of its options
// once (name, help, valid range), and the field's value at registration is
// the default. The struct knows nothing of the command-line parser: lib/cli
// implements this interface over cxxopts for the tools, and a test can
// implement it to list or set the options directly.
//
//   struct TrainOptions {
//     int epochs = 25;
//     void Register(OptionsItf& o) {
//       o.add("epochs", &epochs, "training epochs", 1, 100000);
//     }
//   };
//
// Names are long option names without dashes; "o,output" also gives a
// one-letter alias. After parsing, every registered field holds the given
// value, or its default; a value that does not convert or is out of range
// is a UsageError that names the option.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace sb {

class OptionsItf {
 public:
  virtual ~OptionsItf() = default;

  // Numbers with their valid closed range [min, max].
  virtual void add(const std::string& name, int* value, const std::string& help, long long min,
                   long long max) = 0;
  virtual void add(const std::string& name, long long* value, const std::string& help, long long min,
                   long long max) = 0;
  virtual void add(const std::string& name, std::uint64_t* value, const std::string& help,
                   std::uint64_t min, std::uint64_t max) = 0;
  virtual void add(const std::string& name, double* value, const std::string& help, double min,
                   double max) = 0;
  virtual void add(const std::string& name, float* value, const std::string& help, double min,
                   double max) = 0;
  // A flag: given means true.
  virtual void add(const std::string& name, bool* value, const std::string& help) = 0;
  // Free text ("" default means none).
  virtual void add(const std::string& name, std::string* value, const std::string& help) = 0;
  // One of a fixed set of words.
  virtual void add(const std::string& name, std::string* value, const std::string& help,
                   const std::vector<std::string>& choices) = 0;
  // Text with a grammar of its own ("cuda:1"): `check` throws UsageError for
  // a value it does not take. Declared once here, so that the command line,
  // a checkpoint's recorded options and validate() all apply it.
  using TextCheck = std::function<void(const std::string&)>;
  virtual void add(const std::string& name, std::string* value, const std::string& help,
                   const TextCheck& check) = 0;
};

}  // namespace sb

// The one place that turns a --device word into a Backend. sb-train and
// sb-embed (and anything else that computes) call open_device; the only
// `#if SB_HAVE_CUDA` outside lib/backend/cuda is in device.cc.
//
//   const sb::Device d = sb::parse_device("cuda:1");   // UsageError for junk
//   sb::Backend& be = sb::open_device(d, threads);       // sb::Error: why not
//
// Without a GPU, `--device cuda` is an sb::Error (exit 2) saying why in one
// line: no driver, no device, no kernels for its architecture, or a build
// without CUDA.
#pragma once
#include <string>
#include <string_view>

#include "backend/backend.h"

namespace sb {

struct Device {
  enum class Kind { Cpu, Cuda };
  Kind kind = Kind::Cpu;
  int index = 0;  // cuda:N
  std::string str() const;  // "cpu", "cuda:0"
};

// "cpu", "cuda" (= cuda:0), "cuda:N". Anything else is a UsageError naming
// the option.
Device parse_device(std::string_view word, std::string_view option = "--device");

// The words parse_device takes, for help text.
const char* device_words();

// Sets the CPU thread count (the host side of every device uses it; see
// set_num_threads) and returns the device's backend, created on first use.
// A device that cannot be used is an sb::Error: "--device cuda:1: ...".
Backend& open_device(const Device& d, int threads);

}  // namespace sb

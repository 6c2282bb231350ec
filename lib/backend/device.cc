#include "backend/device.h"

#include <charconv>

#include "core/error.h"
#include "sb_config.h"
#if SB_HAVE_CUDA
#include "backend/cuda/cuda_backend.h"
#endif

namespace sb {

std::string Device::str() const { return kind == Kind::Cpu ? "cpu" : cat("cuda:", index); }

const char* device_words() { return "cpu, cuda, cuda:N"; }

Device parse_device(std::string_view word, std::string_view option) {
  Device d;
  if (word == "cpu") return d;
  if (word == "cuda") {
    d.kind = Device::Kind::Cuda;
    return d;
  }
  if (word.substr(0, 5) == "cuda:" && word.size() > 5) {
    const std::string_view n = word.substr(5);
    int index = -1;
    const auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), index);
    if (ec == std::errc() && end == n.data() + n.size() && index >= 0 && index < 1024) {
      d.kind = Device::Kind::Cuda;
      d.index = index;
      return d;
    }
  }
  usage_fail(option, ": unknown device '", word, "' (", device_words(), ")");
}

Backend& open_device(const Device& d, int threads) {
  set_num_threads(threads);
  if (d.kind == Device::Kind::Cpu) return cpu_backend();
#if SB_HAVE_CUDA
  std::string why;
  if (!cuda_select_device(d.index, &why)) fail("--device ", d.str(), ": ", why);
  return cuda_backend();
#else
  fail("--device ", d.str(), ": this sb was built without CUDA (nvcc, cudart or cuBLAS was not found, "
       "or -Dcuda=disabled); --version says what this build has");
#endif
}

}  // namespace sb

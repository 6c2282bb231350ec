#include "audio/resample.h"

#include <cmath>

#include "core/error.h"
#include "sb_config.h"

#if SB_HAVE_SOXR
#include <soxr.h>
#endif

namespace sb {

std::int64_t resampled_length(std::int64_t n, double in_rate, double out_rate) {
  return static_cast<std::int64_t>(std::floor(static_cast<double>(n) * out_rate / in_rate + 0.5));
}

#if SB_HAVE_SOXR

bool resampling_available() { return true; }

struct Resampler::Impl {
  soxr_t soxr = nullptr;
  double ratio = 1;
  double in_rate = 1, out_rate = 1;
  std::int64_t in_total = 0;
  std::int64_t out_total = 0;
  ~Impl() {
    if (soxr) soxr_delete(soxr);
  }
  // Runs soxr until it has consumed all of x (x == nullptr: flush) and
  // appends what it produced.
  void run(const float* x, std::size_t n, std::vector<float>& out) {
    for (;;) {
      std::size_t room = static_cast<std::size_t>(static_cast<double>(n) * ratio) + 1024;
      std::size_t at = out.size();
      out.resize(at + room);
      std::size_t idone = 0, odone = 0;
      soxr_error_t e = soxr_process(soxr, x, n, &idone, out.data() + at, room, &odone);
      if (e) fail("resampling failed: ", e);
      out.resize(at + odone);
      out_total += static_cast<std::int64_t>(odone);
      if (x) {
        x += idone;
        n -= idone;
        if (n == 0) return;
      } else if (odone == 0) {
        return;
      }
    }
  }
};

Resampler::Resampler(double in_rate, double out_rate) : impl_(std::make_unique<Impl>()) {
  if (!(in_rate > 0) || !(out_rate > 0)) fail("resampling: invalid rates ", in_rate, " -> ", out_rate);
  impl_->ratio = out_rate / in_rate;
  impl_->in_rate = in_rate;
  impl_->out_rate = out_rate;
  soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
  soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
  // One thread: sb parallelises over utterances (-j), and a fixed thread
  // count keeps the output identical from run to run.
  soxr_runtime_spec_t rt = soxr_runtime_spec(1);
  soxr_error_t e = nullptr;
  impl_->soxr = soxr_create(in_rate, out_rate, 1, &e, &io, &q, &rt);
  if (e || !impl_->soxr) fail("resampling: cannot set up libsoxr: ", e ? e : "unknown error");
}

Resampler::~Resampler() = default;

void Resampler::process(const float* x, std::size_t n, std::vector<float>& out) {
  if (n == 0) return;
  impl_->in_total += static_cast<std::int64_t>(n);
  impl_->run(x, n, out);
}

void Resampler::finish(std::vector<float>& out) {
  std::size_t before = out.size();
  impl_->run(nullptr, 0, out);
  std::int64_t want = resampled_length(impl_->in_total, impl_->in_rate, impl_->out_rate);
  std::int64_t have = impl_->out_total;
  if (have > want) {
    std::int64_t cut = std::min<std::int64_t>(have - want, static_cast<std::int64_t>(out.size() - before));
    out.resize(out.size() - static_cast<std::size_t>(cut));
    impl_->out_total -= cut;
    if (impl_->out_total > want)
      fail("resampling: libsoxr produced more samples than expected before the end");
  } else if (have < want) {
    out.resize(out.size() + static_cast<std::size_t>(want - have), 0.0f);
    impl_->out_total = want;
  }
}

#else  // !SB_HAVE_SOXR

bool resampling_available() { return false; }
struct Resampler::Impl {};
Resampler::Resampler(double, double) { fail("resampling needs libsoxr; this sb was built without it"); }
Resampler::~Resampler() = default;
void Resampler::process(const float*, std::size_t, std::vector<float>&) {}
void Resampler::finish(std::vector<float>&) {}

#endif

std::vector<float> resample(const float* x, std::size_t n, double in_rate, double out_rate) {
  Resampler r(in_rate, out_rate);
  std::vector<float> out;
  out.reserve(static_cast<std::size_t>(resampled_length(static_cast<std::int64_t>(n), in_rate, out_rate)) + 16);
  r.process(x, n, out);
  r.finish(out);
  return out;
}

}  // namespace sb

// Archive throughput on one core: writes and reads f32 records shaped like
// MFCC matrices (300 x 13, smooth in time as real features are), and can
// emit a large archive on stdout for the streaming-memory check.
//   sbt_bench [MB]            time write + read of MB of payload (default 512)
//   sbt_bench --emit MB       write MB of records to stdout
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "io/archive.h"

namespace {

std::vector<float> feature_block(unsigned seed) {
  // 300 frames x 13 coefficients of a random walk: compresses about as well
  // (or as badly) as real MFCCs do.
  std::vector<float> v(300 * 13);
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 0.3f);
  float state[13] = {0};
  for (int t = 0; t < 300; ++t)
    for (int c = 0; c < 13; ++c) v[t * 13 + c] = (state[c] += nd(rng)) * (c == 0 ? 10.0f : 1.0f);
  return v;
}

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

int main(int argc, char** argv) {
  const bool emit = argc > 1 && std::strcmp(argv[1], "--emit") == 0;
  const double mb = argc > 1 ? std::atof(argv[emit ? 2 : 1]) : 512.0;
  std::vector<std::vector<float>> blocks;
  for (unsigned s = 0; s < 16; ++s) blocks.push_back(feature_block(s));
  const std::size_t rec_bytes = blocks[0].size() * 4;
  const std::size_t n = static_cast<std::size_t>(mb * 1e6 / rec_bytes);
  if (emit) {
    sb::ArchiveWriter w("-", {.force_terminal = false});
    for (std::size_t i = 0; i < n; ++i)
      w.write_f32("utt" + std::to_string(i), {300, 13}, blocks[i % 16].data());
    w.close();
    return 0;
  }
  const std::string path = "/tmp/sbt_bench." + std::to_string(getpid()) + ".sbt";
  for (int level : {sb::kDefaultZstdLevel, 3}) {
    double t0 = now();
    {
      sb::ArchiveWriter w(path, {.level = level});
      for (std::size_t i = 0; i < n; ++i)
        w.write_f32("utt" + std::to_string(i), {300, 13}, blocks[i % 16].data());
      w.close();
    }
    const double tw = now() - t0;
    FILE* f = std::fopen(path.c_str(), "rb");
    std::fseek(f, 0, SEEK_END);
    const double disk = static_cast<double>(std::ftell(f));
    std::fclose(f);
    t0 = now();
    std::size_t got = 0;
    double checksum = 0;
    {
      sb::ArchiveReader r(path);
      sb::Record rec;
      while (r.next(rec)) {
        ++got;
        checksum += rec.tensor.f32()[0];
      }
    }
    const double tr = now() - t0;
    const double payload = static_cast<double>(n * rec_bytes) / 1e6;
    std::printf("sbt zstd level %d: %zu records, %.0f MB payload, ratio %.2f: write %.0f MB/s, read %.0f MB/s%s\n",
                level, got, payload, payload * 1e6 / disk, payload / tw, payload / tr,
                level == sb::kDefaultZstdLevel ? " (default level)" : "");
    (void)checksum;
  }
  std::remove(path.c_str());
  return 0;
}

// libFuzzer target: the text-table readers, each through the library
// function a tool calls: read_table / read_table_map / read_key_list
// (utt2spk, keys lists, sb-rsa labels), read_wav_scp (wav.scp),
// read_gold_table (utt2img as sb-rank reads it), DataDir's text and utt2img
// (sb-train) and read_ctm (sb-probe). The first byte chooses the reader; the
// rest is the file. Any input must end in entries or an sb::Error.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "audio/inputs.h"
#include "core/error.h"
#include "eval/probe.h"
#include "eval/retrieval.h"
#include "fuzz_input.h"
#include "io/table.h"
#include "train/data.h"

namespace {

// DataDir reads "<dir>/text" and "<dir>/utt2img": a directory under /tmp
// whose two entries are links to the memfd, removed at exit.
char data_dir[] = "/tmp/sb-fuzz-table.XXXXXX";

void remove_data_dir() {
  for (const char* name : {"/text", "/utt2img"}) unlink((std::string(data_dir) + name).c_str());
  rmdir(data_dir);
}

std::string make_data_dir(const std::string& target) {
  static const bool made = [&] {
    if (!mkdtemp(data_dir)) return false;
    std::atexit(remove_data_dir);
    for (const char* name : {"/text", "/utt2img"})
      if (symlink(target.c_str(), (std::string(data_dir) + name).c_str()) != 0) return false;
    return true;
  }();
  return made ? data_dir : "";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static sb::fuzz::MemFile file("table-fuzz");
  if (size == 0) return 0;
  const std::string path = file.hold(data + 1, size - 1);
  if (path.empty()) return 0;
  try {
    switch (data[0] % 8) {
      case 0: sb::read_table(path); break;
      case 1: sb::read_table(path, /*allow_empty_value=*/true); break;
      case 2: sb::read_table_map(path); break;
      case 3: sb::read_key_list(path); break;
      case 4: sb::read_wav_scp(path); break;
      case 5: sb::eval::read_gold_table(path); break;
      case 6: {
        const std::string dir = make_data_dir(path);
        if (dir.empty()) return 0;
        sb::train::DataDir d(dir);  // a new one each run: it reads once
        if (data[0] & 8) d.text(); else d.utt2img();
        break;
      }
      case 7: sb::eval::read_ctm(path); break;
    }
  } catch (const sb::Error& e) {
    sb::fuzz::report(e);
  }
  return 0;
}

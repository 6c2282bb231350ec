// sb-tensor: inspect and convert .sbt archives (Kaldi's copy-feats and
// feat-to-dim, SPTK's x2x, for sb's one format).
#include <cinttypes>
#include <climits>
#include <cstdio>
#include <iostream>
#include <unordered_set>

#include "cli/cli.h"
#include "cli/options.h"
#include "core/error.h"
#include "core/strings.h"
#include "io/archive.h"
#include "io/kaldi.h"
#include "io/npy.h"
#include "io/quantize.h"
#include "io/table.h"

namespace {

using namespace sb;

const char* kCommands =
    "Commands:\n"
    "  info     [ARCHIVE...]          per record: key, dtype, shape, min, max, mean; then totals\n"
    "  keys     [ARCHIVE...]          one key a line\n"
    "  cat      [ARCHIVE...]          text dump (a record's last dimension on one line)\n"
    "  head     [-n N] [ARCHIVE...]   the first N records (default 10)\n"
    "  select   -k KEYS [ARCHIVE...]  records whose key is listed in KEYS (one per line), in archive order\n"
    "  merge    ARCHIVE... -o OUT     all records of all archives; duplicate keys are an error\n"
    "  split    -n N ARCHIVE PREFIX   N contiguous parts PREFIX1.sbt .. PREFIXN.sbt\n"
    "  from-npy FILE.npy|FILE.npz...  .npy (key: base name, or --key) and .npz members to an archive\n"
    "  to-npy   [ARCHIVE]             one record -> .npy; several -> .npz (-o FILE, default stdout)\n"
    "  from-kaldi RSPECIFIER          a Kaldi table (ark:FILE, ark:-, scp:FILE; FM DM FV DV CM CM2 CM3, text)\n"
    "  to-kaldi ARCHIVE WSPECIFIER    to a Kaldi table (ark:FILE, ark:-, ark,t:FILE, ark,scp:A.ark,A.scp)\n"
    "  quantize --to f16|int8 MODEL   a smaller model: f32 records as f16, or weight matrices as\n"
    "                                 int8 with per-row scales (biases stay f32); see sbt(5)\n"
    "\n"
    "info, keys, cat, head, select, merge, split, from-kaldi and to-kaldi stream record by\n"
    "record. to-npy holds every record it writes in memory, and from-npy reads a whole\n"
    ".npz before writing; quantize holds the model.\n"
    "ARCHIVE '-' or none means standard input; binary output goes to standard output unless -o.\n"
    "Binary output to a terminal is refused unless --force.\n"
    "\n"
    "Examples:\n"
    "  sb-tensor info feats.sbt\n"
    "  sb-mfcc --scp wav.scp | sb-tensor head -n 2 | sb-tensor cat\n"
    "  sb-tensor select -k val.list feats.sbt > val-feats.sbt\n"
    "  sb-tensor to-npy -o emb.npz emb.sbt      # numpy.load('emb.npz')\n"
    "  sb-tensor from-npy x.npy > x.sbt\n"
    "  sb-tensor to-kaldi feats.sbt ark,scp:feats.ark,feats.scp && sb-tensor from-kaldi scp:feats.scp | sb-tensor info\n"
    "  sb-tensor quantize --to int8 model.sbt -o model.int8.sbt\n"
    "\n"
    "See also: sbt(5), sb(7), sb-mfcc(1)\n";

std::vector<std::string> inputs_or_stdin(const cxxopts::ParseResult& r) {
  // Taken as typed, not from the vector cxxopts builds: that one splits each
  // argument at commas, and Kaldi's specifiers (ark,scp:a.ark,a.scp) and
  // file names may hold commas.
  std::vector<std::string> in;
  for (const auto& kv : r.arguments())
    if (kv.key() == "inputs") in.push_back(kv.value());
  if (in.empty()) in.push_back("-");
  return in;
}

// Calls f(record) for every record of every input, streaming.
template <class F>
void for_each_record(const std::vector<std::string>& inputs, F&& f) {
  Record rec;
  for (const auto& path : inputs) {
    ArchiveReader in(path);
    while (in.next(rec))
      if (!f(rec)) return;
  }
}

// The options every command shares (each uses the ones it needs).
struct TensorFlags {
  std::string output = "-", keys, key, text_dtype = "f32", compress = "none", to;
  long long count = 10;
  int precision = 7;
  int level = kDefaultZstdLevel;
  bool force = false;
};

WriterOptions writer_options(const TensorFlags& f) {
  WriterOptions o;
  o.force_terminal = f.force;
  o.level = f.level;
  return o;
}

std::string base_key(const std::string& path, const std::string& ext) {
  std::string b = path.substr(path.find_last_of('/') + 1);
  if (b.size() > ext.size() && b.compare(b.size() - ext.size(), ext.size(), ext) == 0) b.resize(b.size() - ext.size());
  return b;
}

void print_values(const Tensor& t, int precision) {
  if (t.dtype() == DType::Text) {
    std::cout << t.as_text() << '\n';
    return;
  }
  // Converted in pieces, so memory stays near the record's own size.
  const std::size_t row = t.rank() == 0 ? 1 : static_cast<std::size_t>(t.dim(t.rank() - 1));
  std::vector<float> v(std::min<std::size_t>(t.numel(), 1 << 16));
  char buf[64];
  for (std::size_t at = 0; at < t.numel(); at += v.size()) {
    const std::size_t n = std::min(v.size(), t.numel() - at);
    t.to_f32(at, n, v.data());
    for (std::size_t i = 0; i < n; ++i) {
      std::snprintf(buf, sizeof buf, "%.*g", precision, static_cast<double>(v[i]));
      std::cout << buf << ((row == 0 || (at + i + 1) % row == 0) ? '\n' : ' ');
    }
  }
}

int tensor_main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "-h" || std::string(argv[1]) == "--help" ||
      std::string(argv[1]) == "--version") {
    auto opts = cli::make_options("inspect and convert .sbt archives", "COMMAND [OPTIONS] [ARGS...]");
    if (argc < 2) usage_fail("missing COMMAND (info, keys, cat, head, select, merge, split, from-npy, to-npy, from-kaldi, to-kaldi, quantize)");
    cli::parse(opts, argc, argv, std::string("\n") + kCommands);
    return 0;
  }
  const std::string cmd = argv[1];
  auto opts = cli::make_options(cmd + ": see 'sb-tensor --help'", "[ARGS...]");
  TensorFlags f;
  cli::OptionRegistry reg(opts, "");
  reg.add_text("o,output", &f.output, "output file (default standard output)", "FILE");
  reg.add("n,count", &f.count, "head: records (default 10); split: parts", 0, LLONG_MAX);
  reg.add_text("k,keys", &f.keys, "select: file of keys, one per line ('-' = stdin)", "FILE");
  reg.add_text("key", &f.key, "from-npy: record key for a single .npy; to-npy: the record to write", "KEY");
  reg.add("to", &f.to, "quantize: the stored type", {"f16", "int8"});
  reg.add("p,precision", &f.precision, "cat: significant digits", 1, 17);
  reg.add("level", &f.level, "zstd level for written archives", 1, 19);
  reg.add("dtype", &f.text_dtype, "from-kaldi: dtype of text objects (binary ones keep theirs)", {"f32", "f64"});
  reg.add("compress", &f.compress, "to-kaldi: Kaldi's compressed matrices (auto: CM above 8 rows, else CM2)",
          {"none", "auto", "cm", "cm2", "cm3"});
  reg.add("f,force", &f.force, "write binary data even to a terminal");
  opts.add_options(cli::kPositional)("inputs", "inputs", cxxopts::value<std::vector<std::string>>());
  opts.parse_positional({"inputs"});
  auto r = cli::parse(opts, argc - 1, argv + 1, std::string("\n") + kCommands);
  reg.apply(r);
  std::vector<std::string> in = inputs_or_stdin(r);
  const std::string& out = f.output;

  if (cmd == "info") {
    std::uint64_t n = 0, elements = 0, bytes = 0;
    std::cout << "key\tdtype\tshape\tmin\tmax\tmean\n";
    for_each_record(in, [&](const Record& rec) {
      ++n;
      elements += rec.tensor.numel();
      bytes += rec.tensor.nbytes();
      std::cout << rec.key << '\t' << dtype_name(rec.tensor.dtype()) << '\t'
                << (rec.tensor.rank() ? rec.tensor.shape_string() : "scalar");
      if (rec.tensor.dtype() == DType::Text) {
        std::cout << "\t-\t-\t-";
      } else {
        const TensorStats s = tensor_stats(rec.tensor);
        if (s.finite) std::cout << '\t' << s.min << '\t' << s.max << '\t' << s.mean;
        else std::cout << "\t-\t-\t-";
        if (s.nan || s.inf) std::cout << "\t(" << s.nan << " NaN, " << s.inf << " Inf)";
      }
      std::cout << '\n';
      return true;
    });
    std::cout << "# " << n << " records, " << elements << " elements, " << bytes << " bytes of data\n";
  } else if (cmd == "keys") {
    for_each_record(in, [&](const Record& rec) { std::cout << rec.key << '\n'; return true; });
  } else if (cmd == "cat") {
    const int prec = f.precision;
    for_each_record(in, [&](const Record& rec) {
      std::cout << rec.key << ' ' << dtype_name(rec.tensor.dtype()) << ' '
                << (rec.tensor.rank() ? rec.tensor.shape_string() : "scalar") << '\n';
      print_values(rec.tensor, prec);
      return true;
    });
  } else if (cmd == "head" || cmd == "select" || cmd == "merge") {
    long long limit = -1;
    std::unordered_set<std::string> wanted, seen;
    if (cmd == "head") {
      limit = f.count;
    }
    if (cmd == "select") {
      if (!r.count("keys")) usage_fail("select needs -k KEYS");
      for (auto& k : read_key_list(f.keys)) wanted.insert(std::move(k));
    }
    if (cmd == "merge" && !r.count("inputs")) usage_fail("merge needs at least one ARCHIVE");
    ArchiveWriter w(out, writer_options(f));
    long long written = 0;
    if (limit != 0) {
      for_each_record(in, [&](const Record& rec) {
        if (cmd == "select" && !wanted.count(rec.key)) return true;
        if (cmd == "merge" && !seen.insert(rec.key).second) fail("duplicate key '", rec.key, "' in the inputs of merge");
        w.write(rec.key, rec.tensor);
        return ++written != limit;
      });
    }
    w.close();
  } else if (cmd == "split") {
    if (in.size() != 2 || in[0] == "-") usage_fail("split needs -n N ARCHIVE PREFIX (ARCHIVE must be a file)");
    const long long parts = r.count("count") ? f.count : 0;
    if (parts < 1) usage_fail("split needs -n N with N >= 1");
    std::uint64_t total = 0;
    for_each_record({in[0]}, [&](const Record&) { ++total; return true; });
    ArchiveReader rd(in[0]);
    Record rec;
    for (long long p = 0; p < parts; ++p) {
      // Parts differ in size by at most one record, the larger ones first.
      const std::uint64_t size = total / parts + (static_cast<std::uint64_t>(p) < total % parts ? 1 : 0);
      WriterOptions o = writer_options(f);
      ArchiveWriter w(in[1] + std::to_string(p + 1) + ".sbt", o);
      for (std::uint64_t i = 0; i < size; ++i) {
        if (!rd.next(rec)) fail(in[0], ": changed while being split");
        w.write(rec.key, rec.tensor);
      }
      w.close();
    }
  } else if (cmd == "from-npy") {
    if (!r.count("inputs")) usage_fail("from-npy needs FILE.npy or FILE.npz");
    if (r.count("key") && in.size() != 1) usage_fail("--key needs exactly one input");
    ArchiveWriter w(out, writer_options(f));
    for (const auto& path : in) {
      const bool npz = path.size() > 4 && path.compare(path.size() - 4, 4, ".npz") == 0;
      if (npz) {
        for (const Record& rec : read_npz(path)) w.write(rec.key, rec.tensor);
      } else {
        const std::string key = r.count("key") ? f.key : base_key(path, ".npy");
        if (path == "-" && !r.count("key")) usage_fail("from-npy from standard input needs --key");
        w.write(key, read_npy(path));
      }
    }
    w.close();
  } else if (cmd == "to-npy") {
    if (in.size() != 1) usage_fail("to-npy takes one ARCHIVE");
    std::vector<Record> recs;
    for_each_record(in, [&](Record& rec) {
      if (r.count("key") && rec.key != f.key) return true;
      recs.push_back(std::move(rec));
      return true;
    });
    const bool want_npz = out.size() > 4 && out.compare(out.size() - 4, 4, ".npz") == 0;
    if (out == "-" && !f.force && isatty(1))
      fail("refusing to write binary data to a terminal (redirect it, use -o FILE, or --force)");
    if (recs.empty()) fail(r.count("key") ? "no record with key '" + f.key + "'" : "no records in the input");
    if (want_npz || recs.size() > 1) {
      if (!want_npz && out != "-" ) usage_fail(out, ": several records need a .npz output (or --key)");
      write_npz(out, recs);
    } else {
      write_npy(out, recs[0].tensor);
    }
  } else if (cmd == "from-kaldi") {
    if (!r.count("inputs") || in.size() != 1) usage_fail("from-kaldi takes one RSPECIFIER (ark:FILE, ark:-, scp:FILE)");
    KaldiReadOptions ko;
    dtype_from_name(f.text_dtype, ko.text_dtype);
    KaldiTableReader kaldi(in[0], ko);  // a bad specifier fails before an output exists
    ArchiveWriter w(out, writer_options(f));
    Record rec;
    while (kaldi.next(rec)) w.write(rec.key, rec.tensor);
    w.close();
  } else if (cmd == "to-kaldi") {
    if (in.size() != 2) usage_fail("to-kaldi takes ARCHIVE WSPECIFIER (ARCHIVE '-' is standard input)");
    if (r.count("output")) usage_fail("to-kaldi writes where its WSPECIFIER says, not to -o");
    KaldiWriteOptions ko;
    kaldi_compression_from_name(f.compress, ko.compress);
    ko.force_terminal = f.force;
    KaldiTableWriter kaldi(in[1], ko);
    for_each_record({in[0]}, [&](const Record& rec) { kaldi.write(rec.key, rec.tensor); return true; });
    kaldi.close();
  } else if (cmd == "quantize") {
    if (f.to.empty()) usage_fail("quantize needs --to f16 or --to int8");
    if (in.size() != 1) usage_fail("quantize takes one MODEL");
    const std::string name = in[0] == "-" ? "stdin" : in[0];
    const auto q = quantize_records(read_archive(in[0]), f.to == "f16" ? Quantization::F16 : Quantization::Int8, name);
    ArchiveWriter w(out, writer_options(f));
    for (const Record& rec : q) w.write(rec.key, rec.tensor);
    w.close();
  } else {
    usage_fail("unknown command '", cmd, "' (info, keys, cat, head, select, merge, split, from-npy, to-npy, from-kaldi, to-kaldi, quantize)");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return sb::cli::run_tool("sb-tensor", argc, argv, tensor_main); }

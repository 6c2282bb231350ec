// sb-import: a corpus as distributed -> Kaldi-style data directories, one
// subcommand per corpus (flickr8k, librispeech, asterisk). The parsing,
// the anomaly rule and the writing are in lib/import.
#include <cstring>
#include <iostream>

#include "cli/cli.h"
#include "cli/options.h"
#include "core/error.h"
#include "import/import.h"

namespace {

using namespace sb;

const char* kOverview =
    "sb-import: a corpus as distributed -> data directories\n"
    "\n"
    "Usage:\n"
    "  sb-import flickr8k [OPTION...] ROOT OUTDIR     Flickr8K Audio Captions -> OUTDIR/{train,val,test}\n"
    "  sb-import librispeech [OPTION...] ROOT OUTDIR  LibriSpeech -> OUTDIR/{train,heldout}\n"
    "  sb-import asterisk [OPTION...] ROOT OUTDIR     Debian's asterisk prompts -> OUTDIR/{train,heldout}\n"
    "  sb-import SUBCOMMAND --help                    its options\n"
    "\n"
    "Items that do not fit (a caption without audio, a wav listed twice, ...) are\n"
    "skipped and reported by name on stderr; --strict makes them errors. Structural\n"
    "problems (a missing file, a line that does not parse) are errors (exit 2).\n"
    "\n"
    "Examples:\n"
    "  sb-import librispeech --case lower /data/LibriSpeech data/libri\n"
    "  sb-import asterisk /usr/share/asterisk/sounds/en data/asterisk\n"
    "\n"
    "See also: sb-mfcc(1), sb-train(1), sb(7)\n";

const char* kFlickrEpilog =
    "\n"
    "ROOT holds flickr_audio/wavs/*.wav, flickr_audio/wav2capt.txt, flickr_audio/wav2spk.txt,\n"
    "dataset_flickr8k.json (Karpathy's splits) and vgg_feats.mat (NeuralTalk: 'feats',\n"
    "4096 x N, column i = the json's image i). Writes OUTDIR/{train,val,test}/ with\n"
    "wav.scp, text (the 'raw' sentence #n), utt2spk, utt2img, images.sbt. Utterance\n"
    "keys are the wav names without .wav; image keys the file names without .jpg.\n"
    "restval images go to train (--restval skip leaves them out).\n"
    "\n"
    "Examples:\n"
    "  sb-import flickr8k /data/flickr8k data/flickr8k\n"
    "  sb-import flickr8k --features feats.npy --feature-names images.txt /data/flickr8k data/f8k\n"
    "\n"
    "See also: sb-mfcc(1), sb-train(1)\n";

const char* kLibriEpilog =
    "\n"
    "ROOT holds <subset>/<speaker>/<chapter>/<speaker>-<chapter>-<n>.flac with\n"
    "<speaker>-<chapter>.trans.txt (any depth below ROOT). Writes OUTDIR/train/ (for\n"
    "sb-train --st) and OUTDIR/heldout/ (--heldout utterances, drawn with --seed) with\n"
    "wav.scp, text, utt2spk.\n"
    "\n"
    "Examples:\n"
    "  sb-import librispeech --case lower /data/LibriSpeech data/libri\n"
    "\n"
    "See also: sb-train(1)\n";

const char* kAsteriskEpilog =
    "\n"
    "ROOT is the prompt directory of asterisk-core-sounds-en-wav\n"
    "(/usr/share/asterisk/sounds/en); the transcripts are asterisk-core-sounds-en's\n"
    "core-sounds-en.txt(.gz). Writes OUTDIR/{train,heldout}/ with wav.scp, text,\n"
    "utt2spk ('digits/1' becomes the key digits-1; the one speaker is 'allison').\n"
    "\n"
    "Examples:\n"
    "  sb-import asterisk /usr/share/asterisk/sounds/en data/asterisk\n"
    "\n"
    "See also: sb-train(1)\n";

int import_main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    if (argc < 2) {
      std::cerr << kOverview;
      return cli::kExitUsage;
    }
    std::cout << kOverview;
    return cli::kExitOk;
  }
  const std::string corpus = argv[1];
  if (corpus == "--version") {
    std::cout << cli::version_text();
    return cli::kExitOk;
  }
  if (corpus != "flickr8k" && corpus != "librispeech" && corpus != "asterisk")
    usage_fail("unknown corpus '", corpus, "' (flickr8k, librispeech, asterisk)");

  import::ImportOptions opt;
  std::string case_name = "keep";
  bool quiet = false;
  auto opts = cli::make_options("import the " + corpus + " corpus as data directories", corpus + " ROOT OUTDIR");
  cli::OptionRegistry reg(opts, "");
  reg.add("case", &case_name, "case of the transcripts written to text", {"keep", "lower", "upper"});
  reg.add("strict", &opt.strict, "every skipped item is an error (exit 2)");
  reg.add("force", &opt.force, "replace split directories that already hold a wav.scp");
  reg.add("q,quiet", &quiet, "no summary on stderr (anomalies are still reported)");
  const char* epilog = kFlickrEpilog;
  if (corpus == "flickr8k") {
    reg.add_text("features", &opt.features_npy, "N x D .npy of image features, instead of ROOT/vgg_feats.mat", "FILE");
    reg.add_text("feature-names", &opt.feature_names, "the image of each --features row, one name a line", "LIST");
    reg.add_text("mat", &opt.mat_file, "NeuralTalk's features (default ROOT/vgg_feats.mat)", "FILE");
    reg.add("restval", &opt.restval, "where Karpathy's restval images go", {"train", "skip"});
  } else {
    long long heldout = corpus == "asterisk" ? 60 : 1000;
    opt.heldout = heldout;
    reg.add("heldout", &opt.heldout, "utterances held out in OUTDIR/heldout (0 = none)", 0, 100000000);
    reg.add("seed", &opt.seed, "seed of the held-out draw", 0, UINT64_MAX);
    if (corpus == "asterisk") {
      reg.add_text("transcripts", &opt.transcripts,
                   "core-sounds-en.txt(.gz) (default ROOT/core-sounds-en.txt, else Debian's in /usr/share/doc)",
                   "FILE");
      epilog = kAsteriskEpilog;
    } else {
      epilog = kLibriEpilog;
    }
  }
  opts.add_options(cli::kPositional)("args", "", cxxopts::value<std::vector<std::string>>());
  opts.parse_positional({"args"});
  const auto r = cli::parse(opts, argc - 1, argv + 1, epilog);
  reg.apply(r);
  const auto args = r.count("args") ? r["args"].as<std::vector<std::string>>() : std::vector<std::string>{};
  if (args.size() != 2) usage_fail("sb-import ", corpus, " takes ROOT and OUTDIR (got ", args.size(), " arguments)");
  opt.case_mode = import::case_mode_from_name(case_name);

  import::ImportResult res = corpus == "flickr8k"      ? import::import_flickr8k(args[0], opt)
                             : corpus == "librispeech" ? import::import_librispeech(args[0], opt)
                                                       : import::import_asterisk(args[0], opt);
  for (const auto& line : res.report.lines()) cli::warn(line);
  import::write_data_dirs(args[1], res.splits, opt.force);
  if (!quiet) {
    std::string s = corpus + ": ";
    for (std::size_t i = 0; i < res.splits.size(); ++i) {
      const auto& sp = res.splits[i];
      s += cat(i ? "; " : "", sp.name, " ", sp.utts.size(), " utterances");
      if (!sp.image_keys.empty()) s += cat(", ", sp.image_keys.size(), " images");
    }
    s += cat("; ", res.report.total(), " items skipped");
    cli::info(s);
  }
  return cli::kExitOk;
}

}  // namespace

int main(int argc, char** argv) { return sb::cli::run_tool("sb-import", argc, argv, import_main); }

// sb-corpus: generate the grounded spoken-caption corpus of samples/ —
// scenes as 4096-d image vectors, five captions per image spoken by
// espeak-ng speakers, phone alignments, and a disjoint speech/text set —
// as Kaldi-style data directories. The work is in lib/corpus.
#include <algorithm>
#include <cstdint>
#include <thread>

#include "cli/cli.h"
#include "cli/options.h"
#include "core/error.h"
#include "core/strings.h"
#include "corpus/corpus.h"

namespace {

using namespace sb;

const char* kEpilog =
    "\n"
    "Writes OUTDIR/{train,val,test,st-disjoint}/ with wav.scp (absolute paths),\n"
    "wav/*.wav (16 kHz 16-bit mono), text, utt2spk, spk2utt, ali.ctm (phones,\n"
    "'utt 1 start dur phone'), and for the image splits utt2img, images.sbt\n"
    "(4096-d f32 vectors) and img2scene, and for val/test utt-images.sbt (each\n"
    "utterance's image vector, keyed by utterance); OUTDIR/speakers lists the voices.\n"
    "The same options give byte-identical files, whatever -j.\n"
    "\n"
    "Sizes (images train/val/test, st-disjoint utterances, speakers):\n"
    "  tiny      40/24/16 x 5 captions,    60 st, 12 speakers (CI, seconds)\n"
    "  small    800/100/100 x 5 captions, 1000 st, 40 speakers (the demo)\n"
    "  flickr8k 6000/1000/1000 x 5,       8000 st, 104 speakers\n"
    "\n"
    "Examples:\n"
    "  sb-corpus --size tiny -o data/tiny\n"
    "  sb-corpus --size small --seed 7 -j 2 -o samples/data/small\n"
    "  sb-mfcc --scp data/tiny/train/wav.scp > data/tiny/train/feats.sbt\n"
    "\n"
    "See also: sb-mfcc(1), sb-train(1), sb(7)\n";

int corpus_main(int argc, char** argv) {
  corpus::CorpusOptions opt;
  std::string output, size = "tiny";
  bool no_speech = false, quiet = false;
  auto opts = cli::make_options("generate a grounded spoken-caption corpus with espeak-ng");
  cli::OptionRegistry reg(opts, "");
  reg.add_text("o,output", &output, "output directory (required)", "DIR");
  reg.add("size", &size, "corpus size preset", {"tiny", "small", "flickr8k"});
  opt.jobs = 0;  // the tool's default: all cores
  opt.Register(reg);
  // Counts that override the --size preset's: no default of their own.
  opts.add_options()
      ("train", "training images (int, >= 0; default: the size's)", cxxopts::value<std::string>(), "N")
      ("val", "validation images (int, >= 0; default: the size's)", cxxopts::value<std::string>(), "N")
      ("test", "test images (int, >= 0; default: the size's)", cxxopts::value<std::string>(), "N")
      ("st", "st-disjoint utterances (int, >= 0; default: the size's)", cxxopts::value<std::string>(), "N")
      ("speakers", "caption speakers (int, >= 1; default: the size's)", cxxopts::value<std::string>(), "N")
      ("st-speakers", "st-disjoint speakers (int, >= 1; default: the size's)", cxxopts::value<std::string>(), "N");
  reg.add("no-speech", &no_speech, "write tables and image vectors only (no audio, wav.scp, ali.ctm)");
  reg.add("q,quiet", &quiet, "no progress on stderr");
  const auto r = cli::parse(opts, argc, argv, kEpilog);
  reg.apply(r);
  if (output.empty()) usage_fail("-o OUTDIR is required");
  if (!r.unmatched().empty()) usage_fail("unexpected argument '", r.unmatched().front(), "'");

  opt.size = corpus::size_preset(size);
  auto override_count = [&](const char* name, int& field, int min) {
    if (r.count(name))
      field = static_cast<int>(cli::to_integer(r[name].as<std::string>(), cat("--", name), min, 10000000));
  };
  override_count("train", opt.size.train, 0);
  override_count("val", opt.size.val, 0);
  override_count("test", opt.size.test, 0);
  override_count("st", opt.size.disjoint, 0);
  override_count("speakers", opt.size.speakers, 1);
  override_count("st-speakers", opt.size.disjoint_speakers, 1);
  if (opt.jobs == 0) opt.jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  opt.speech = !no_speech;

  corpus::generate_corpus(opt, output,
                          [&](const std::string& line) { if (!quiet) cli::info(line); });
  return cli::kExitOk;
}

}  // namespace

int main(int argc, char** argv) { return sb::cli::run_tool("sb-corpus", argc, argv, corpus_main); }

// sb-corpus: generate the grounded spoken-caption corpus of samples/ —
// scenes as 4096-d image vectors, five captions per image spoken by
// espeak-ng speakers, phone alignments, and a disjoint speech/text set —
// as Kaldi-style data directories. The work is in lib/corpus.
#include <thread>

#include "cli/cli.h"
#include "core/error.h"
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
  auto opts = cli::make_options("generate a grounded spoken-caption corpus with espeak-ng");
  opts.add_options()
      ("o,output", "output directory (required)", cxxopts::value<std::string>())
      ("size", "tiny | small | flickr8k", cxxopts::value<std::string>()->default_value("tiny"))
      ("seed", "corpus seed (scenes, captions, speakers, jitter)", cxxopts::value<unsigned long long>()->default_value("1"))
      ("map-seed", "seed of the fixed image map (the simulated image encoder)",
       cxxopts::value<unsigned long long>()->default_value("2019"))
      ("j,jobs", "synthesis processes (0 = all cores)", cxxopts::value<int>()->default_value("0"))
      ("train", "training images (overrides the size)", cxxopts::value<int>())
      ("val", "validation images", cxxopts::value<int>())
      ("test", "test images", cxxopts::value<int>())
      ("st", "st-disjoint utterances", cxxopts::value<int>())
      ("speakers", "caption speakers", cxxopts::value<int>())
      ("st-speakers", "st-disjoint speakers", cxxopts::value<int>())
      ("captions", "captions per image (1..99)", cxxopts::value<int>()->default_value("5"))
      ("no-speech", "write tables and image vectors only (no audio, wav.scp, ali.ctm)")
      ("force", "replace existing split directories")
      ("q,quiet", "no progress on stderr");
  const auto r = cli::parse(opts, argc, argv, kEpilog);
  if (!r.count("output")) usage_fail("-o OUTDIR is required");
  if (!r.unmatched().empty()) usage_fail("unexpected argument '", r.unmatched().front(), "'");

  corpus::CorpusOptions opt;
  opt.size = corpus::size_preset(r["size"].as<std::string>());
  auto override_count = [&](const char* name, int& field, int min) {
    if (!r.count(name)) return;
    field = r[name].as<int>();
    if (field < min) usage_fail("--", name, " must be >= ", min, ", got ", field);
  };
  override_count("train", opt.size.train, 0);
  override_count("val", opt.size.val, 0);
  override_count("test", opt.size.test, 0);
  override_count("st", opt.size.disjoint, 0);
  override_count("speakers", opt.size.speakers, 1);
  override_count("st-speakers", opt.size.disjoint_speakers, 1);
  opt.captions = r["captions"].as<int>();
  if (opt.captions < 1 || opt.captions > 99) usage_fail("--captions must be in 1..99, got ", opt.captions);
  opt.seed = r["seed"].as<unsigned long long>();
  opt.image_map.seed = r["map-seed"].as<unsigned long long>();
  opt.jobs = r["jobs"].as<int>();
  if (opt.jobs < 0) usage_fail("--jobs must be >= 0, got ", opt.jobs);
  if (opt.jobs == 0) opt.jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  opt.speech = !r.count("no-speech");
  opt.force = r.count("force") > 0;
  const bool quiet = r.count("quiet") > 0;

  corpus::generate_corpus(opt, r["output"].as<std::string>(),
                          [&](const std::string& line) { if (!quiet) cli::info(line); });
  return cli::kExitOk;
}

}  // namespace

int main(int argc, char** argv) { return sb::cli::run_tool("sb-corpus", argc, argv, corpus_main); }

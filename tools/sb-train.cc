// sb-train: train the multi-task model of Chrupała (2019) — SPEECH/IMAGE
// alone or with SPEECH/TEXT and TEXT/IMAGE — on Kaldi-style data
// directories, with any of the paper's layouts (Table 1 presets).
#include <unistd.h>

#include <string>

#include "backend/backend.h"
#include "cli/cli.h"
#include "core/error.h"
#include "core/strings.h"
#include "model/options.h"
#include "train/trainer.h"

namespace {

using namespace sb;

std::string presets_text() {
  std::string s =
      "\nPresets (the rows of the paper's Table 1; paper's validation R@10 and Medr):\n"
      "  preset  data         tasks     S T S2I S2T T2S T2I   R@10  Medr\n";
  for (const auto& p : model::presets()) {
    char buf[160];
    auto col = [&](bool present, int v) { return present ? std::to_string(v) : std::string("."); };
    std::snprintf(buf, sizeof buf, "  %-6s  %-11s  %-8s  %s %s %3s %3s %3s %3s  %.3f  %4.1f\n", p.name,
                  model::condition_name(p.data), p.tasks.str().c_str(), col(true, p.layers.s).c_str(),
                  col(p.tasks.st || p.tasks.ti, p.layers.t).c_str(), col(true, p.layers.s2i).c_str(),
                  col(p.tasks.st, p.layers.s2t).c_str(), col(p.tasks.st, p.layers.t2s).c_str(),
                  col(p.tasks.ti, p.layers.t2i).c_str(), p.paper_r10, p.paper_medr);
    s += buf;
  }
  return s;
}

const char* kEpilog =
    "\n"
    "Data directories (Kaldi style): si reads feats.sbt, utt2img, images.sbt; st reads\n"
    "feats.sbt, text; ti reads text, utt2img, images.sbt. --data DIR serves every task\n"
    "(ALIGNED); --si/--st/--ti DIR give a task its own data (NON-ALIGNED).\n"
    "\n"
    "Writes MODEL (the epoch with the best validation R@10), a checkpoint per epoch\n"
    "(MODEL without .sbt + .epochNN.sbt) and, on SIGINT/SIGTERM, .interrupted.sbt;\n"
    "--resume CHECKPOINT continues bit-identically (same build and --threads).\n"
    "\n"
    "Examples:\n"
    "  sb-train --data data/train --val data/val -o row1.sbt\n"
    "  sb-train --preset row6 --data data/train --val data/val --log row6.tsv -o row6.sbt\n"
    "  sb-train --preset row11 --data data/flickr --st data/libri --val data/val -o row11.sbt\n"
    "  sb-train --tasks si,st --layers s=2,t=1,s2i=2,s2t=0,t2s=0 --hidden 256 --data d -o m.sbt\n"
    "  sb-train --resume row6.epoch07.sbt --data data/train --val data/val -o row6.sbt\n"
    "\n"
    "See also: sb-embed(1), sb-rank(1), sb-mfcc(1), sb(7)\n";

int train_main(int argc, char** argv) {
  auto opts = cli::make_options("train the multi-task speech/text/image model");
  opts.add_options("Data")
      ("data", "data directory for every task (ALIGNED)", cxxopts::value<std::string>())
      ("si", "data directory of the SPEECH/IMAGE task", cxxopts::value<std::string>())
      ("st", "data directory of the SPEECH/TEXT task", cxxopts::value<std::string>())
      ("ti", "data directory of the TEXT/IMAGE task", cxxopts::value<std::string>())
      ("val", "validation data directory (loss per task, speech->image R@k)", cxxopts::value<std::string>());
  opts.add_options("Model")
      ("preset", "row1..row13: a configuration of the paper's Table 1", cxxopts::value<std::string>())
      ("tasks", "si[,st][,ti]", cxxopts::value<std::string>()->default_value("si"))
      ("layers", "GRU layers per encoder: s=N,t=N,s2i=N,s2t=N,t2s=N,t2i=N (0..16)",
       cxxopts::value<std::string>()->default_value("s=2,t=1,s2i=2,s2t=0,t2s=0,t2i=1"))
      ("hidden", "GRU size and joint embedding size (1..65536)", cxxopts::value<int>()->default_value("1024"))
      ("conv-channels", "convolution channels", cxxopts::value<int>()->default_value("64"))
      ("conv-kernel", "convolution kernel size (frames)", cxxopts::value<int>()->default_value("6"))
      ("conv-stride", "convolution stride (frames)", cxxopts::value<int>()->default_value("2"))
      ("conv-padding", "convolution zero padding at each end (frames)", cxxopts::value<int>()->default_value("6"))
      ("embed", "character embedding size", cxxopts::value<int>()->default_value("128"))
      ("attn", "attention MLP hidden size", cxxopts::value<int>()->default_value("128"));
  opts.add_options("Training")
      ("o,output", "the trained model (required)", cxxopts::value<std::string>())
      ("epochs", "epochs (1..100000)", cxxopts::value<int>()->default_value("25"))
      ("batch", "batch size per task (2..65536)", cxxopts::value<int>()->default_value("16"))
      ("lr", "Adam learning rate", cxxopts::value<double>()->default_value("0.0002"))
      ("clip", "gradient clipping: max L2 norm per task step", cxxopts::value<double>()->default_value("2.0"))
      ("margin", "contrastive loss margin", cxxopts::value<double>()->default_value("0.2"))
      ("seed", "random seed (initialisation and data order)", cxxopts::value<long long>()->default_value("1"))
      ("keep", "epoch checkpoints to keep, newest first (0 = all)", cxxopts::value<int>()->default_value("0"))
      ("log", "TSV log, one row per epoch", cxxopts::value<std::string>())
      ("log-every", "steps between progress lines when stderr is not a terminal",
       cxxopts::value<int>()->default_value("100"))
      ("resume", "continue from a checkpoint", cxxopts::value<std::string>())
      ("max-steps", "cut every epoch after N steps (0 = no cut; for quick trials)",
       cxxopts::value<int>()->default_value("0"))
      ("device", "cpu or cuda", cxxopts::value<std::string>()->default_value("cpu"))
      ("threads", "CPU threads (0 = all cores); results depend on it",
       cxxopts::value<int>()->default_value("0"));
  auto r = cli::parse(opts, argc, argv, presets_text() + kEpilog);
  if (!r.unmatched().empty()) usage_fail("unexpected argument '", r.unmatched().front(), "'");

  model::ModelOptions mo;
  model::DataCondition condition = model::DataCondition::None;
  if (r.count("preset")) {
    if (r.count("tasks") || r.count("layers")) usage_fail("--preset sets --tasks and --layers; give one or the other");
    const auto& p = model::find_preset(r["preset"].as<std::string>());
    mo.tasks = p.tasks;
    mo.layers = p.layers;
    condition = p.data;
  } else {
    mo.tasks = model::parse_tasks(r["tasks"].as<std::string>());
    mo.layers = model::parse_layers(r["layers"].as<std::string>());
  }
  mo.hidden = r["hidden"].as<int>();
  mo.conv_channels = r["conv-channels"].as<int>();
  mo.conv_kernel = r["conv-kernel"].as<int>();
  mo.conv_stride = r["conv-stride"].as<int>();
  mo.conv_padding = r["conv-padding"].as<int>();
  mo.embed_size = r["embed"].as<int>();
  mo.attn_size = r["attn"].as<int>();
  mo.validate();

  train::TrainOptions to;
  if (!r.count("output")) usage_fail("-o MODEL is required");
  to.output = r["output"].as<std::string>();
  to.epochs = r["epochs"].as<int>();
  to.batch = r["batch"].as<int>();
  to.lr = static_cast<float>(r["lr"].as<double>());
  to.clip = static_cast<float>(r["clip"].as<double>());
  to.margin = static_cast<float>(r["margin"].as<double>());
  const long long seed = r["seed"].as<long long>();
  if (seed < 0) usage_fail("--seed: ", seed, " must not be negative");
  to.seed = static_cast<std::uint64_t>(seed);
  to.keep = r["keep"].as<int>();
  to.log_every = r["log-every"].as<int>();
  to.max_steps = r["max-steps"].as<int>();
  if (r.count("log")) to.log = r["log"].as<std::string>();
  if (r.count("resume")) {
    to.resume = r["resume"].as<std::string>();
    // The checkpoint fixes the model and the optimisation; changing them
    // would silently break the promise of an identical continuation.
    for (const char* o : {"preset", "tasks", "layers", "hidden", "conv-channels", "conv-kernel", "conv-stride",
                          "conv-padding", "embed", "attn", "batch", "lr", "clip", "margin", "seed"})
      if (r.count(o)) usage_fail("--", o, " cannot be given with --resume: the checkpoint's value is used");
  }
  to.progress_bar = ::isatty(2);
  to.validate();

  train::DataSpec spec;
  if (r.count("data")) spec.data = r["data"].as<std::string>();
  if (r.count("si")) spec.si = r["si"].as<std::string>();
  if (r.count("st")) spec.st = r["st"].as<std::string>();
  if (r.count("ti")) spec.ti = r["ti"].as<std::string>();
  if (r.count("val")) spec.val = r["val"].as<std::string>();
  if (spec.dir_for(model::Task::SI).empty()) usage_fail("no training data: give --data DIR (or --si DIR)");
  for (model::Task t : {model::Task::ST, model::Task::TI})
    if (!mo.tasks.has(t) && r.count(model::task_name(t)) && to.resume.empty())
      usage_fail("--", model::task_name(t), " given, but the model has no ", model::task_name(t),
                 " task (--tasks ", mo.tasks.str(), ")");
  train::check_condition(condition, spec, mo.tasks);

  const std::string device = r["device"].as<std::string>();
  if (device == "cuda")
    fail("--device cuda: the CUDA backend is not available in this build of sb yet; use --device cpu");
  if (device != "cpu") usage_fail("--device: unknown device '", device, "' (cpu, cuda)");
  const int threads = r["threads"].as<int>();
  if (threads < 0) usage_fail("--threads: ", threads, " must be 0 (all cores) or more");
  sb::set_num_threads(threads);

  train::Messages msg;
  msg.info = [](std::string_view s) { cli::info(s); };
  msg.warn = [](std::string_view s) { cli::warn(s); };
  train::install_stop_handlers();
  const auto sum = train::train(cpu_backend(), mo, to, spec, msg);
  if (sum.stopped_by) return 128 + sum.stopped_by;
  if (sum.best_r10 >= 0)
    cli::info(cat("done: ", to.output, " is epoch ", sum.best_epoch, " (validation R@10 ", sum.best_r10, ")"));
  else
    cli::info(cat("done: ", to.output, " is epoch ", sum.best_epoch));
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return sb::cli::run_tool("sb-train", argc, argv, train_main); }

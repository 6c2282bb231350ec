// sb-train: train the multi-task model of Chrupała (2019) — SPEECH/IMAGE
// alone or with SPEECH/TEXT and TEXT/IMAGE — on Kaldi-style data
// directories, with any of the paper's layouts (Table 1 presets).
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <set>
#include <string>

#include "backend/backend.h"
#include "backend/device.h"
#include "cli/cli.h"
#include "cli/options.h"
#include "core/error.h"
#include "core/options_itf.h"
#include "core/strings.h"
#include "model/options.h"
#include "train/trainer.h"

namespace {

using namespace sb;

// A path as the shell reads it back (the continue command is copied).
std::string shell_word(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-+,:=@%") ==
                        std::string::npos)
    return s;
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

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
    "(ALIGNED); --si/--st/--ti DIR give a task its own data (NON-ALIGNED). Training\n"
    "utterances longer than --max-frames are skipped, with a warning naming them.\n"
    "\n"
    "Writes MODEL (the epoch with the best validation R@10), a checkpoint per epoch\n"
    "(MODEL without .sbt + .epochNN.sbt; --keep N leaves the best epoch's and the newest\n"
    "N) and, on SIGINT/SIGTERM, .interrupted.sbt. While it runs it holds MODEL.lock: a\n"
    "second run on the same MODEL is refused. A checkpoint records the run's options:\n"
    "--resume CHECKPOINT alone continues the run; an option given again must agree with\n"
    "the recorded one, except --epochs, which changes the run's length. Results are\n"
    "bit-reproducible for one build and one --threads count; the default 0 (all cores)\n"
    "makes them depend on the machine.\n"
    "\n"
    "The defaults are the paper's (hidden 1024, 25 epochs: hours to days on a CPU). A\n"
    "first try, small and quick:\n"
    "  sb-train --data data/train --val data/val --hidden 128 --epochs 5 --threads 2 -o first.sbt\n"
    "  (the samples' small corpus, 4000 training utterances of 800 images: 5 min on 2 cores\n"
    "  shared with other work, 250 s of CPU; validation R@10 0.61 over 100 images)\n"
    "\n"
    "Examples:\n"
    "  sb-train --data data/train --val data/val -o row1.sbt\n"
    "  sb-train --preset row6 --data data/train --val data/val --log row6.tsv -o row6.sbt\n"
    "  sb-train --preset row11 --data data/flickr --st data/libri --val data/val -o row11.sbt\n"
    "  sb-train --tasks si,st --layers s=2,t=1,s2i=2,s2t=0,t2s=0 --hidden 256 --data d -o m.sbt\n"
    "  sb-train --resume row6.interrupted.sbt\n"
    "  sb-train --resume row6.epoch25.sbt --epochs 40\n"
    "\n"
    "See also: sb-embed(1), sb-rank(1), sb-mfcc(1), sb(7)\n";

// The long names of the options the user gave.
std::set<std::string> given_names(const cxxopts::ParseResult& r, const std::function<void(OptionsItf&)>& reg) {
  std::set<std::string> out;
  for (const auto& kv : train::option_values(reg))
    if (r.count(kv.first)) out.insert(kv.first);
  return out;
}

int train_main(int argc, char** argv) {
  auto opts = cli::make_options("train the multi-task speech/text/image model");
  train::DataSpec spec;
  train::TrainOptions to;
  model::ModelOptions mo;
  std::string preset, tasks = mo.tasks.str(), layers = mo.layers.str();
  auto reg_data = [&](OptionsItf& o) { spec.Register(o); };
  auto reg_model = [&](OptionsItf& o) {
    o.add("preset", &preset, "row1..row13: a configuration of the paper's Table 1");
    o.add("tasks", &tasks, "si[,st][,ti]");
    o.add("layers", &layers, "GRU layers per encoder: s=N,t=N,s2i=N,s2t=N,t2s=N,t2i=N (0..16)");
    train::register_model_sizes(o, mo);
  };
  auto reg_train = [&](OptionsItf& o) { to.Register(o); };
  cli::OptionRegistry data_opts(opts, "Data"), model_opts(opts, "Model"), train_opts(opts, "Training");
  reg_data(data_opts);
  reg_model(model_opts);
  reg_train(train_opts);
  auto r = cli::parse(opts, argc, argv, presets_text() + kEpilog);
  if (!r.unmatched().empty()) usage_fail("unexpected argument '", r.unmatched().front(), "'");
  data_opts.apply(r);
  model_opts.apply(r);
  train_opts.apply(r);
  const auto given_model = given_names(r, reg_model);
  std::set<std::string> given = given_names(r, reg_train);
  for (const auto& n : given_names(r, reg_data)) given.insert(n);

  model::DataCondition condition = model::DataCondition::None;
  if (given_model.count("preset")) {
    if (given_model.count("tasks") || given_model.count("layers"))
      usage_fail("--preset sets --tasks and --layers; give one or the other");
    const auto& p = model::find_preset(preset);
    mo.tasks = p.tasks;
    mo.layers = p.layers;
    condition = p.data;
  } else {
    mo.tasks = model::parse_tasks(tasks);
    mo.layers = model::parse_layers(layers);
  }
  mo.validate();
  to.progress_bar = ::isatty(2);

  train::Messages msg;
  msg.info = [](std::string_view s) { cli::info(s); };
  msg.warn = [](std::string_view s) { cli::warn(s); };
  msg.bar = [](std::string_view s, bool done) {
    std::fprintf(stderr, "\r\033[K%.*s%s", static_cast<int>(s.size()), s.data(), done ? "\n" : "");
    std::fflush(stderr);
  };

  if (!to.resume.empty()) {
    // The checkpoint fixes the model, the optimisation and the run; an
    // option given again must say the same, or the continuation would not
    // be the run it claims to be.
    const auto rec = train::read_recorded_run(to.resume);
    std::set<std::string> model_names = given_model;
    if (model_names.erase("preset") &&
        (mo.tasks.str() != rec.model.tasks.str() || mo.layers.str() != rec.model.layers.str()))
      usage_fail("--preset cannot be given with --resume as '", preset, "': ", to.resume, " records --tasks ",
                 rec.model.tasks.str(), " --layers ", rec.model.layers.str());
    train::check_model_agrees(rec.model, mo, model_names, to.resume);
    train::resolve_resume(rec, given, to, spec, msg, to.resume);
    mo = rec.model;
    if (!rec.have_run && (to.output.empty() || spec.dir_for(model::Task::SI).empty()))
      usage_fail(to.resume, " was written by an older sb-train that did not record the run's options: give -o "
                 "MODEL and the data options (--data DIR or --si DIR ..., --val DIR) again");
  } else if (to.output.empty()) {
    usage_fail("-o MODEL is required");
  }
  to.validate();

  if (spec.dir_for(model::Task::SI).empty()) usage_fail("no training data: give --data DIR (or --si DIR)");
  for (model::Task t : {model::Task::ST, model::Task::TI})
    if (!mo.tasks.has(t) && given.count(model::task_name(t)) && to.resume.empty())
      usage_fail("--", model::task_name(t), " given, but the model has no ", model::task_name(t),
                 " task (--tasks ", mo.tasks.str(), ")");
  train::check_condition(condition, spec, mo.tasks);

  Backend& be = open_device(parse_device(to.device), to.threads);

  train::install_stop_handlers();
  const auto sum = train::train(be, mo, to, spec, msg);
  if (sum.stopped_by) {
    cli::info(cat("interrupted; continue with: ", cli::tool_name(), " --resume ", shell_word(sum.checkpoint)));
    return 128 + sum.stopped_by;
  }
  if (sum.best_r10 >= 0)
    cli::info(cat("done: ", to.output, " is epoch ", sum.best_epoch, " (validation R@10 ", sum.best_r10, ")"));
  else
    cli::info(cat("done: ", to.output, " is epoch ", sum.best_epoch));
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return sb::cli::run_tool("sb-train", argc, argv, train_main); }

// lib/cli: exit codes and message formats shared by every tool.
#define BOOST_TEST_MODULE cli
#include <boost/test/unit_test.hpp>
#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdint>
#include <iostream>
#include <sstream>

#include "cli/cli.h"
#include "core/error.h"

using namespace sb;

namespace {
// Runs run_tool with captured stdout/stderr.
struct Run {
  int rc;
  std::string out, err;
};
Run run(std::vector<std::string> args, const std::function<int(int, char**)>& body) {
  // run_tool turns stdio sync off, and libstdc++ then swaps in new stream
  // buffers; doing it first keeps the capture below in place.
  std::ios::sync_with_stdio(false);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  std::ostringstream out, err;
  auto* o = std::cout.rdbuf(out.rdbuf());
  auto* e = std::cerr.rdbuf(err.rdbuf());
  const int rc = cli::run_tool("sb-demo", static_cast<int>(argv.size()), argv.data(), body);
  std::cout.rdbuf(o);
  std::cerr.rdbuf(e);
  return {rc, out.str(), err.str()};
}

int demo_main(int argc, char** argv) {
  auto opts = cli::make_options("a demonstration tool", "[FILE]");
  opts.add_options()("n,count", "how many (1..10)", cxxopts::value<int>()->default_value("3"));
  auto r = cli::parse(opts, argc, argv, "Example:\n  sb-demo -n 2\n");
  const int n = r["count"].as<int>();
  if (n < 1 || n > 10) usage_fail("--count must be in 1..10, got ", n);
  if (n == 7) fail("data.sbt: record 3 ('utt2'): truncated archive");
  std::cout << "n=" << n << '\n';
  return 0;
}
}  // namespace

BOOST_AUTO_TEST_CASE(help_goes_to_stdout_with_exit_0) {
  const Run r = run({"sb-demo", "--help"}, demo_main);
  BOOST_TEST(r.rc == 0);
  BOOST_TEST(r.out.find("sb-demo - a demonstration tool") != std::string::npos);
  BOOST_TEST(r.out.find("how many (1..10) (default: 3)") != std::string::npos);
  BOOST_TEST(r.out.find("Example:") != std::string::npos);
  BOOST_TEST(r.err.empty());
}

BOOST_AUTO_TEST_CASE(version) {
  const Run r = run({"sb-demo", "--version"}, demo_main);
  BOOST_TEST(r.rc == 0);
  BOOST_TEST(r.out.rfind("sb-demo ", 0) == 0u);
}

BOOST_AUTO_TEST_CASE(usage_errors_exit_1_with_a_hint) {
  for (auto args : {std::vector<std::string>{"sb-demo", "--bogus"}, {"sb-demo", "-n", "x"}, {"sb-demo", "-n", "11"}}) {
    const Run r = run(args, demo_main);
    BOOST_TEST(r.rc == 1);
    BOOST_TEST(r.err.rfind("sb-demo: ", 0) == 0u);
    BOOST_TEST(r.err.find("Try 'sb-demo --help'") != std::string::npos);
    BOOST_TEST(r.out.empty());
  }
}

BOOST_AUTO_TEST_CASE(runtime_errors_exit_2_with_one_line) {
  const Run r = run({"sb-demo", "-n", "7"}, demo_main);
  BOOST_TEST(r.rc == 2);
  BOOST_TEST(r.err == "sb-demo: data.sbt: record 3 ('utt2'): truncated archive\n");
}

BOOST_AUTO_TEST_CASE(success) {
  const Run r = run({"sb-demo", "-n", "2"}, demo_main);
  BOOST_TEST(r.rc == 0);
  BOOST_TEST(r.out == "n=2\n");
}

// ---- OptionRegistry: OptionsItf over cxxopts ------------------------------
#include "cli/options.h"

namespace {
struct Demo {
  int hidden = 1024;
  long long top = 0;
  std::uint64_t seed = 42;
  double lr = 0.0002;
  float margin = 0.2f;
  bool frames = false;
  std::string output = "-";
  std::string window = "povey";
  std::string device = "cpu";
  void Register(OptionsItf& o) {
    o.add("hidden", &hidden, "GRU size", 1, 65536);
    o.add("top", &top, "best targets to list", 0, LLONG_MAX);
    o.add("seed", &seed, "random seed", 0, UINT64_MAX);
    o.add("lr", &lr, "learning rate", 0, 1);
    o.add("margin", &margin, "loss margin", 0, 10);
    o.add("frames", &frames, "per-frame output");
    o.add("o,output", &output, "output archive");
    o.add("window", &window, "window shape", {"rect", "hamming", "hann", "povey"});
    o.add("device", &device, "where to compute", [](const std::string& w) {
      if (w != "cpu" && w.rfind("cuda", 0) != 0) usage_fail("--device: unknown device '", w, "'");
    });
  }
};

// Parses args into a fresh Demo; the error message, or "" on success.
std::string parse_demo(std::vector<std::string> args, Demo& d, std::string* help = nullptr) {
  auto opts = cxxopts::Options("sb-demo", "demo");
  cli::OptionRegistry reg(opts, "");
  d.Register(reg);
  if (help) *help = opts.help();
  args.insert(args.begin(), "sb-demo");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  try {
    const auto r = opts.parse(static_cast<int>(argv.size()), argv.data());
    reg.apply(r);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

BOOST_AUTO_TEST_CASE(registry_defaults_stay_when_not_given) {
  Demo d;
  BOOST_TEST(parse_demo({}, d) == "");
  BOOST_TEST(d.hidden == 1024);
  BOOST_TEST(d.lr == 0.0002);
  BOOST_TEST(d.output == "-");
  BOOST_TEST(!d.frames);
}

// A text option's own grammar is applied when the value is parsed.
BOOST_AUTO_TEST_CASE(registry_applies_text_checks) {
  Demo d;
  BOOST_TEST(parse_demo({"--device", "cuda:1"}, d) == "");
  BOOST_TEST(d.device == "cuda:1");
  Demo e;
  BOOST_TEST(parse_demo({"--device", "tpu"}, e) == "--device: unknown device 'tpu'");
  BOOST_TEST(e.device == "cpu");
}

BOOST_AUTO_TEST_CASE(registry_writes_given_values) {
  Demo d;
  BOOST_TEST(parse_demo({"--hidden", "256", "--top=5", "--seed", "18446744073709551615", "--lr", "1e-3",
                         "--margin", "0.5", "--frames", "-o", "x.sbt", "--window", "hann"},
                        d) == "");
  BOOST_TEST(d.hidden == 256);
  BOOST_TEST(d.top == 5);
  BOOST_TEST(d.seed == UINT64_MAX);
  BOOST_TEST(d.lr == 1e-3);
  BOOST_TEST(d.margin == 0.5f);
  BOOST_TEST(d.frames);
  BOOST_TEST(d.output == "x.sbt");
  BOOST_TEST(d.window == "hann");
  Demo e;
  BOOST_TEST(parse_demo({"--output", "y.sbt"}, e) == "");
  BOOST_TEST(e.output == "y.sbt");
}

BOOST_AUTO_TEST_CASE(registry_errors_name_the_option) {
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"--hidden", "abc"}, "--hidden: 'abc' is not an integer"},
      {{"--hidden", "12x"}, "--hidden: '12x' is not an integer"},
      {{"--hidden", "0"}, "--hidden: 0 is out of range 1..65536"},
      {{"--hidden", "65537"}, "--hidden: 65537 is out of range 1..65536"},
      {{"--hidden", "99999999999999999999"}, "--hidden: 99999999999999999999 is out of range 1..65536"},
      {{"--top=-1"}, "--top: -1 is out of range (must be >= 0)"},
      {{"--seed=-3"}, "--seed: -3 is out of range (must be >= 0)"},
      {{"--seed", "x"}, "--seed: 'x' is not an integer"},
      {{"--lr", "1e400"}, "--lr: 1e400 is out of range 0..1"},
      {{"--lr", "fast"}, "--lr: 'fast' is not a number"},
      {{"--lr", "nan"}, "--lr: nan is out of range 0..1"},
      {{"--lr", "2"}, "--lr: 2 is out of range 0..1"},
      {{"--margin", "11"}, "--margin: 11 is out of range 0..10"},
      {{"--window", "box"}, "--window: 'box' is not one of rect, hamming, hann, povey"},
  };
  for (const auto& [args, want] : cases) {
    Demo d;
    BOOST_TEST(parse_demo(args, d) == want);
  }
}

BOOST_AUTO_TEST_CASE(registry_help_shows_type_range_default) {
  Demo d;
  std::string help;
  parse_demo({}, d, &help);
  BOOST_TEST(help.find("--hidden N") != std::string::npos);
  BOOST_TEST(help.find("GRU size (int, 1..65536, default 1024)") != std::string::npos);
  BOOST_TEST(help.find("best targets to list (int, >= 0, default 0)") != std::string::npos);
  BOOST_TEST(help.find("random seed (int, >= 0, default 42)") != std::string::npos);
  BOOST_TEST(help.find("learning rate (real, 0..1, default 0.0002)") != std::string::npos);
  BOOST_TEST(help.find("loss margin (real, 0..10, default 0.2)") != std::string::npos);
  BOOST_TEST(help.find("-o, --output TEXT") != std::string::npos);
  BOOST_TEST(help.find("output archive (text, default -)") != std::string::npos);
  BOOST_TEST(help.find("window shape (rect|hamming|hann|povey, default povey)") != std::string::npos);
  BOOST_TEST(help.find(" arg ") == std::string::npos);
  BOOST_TEST(help.find("per-frame output\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(registry_usage_error_through_run_tool_exits_1) {
  const Run r = run({"sb-demo", "--hidden", "abc"}, [](int argc, char** argv) {
    Demo d;
    auto opts = cli::make_options("a demonstration tool");
    cli::OptionRegistry reg(opts, "Model");
    d.Register(reg);
    reg.apply(cli::parse(opts, argc, argv));
    return 0;
  });
  BOOST_TEST(r.rc == 1);
  BOOST_TEST(r.err.rfind("sb-demo: --hidden: 'abc' is not an integer\n", 0) == 0u);
}

BOOST_AUTO_TEST_CASE(typed_cxxopts_values_are_named_too) {
  for (auto args : {std::vector<std::string>{"sb-demo", "-n", "x"}, {"sb-demo", "--count", "x"},
                    {"sb-demo", "--count=x"}, {"sb-demo", "-nx"}}) {
    const Run r = run(args, demo_main);
    BOOST_TEST(r.rc == 1);
    const std::string opt = args[1].rfind("--", 0) == 0 ? "--count" : "-n";
    BOOST_TEST(r.err.rfind("sb-demo: " + opt + ": 'x' is not a valid value\n", 0) == 0u, r.err);
  }
}

BOOST_AUTO_TEST_CASE(version_describes_the_build) {
  const Run r = run({"sb-demo", "--version"}, demo_main);
  BOOST_TEST(r.rc == 0);
  for (const char* line : {"\ncommit: ", "\ncpu kernel: ", "\nblas: ", "\ncuda: ", "\ncudnn: "})
    BOOST_TEST(r.out.find(line) != std::string::npos, line);
}

// ---- Progress ---------------------------------------------------------------
#include <thread>

#include "cli/progress.h"

BOOST_AUTO_TEST_CASE(progress_summary_is_one_line) {
  std::ostringstream os;
  {
    cli::Progress p("files", 3, cli::Progress::Mode::Summary, os);
    p.add();
    p.add(2);
    BOOST_TEST(os.str().empty());
    p.finish("1 skipped");
  }
  const std::string s = os.str();
  BOOST_TEST(s.find("3 files, ") != std::string::npos, s);
  BOOST_TEST(s.find(" files/s; 1 skipped\n") != std::string::npos, s);
  BOOST_TEST(s.find('\r') == std::string::npos);
  BOOST_TEST(std::count(s.begin(), s.end(), '\n') == 1);
}

BOOST_AUTO_TEST_CASE(progress_quiet_says_nothing) {
  std::ostringstream os;
  cli::Progress p("files", 3, cli::Progress::Mode::Quiet, os);
  p.add(3);
  p.finish();
  BOOST_TEST(os.str().empty());
}

BOOST_AUTO_TEST_CASE(progress_terminal_redraws_a_few_times_a_second) {
  std::ostringstream os;
  cli::Progress p("records", 1000, cli::Progress::Mode::Terminal, os);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 1000; ++i) {
    p.add();
    if (i % 100 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(60));
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  p.finish();
  const std::string s = os.str();
  const auto redraws = std::count(s.begin(), s.end(), '\r');
  BOOST_TEST(redraws >= 1);
  BOOST_TEST(redraws <= static_cast<long>(secs * 4) + 2, s);
  BOOST_TEST(s.find("/1000 records (") != std::string::npos, s);
  BOOST_TEST(s.find("ETA ") != std::string::npos, s);
  BOOST_TEST(s.find("1000 records, ") != std::string::npos, s);
  BOOST_TEST(s.back() == '\n');
}

BOOST_AUTO_TEST_CASE(progress_formats) {
  BOOST_TEST(cli::format_duration(12.34) == "12.3 s");
  BOOST_TEST(cli::format_duration(125) == "2 min 05 s");
  BOOST_TEST(cli::format_duration(7260) == "2 h 01 min");
  BOOST_TEST(cli::format_rate(40.62) == "40.6");
  BOOST_TEST(cli::format_rate(12345.6) == "12346");
}

BOOST_AUTO_TEST_CASE(registry_text_with_its_own_metavar) {
  auto opts = cxxopts::Options("sb-demo", "demo");
  cli::OptionRegistry reg(opts, "");
  std::string gold, out = "-";
  reg.add_text("gold", &gold, "gold table", "FILE");
  reg.add_text("o,output", &out, "output", "FILE");
  const std::string help = opts.help();
  BOOST_TEST(help.find("--gold FILE ") != std::string::npos, help);
  BOOST_TEST(help.find("-o, --output FILE ") != std::string::npos, help);
  BOOST_TEST(help.find("output (text, default -)") != std::string::npos, help);
  std::vector<std::string> args{"sb-demo", "--gold", "g.txt"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  reg.apply(opts.parse(static_cast<int>(argv.size()), argv.data()));
  BOOST_TEST(gold == "g.txt");
  BOOST_TEST(out == "-");
}

BOOST_AUTO_TEST_CASE(help_lists_groups_in_declaration_order_general_last) {
  const Run r = run({"sb-demo", "--help"}, [](int argc, char** argv) {
    int a = 1, b = 2;
    auto opts = cli::make_options("a demonstration tool");
    cli::OptionRegistry input(opts, "Input");
    input.add("aa", &a, "first", 0, 9);
    cli::OptionRegistry features(opts, "Features");
    features.add("bb", &b, "second", 0, 9);
    cli::parse(opts, argc, argv);
    return 0;
  });
  BOOST_TEST(r.rc == 0);
  const auto in = r.out.find(" Input options:"), fe = r.out.find(" Features options:"),
             ge = r.out.find(" General options:");
  BOOST_TEST((in != std::string::npos && fe != std::string::npos && ge != std::string::npos));
  BOOST_TEST(in < fe);
  BOOST_TEST(fe < ge);
}

// lib/cli: exit codes and message formats shared by every tool.
#define BOOST_TEST_MODULE cli
#include <boost/test/unit_test.hpp>
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

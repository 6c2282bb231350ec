// Command-line conventions shared by every sb tool, kept in one place:
//   --help   usage to stdout, exit 0 (each option's type, default and range)
//   --version             version, commit, CPU kernel, CUDA/cuDNN compiled in
//   bad usage             -> "sb-<tool>: <message>" + hint on stderr, exit 1
//   runtime error         -> "sb-<tool>: <message>" on stderr, exit 2
//   warnings              -> "sb-<tool>: warning: <message>" on stderr
// A tool's main is one line:
//   int main(int argc, char** argv) { return sb::cli::run_tool("sb-rank", argc, argv, rank_main); }
#pragma once
#include <cxxopts.hpp>
#include <functional>
#include <string>
#include <string_view>

namespace sb::cli {

constexpr int kExitOk = 0;
constexpr int kExitUsage = 1;
constexpr int kExitFailure = 2;

// Calls body(argc, argv) and maps exceptions to messages and exit codes.
int run_tool(const char* name, int argc, char** argv,
             const std::function<int(int, char**)>& body);

// The running tool's name ("sb-mfcc"), set by run_tool.
const std::string& tool_name();

// Makes a cxxopts::Options with the tool's name, a one-line summary and the
// common --help/--version options already added.
cxxopts::Options make_options(const std::string& summary,
                              const std::string& positional_help = "");

// Options added to this group (opts.add_options(cli::kPositional)) carry the
// positional arguments; --help does not list them (the usage line does).
inline constexpr const char* kPositional = "positional";

// Remembers that `group` comes next in --help (OptionRegistry calls it;
// groups declared only with add_options follow, in name order).
void note_group(const cxxopts::Options& opts, const std::string& group);

// Parses; handles --help (prints help + `epilog` to stdout, exits 0) and
// --version. Unknown options and bad values become UsageError.
cxxopts::ParseResult parse(cxxopts::Options& opts, int argc, char** argv,
                           const std::string& epilog = "");

// What --version prints: "sb-<tool> VERSION", then build_description()'s
// lines (commit, CPU kernel, BLAS, CUDA, cuDNN).
std::string version_text();

// "sb-<tool>: warning: msg" on stderr.
void warn(std::string_view msg);
// "sb-<tool>: msg" on stderr (progress, summaries).
void info(std::string_view msg);

// Requests exit with a given code from deep inside a tool (e.g. --help).
struct Exit {
  int code;
};

}  // namespace sb::cli

#include "cli/cli.h"

#include <cstdio>
#include <iostream>
#include <new>

#include "core/diag.h"
#include "core/error.h"
#include "io/output_file.h"
#include "sb_config.h"

namespace sb::cli {
namespace {
std::string g_tool = "sb";
}

const std::string& tool_name() { return g_tool; }

void warn(std::string_view msg) { std::cerr << g_tool << ": warning: " << msg << '\n'; }
void info(std::string_view msg) { std::cerr << g_tool << ": " << msg << '\n'; }

cxxopts::Options make_options(const std::string& summary, const std::string& positional_help) {
  cxxopts::Options opts(g_tool, g_tool + " - " + summary);
  if (!positional_help.empty()) opts.positional_help(positional_help);
  opts.show_positional_help();
  opts.set_width(100);
  opts.add_options("General")
      ("h,help", "print this help and exit")
      ("version", "print the version and exit");
  return opts;
}

cxxopts::ParseResult parse(cxxopts::Options& opts, int argc, char** argv, const std::string& epilog) {
  try {
    auto r = opts.parse(argc, argv);
    if (r.count("help")) {
      std::vector<std::string> shown;
      for (const auto& g : opts.groups())
        if (g != kPositional) shown.push_back(g);
      std::cout << opts.help(shown) << epilog;
      if (!epilog.empty() && epilog.back() != '\n') std::cout << '\n';
      std::cout.flush();
      throw Exit{kExitOk};
    }
    if (r.count("version")) {
      std::cout << g_tool << " " << SB_VERSION << '\n';
      throw Exit{kExitOk};
    }
    return r;
  } catch (const cxxopts::exceptions::exception& e) {
    throw UsageError(e.what());
  }
}

int run_tool(const char* name, int argc, char** argv, const std::function<int(int, char**)>& body) {
  g_tool = name;
  std::ios::sync_with_stdio(false);
  set_warning_sink([](std::string_view m) { warn(m); });
  remove_partial_outputs_on_signal();
  try {
    const int rc = body(argc, argv);
    std::cout.flush();
    if (!std::cout) {
      std::cerr << g_tool << ": write to standard output failed\n";
      return kExitFailure;
    }
    return rc;
  } catch (const Exit& e) {
    return e.code;
  } catch (const UsageError& e) {
    std::cerr << g_tool << ": " << e.what() << "\n"
              << "Try '" << g_tool << " --help' for more information.\n";
    return kExitUsage;
  } catch (const cxxopts::exceptions::exception& e) {
    // Raised by ParseResult::as<T>() on a bad option value.
    std::cerr << g_tool << ": " << e.what() << "\n"
              << "Try '" << g_tool << " --help' for more information.\n";
    return kExitUsage;
  } catch (const Error& e) {
    std::cerr << g_tool << ": " << e.what() << '\n';
    return kExitFailure;
  } catch (const std::bad_alloc&) {
    std::cerr << g_tool << ": out of memory\n";
    return kExitFailure;
  } catch (const std::exception& e) {
    std::cerr << g_tool << ": " << e.what() << '\n';
    return kExitFailure;
  }
}

}  // namespace sb::cli

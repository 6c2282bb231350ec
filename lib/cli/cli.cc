#include "cli/cli.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <iostream>
#include <new>

#include "backend/build_info.h"
#include "cli/progress.h"
#include "core/diag.h"
#include "core/error.h"
#include "io/output_file.h"
#include "sb_config.h"

namespace sb::cli {
namespace {
std::string g_tool = "sb";

// cxxopts quotes with typographic marks in a UTF-8 locale; sb's messages
// use ASCII quotes throughout.
std::string ascii_quotes(std::string s) {
  for (const char* q : {"\u2018", "\u2019"})
    for (std::size_t p; (p = s.find(q)) != std::string::npos;) s.replace(p, std::string(q).size(), "'");
  return s;
}

// cxxopts converts typed values while parsing and reports only the bad
// text ("Argument 'abc' failed to parse"). Options declared through
// OptionRegistry never get here (their values are text); for any declared
// with a typed cxxopts::value, find the option the text was given to, so the
// message names it as the registry's do.
std::string name_bad_value(const std::string& what, int argc, char** argv) {
  const std::string msg = ascii_quotes(what);
  const auto a = msg.find('\''), b = msg.rfind('\'');
  if (a == std::string::npos || b <= a) return msg;
  const std::string text = msg.substr(a + 1, b - a - 1);
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") break;
    if (arg.rfind("--", 0) == 0) {
      const auto eq = arg.find('=');
      if (eq != std::string::npos && arg.substr(eq + 1) == text) return cat(arg.substr(0, eq), ": '", text, "' is not a valid value");
      if (eq == std::string::npos && i + 1 < argc && argv[i + 1] == text) return cat(arg, ": '", text, "' is not a valid value");
    } else if (arg.size() >= 2 && arg[0] == '-') {
      if (arg.size() > 2 && arg.substr(2) == text) return cat(arg.substr(0, 2), ": '", text, "' is not a valid value");
      if (i + 1 < argc && argv[i + 1] == text) return cat("-", arg.back(), ": '", text, "' is not a valid value");
    }
  }
  return msg;
}
}

const std::string& tool_name() { return g_tool; }

namespace {
// Help groups in the order the tool declared them (cxxopts sorts them by name).
std::map<const cxxopts::Options*, std::vector<std::string>>& group_order() {
  static std::map<const cxxopts::Options*, std::vector<std::string>> m;
  return m;
}
}  // namespace

void note_group(const cxxopts::Options& opts, const std::string& group) {
  auto& v = group_order()[&opts];
  if (std::find(v.begin(), v.end(), group) == v.end()) v.push_back(group);
}

// A progress line being redrawn on the terminal is cleared first, so that
// the message starts at column 0 (the meter redraws below it).
void warn(std::string_view msg) {
  Progress::clear_active_line();
  std::cerr << g_tool << ": warning: " << msg << '\n';
}
void info(std::string_view msg) {
  Progress::clear_active_line();
  std::cerr << g_tool << ": " << msg << '\n';
}

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

std::string version_text() {
  return cat(g_tool, ' ', SB_VERSION, '\n', build_description());
}

cxxopts::ParseResult parse(cxxopts::Options& opts, int argc, char** argv, const std::string& epilog) {
  try {
    auto r = opts.parse(argc, argv);
    if (r.count("help")) {
      // The tool's groups in declaration order, then any others, General last.
      std::vector<std::string> shown;
      const auto all = opts.groups();
      auto add = [&](const std::string& g) {
        if (g != kPositional && g != "General" && std::find(all.begin(), all.end(), g) != all.end() &&
            std::find(shown.begin(), shown.end(), g) == shown.end())
          shown.push_back(g);
      };
      add("");
      for (const auto& g : group_order()[&opts]) add(g);
      for (const auto& g : all) add(g);
      shown.push_back("General");
      std::cout << opts.help(shown) << epilog;
      if (!epilog.empty() && epilog.back() != '\n') std::cout << '\n';
      std::cout.flush();
      throw Exit{kExitOk};
    }
    if (r.count("version")) {
      std::cout << version_text() << std::flush;
      throw Exit{kExitOk};
    }
    return r;
  } catch (const cxxopts::exceptions::incorrect_argument_type& e) {
    throw UsageError(name_bad_value(e.what(), argc, argv));
  } catch (const cxxopts::exceptions::exception& e) {
    throw UsageError(ascii_quotes(e.what()));
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
    std::cerr << g_tool << ": " << ascii_quotes(e.what()) << "\n"
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

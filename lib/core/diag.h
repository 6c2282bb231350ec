// Warnings from inside the library go to one sink, which the tool sets
// (cli::run_tool makes it print "sb-<tool>: warning: ..."), so that lib/
// never writes to stderr behind the tool's back and a test can collect them.
#pragma once
#include <functional>
#include <string_view>

namespace sb {

using WarningSink = std::function<void(std::string_view)>;

// Replaces the sink; returns the previous one. The default writes
// "warning: <message>" to stderr, for programs that set none.
WarningSink set_warning_sink(WarningSink sink);

// Hands one line (no trailing newline) to the sink.
void warning(std::string_view message);

}  // namespace sb

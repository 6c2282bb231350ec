#include "core/diag.h"

#include <iostream>
#include <mutex>
#include <utility>

namespace sb {
namespace {

std::mutex g_mutex;

WarningSink& sink() {
  static WarningSink s = [](std::string_view m) { std::cerr << "warning: " << m << '\n'; };
  return s;
}

}  // namespace

WarningSink set_warning_sink(WarningSink s) {
  std::lock_guard<std::mutex> lock(g_mutex);
  return std::exchange(sink(), std::move(s));
}

void warning(std::string_view message) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (sink()) sink()(message);
}

}  // namespace sb

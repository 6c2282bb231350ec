#include "model/options.h"
#include <cstdio>
#include <limits>
#include <map>
#include <set>

#include "core/error.h"
#include "core/key_values.h"
#include "core/strings.h"

namespace sb::model {

const char* task_name(Task t) {
  switch (t) {
    case Task::ST: return "st";
    case Task::SI: return "si";
    case Task::TI: return "ti";
  }
  return "?";
}

bool TaskSet::has(Task t) const {
  switch (t) {
    case Task::ST: return st;
    case Task::SI: return si;
    case Task::TI: return ti;
  }
  return false;
}

std::string TaskSet::str() const {
  std::string s = "si";
  if (st) s += ",st";
  if (ti) s += ",ti";
  return s;
}

static std::vector<std::string_view> split_commas(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t b = 0;
  while (true) {
    const std::size_t e = s.find(',', b);
    out.push_back(trim(s.substr(b, e == std::string_view::npos ? std::string_view::npos : e - b)));
    if (e == std::string_view::npos) break;
    b = e + 1;
  }
  return out;
}

TaskSet parse_tasks(std::string_view s) {
  TaskSet t;
  t.si = false;
  std::set<std::string_view> seen;
  for (auto part : split_commas(s)) {
    if (!seen.insert(part).second) usage_fail("--tasks: '", part, "' given twice");
    if (part == "si") t.si = true;
    else if (part == "st") t.st = true;
    else if (part == "ti") t.ti = true;
    else usage_fail("--tasks: unknown task '", part, "' (tasks: si, st, ti)");
  }
  if (!t.si) usage_fail("--tasks: si (SPEECH/IMAGE) is the main task and must be present");
  return t;
}

std::string Layers::str() const {
  return cat("s=", s, ",t=", t, ",s2i=", s2i, ",s2t=", s2t, ",t2s=", t2s, ",t2i=", t2i);
}

Layers parse_layers(std::string_view s, Layers base) {
  Layers l = base;
  std::set<std::string_view> seen;
  for (auto part : split_commas(s)) {
    const auto eq = part.find('=');
    if (eq == std::string_view::npos)
      usage_fail("--layers: '", part, "' is not NAME=COUNT (e.g. s=2,t=1,s2i=2)");
    const auto name = trim(part.substr(0, eq));
    const auto value = trim(part.substr(eq + 1));
    if (!seen.insert(name).second) usage_fail("--layers: '", name, "' given twice");
    const long long v = parse_int(value, cat("--layers ", name));
    int* slot = nullptr;
    if (name == "s") slot = &l.s;
    else if (name == "t") slot = &l.t;
    else if (name == "s2i") slot = &l.s2i;
    else if (name == "s2t") slot = &l.s2t;
    else if (name == "t2s") slot = &l.t2s;
    else if (name == "t2i") slot = &l.t2i;
    else usage_fail("--layers: unknown encoder '", name, "' (encoders: s, t, s2i, s2t, t2s, t2i)");
    if (v < 0 || v > 16) usage_fail("--layers ", name, ": ", v, " is out of range 0..16");
    *slot = static_cast<int>(v);
  }
  return l;
}

const char* condition_name(DataCondition c) {
  switch (c) {
    case DataCondition::None: return "NA";
    case DataCondition::Aligned: return "aligned";
    case DataCondition::NonAligned: return "non-aligned";
  }
  return "?";
}

const std::vector<Preset>& presets() {
  // Table 1 of the paper: Data, Tasks, S T S2I S2T T2S T2I, R@10, Medr.
  // Ablated encoders (the table's dots) keep the default layer counts; they
  // are never built because their task is absent.
  using DC = DataCondition;
  const TaskSet one{true, false, false}, two{true, true, false}, three{true, true, true};
  static const std::vector<Preset> table = {
      {"row1", one, {2, 1, 2, 0, 0, 1}, DC::None, 0.218, 63.8},
      {"row2", two, {2, 1, 2, 0, 0, 1}, DC::Aligned, 0.279, 42.3},
      {"row3", two, {2, 1, 2, 0, 0, 1}, DC::NonAligned, 0.280, 41.3},
      {"row4", three, {2, 1, 1, 0, 0, 1}, DC::Aligned, 0.280, 43.0},
      {"row5", three, {2, 1, 1, 1, 1, 1}, DC::Aligned, 0.266, 44.3},
      {"row6", three, {2, 1, 2, 0, 0, 1}, DC::Aligned, 0.281, 39.7},
      {"row7", three, {2, 1, 2, 1, 1, 1}, DC::Aligned, 0.270, 44.3},
      {"row8", three, {4, 1, 0, 0, 0, 0}, DC::Aligned, 0.255, 48.3},
      {"row9", three, {2, 1, 1, 0, 0, 1}, DC::NonAligned, 0.275, 42.8},
      {"row10", three, {2, 1, 1, 1, 1, 1}, DC::NonAligned, 0.257, 49.8},
      {"row11", three, {2, 1, 2, 0, 0, 1}, DC::NonAligned, 0.280, 41.7},
      {"row12", three, {2, 1, 2, 1, 1, 1}, DC::NonAligned, 0.252, 50.7},
      {"row13", three, {4, 1, 0, 0, 0, 0}, DC::NonAligned, 0.223, 59.3},
  };
  return table;
}

const Preset& find_preset(std::string_view name) {
  for (const auto& p : presets())
    if (name == p.name) return p;
  usage_fail("--preset: unknown preset '", name, "' (row1 ... row13, the rows of the paper's Table 1)");
}

void ModelOptions::validate() const {
  auto range = [](const char* what, long long v, long long lo, long long hi) {
    if (v < lo || v > hi) usage_fail(what, ": ", v, " is out of range ", lo, "..", hi);
  };
  range("--hidden", hidden, 1, 65536);
  range("feature dimension", feat_dim, 1, 65536);
  range("--conv-channels", conv_channels, 1, 65536);
  range("--conv-kernel", conv_kernel, 1, 1024);
  range("--conv-stride", conv_stride, 1, 1024);
  range("--conv-padding", conv_padding, 0, 1024);
  range("--embed", embed_size, 1, 65536);
  range("--attn", attn_size, 1, 65536);
  range("image dimension", image_dim, 1, 1 << 20);
  if (!tasks.si) usage_fail("--tasks: si must be present");
}

// Code points are written as hex so that whitespace and control characters
// survive the "key value" line format.
std::string ModelOptions::to_text() const {
  std::string s = cat("format sb-model 1\n",
                      "tasks ", tasks.str(), "\n",
                      "layers ", layers.str(), "\n",
                      "hidden ", hidden, "\n",
                      "feat_dim ", feat_dim, "\n",
                      "conv_channels ", conv_channels, "\n",
                      "conv_kernel ", conv_kernel, "\n",
                      "conv_stride ", conv_stride, "\n",
                      "conv_padding ", conv_padding, "\n",
                      "embed_size ", embed_size, "\n",
                      "attn_size ", attn_size, "\n",
                      "image_dim ", image_dim, "\n",
                      "vocab");
  for (char32_t c : vocab) {
    char h[16];
    std::snprintf(h, sizeof h, " %x", static_cast<unsigned>(c));
    s += h;
  }
  s += "\n";
  return s;
}

std::map<std::string, std::string, std::less<>> parse_options_text(std::string_view text) {
  return parse_key_values(text);
}

ModelOptions ModelOptions::from_text(std::string_view text, const std::string& where) {
  ModelOptions o;
  const auto kv = parse_options_text(text);
  auto get = [&](const char* key) -> const std::string& {
    auto it = kv.find(key);
    if (it == kv.end()) fail(where, ": options record: missing '", key, "'");
    return it->second;
  };
  if (get("format") != "sb-model 1")
    fail(where, ": options record: unsupported format '", get("format"), "' (want 'sb-model 1')");
  // Read as 64-bit and range-checked before the cut to int ("hidden
  // 4294967328" must not load as 32); validate() then checks each range.
  auto num = [&](const char* key) {
    long long v = 0;
    try {
      v = parse_int(get(key), key);
    } catch (const UsageError& e) {
      fail(where, ": options record: ", e.what());
    }
    if (v < 0 || v > std::numeric_limits<int>::max())
      fail(where, ": options record: ", key, " ", v, " is out of range");
    return static_cast<int>(v);
  };
  try {
    o.tasks = parse_tasks(get("tasks"));
    o.layers = parse_layers(get("layers"));
  } catch (const UsageError& e) {
    fail(where, ": options record: ", e.what());
  }
  o.hidden = num("hidden");
  o.feat_dim = num("feat_dim");
  o.conv_channels = num("conv_channels");
  o.conv_kernel = num("conv_kernel");
  o.conv_stride = num("conv_stride");
  o.conv_padding = num("conv_padding");
  o.embed_size = num("embed_size");
  o.attn_size = num("attn_size");
  o.image_dim = num("image_dim");
  auto vit = kv.find("vocab");
  if (vit != kv.end()) {
    for (auto h : split_ws(vit->second)) {
      std::uint32_t v = 0;
      for (char c : h) {
        int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
        if (d < 0 || v > 0x10FFFF) fail(where, ": options record: bad vocabulary entry '", h, "'");
        v = v * 16 + static_cast<std::uint32_t>(d);
      }
      if (v > 0x10FFFF) fail(where, ": options record: bad vocabulary entry '", h, "'");
      o.vocab.push_back(static_cast<char32_t>(v));
    }
  }
  try {
    o.validate();
  } catch (const UsageError& e) {
    fail(where, ": options record: ", e.what());
  }
  return o;
}

Encoder parse_encoder(std::string_view s) {
  if (s == "s2i") return Encoder::S2I;
  if (s == "s2t") return Encoder::S2T;
  if (s == "t2i") return Encoder::T2I;
  if (s == "t2s") return Encoder::T2S;
  if (s == "i2s") return Encoder::I2S;
  if (s == "i2t") return Encoder::I2T;
  usage_fail("--encoder: unknown encoder '", s, "' (s2i, s2t, t2i, t2s, i2s, i2t)");
}

const char* encoder_name(Encoder e) {
  switch (e) {
    case Encoder::S2I: return "s2i";
    case Encoder::S2T: return "s2t";
    case Encoder::T2I: return "t2i";
    case Encoder::T2S: return "t2s";
    case Encoder::I2S: return "i2s";
    case Encoder::I2T: return "i2t";
  }
  return "?";
}

Task encoder_task(Encoder e) {
  switch (e) {
    case Encoder::S2I:
    case Encoder::I2S: return Task::SI;
    case Encoder::S2T:
    case Encoder::T2S: return Task::ST;
    case Encoder::T2I:
    case Encoder::I2T: return Task::TI;
  }
  return Task::SI;
}

}  // namespace sb::model

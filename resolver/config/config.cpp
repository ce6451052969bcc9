#include "config/config.hpp"

#include "config/services.hpp"
#include "default_config.hpp"

#include <toml.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <thread>
#include <tuple>

#include <unistd.h>

namespace vpcedns::config {

namespace {

using key_list = std::initializer_list<std::string_view>;

// Anything larger is not a config file; refuse before toml11 copies it twice.
constexpr size_t max_file_size = 16 * 1024 * 1024;

const char* type_name(toml::value_t type) {
  switch (type) {
    case toml::value_t::boolean:
      return "a boolean";
    case toml::value_t::integer:
      return "an integer";
    case toml::value_t::floating:
      return "a float";
    case toml::value_t::string:
      return "a string";
    case toml::value_t::array:
      return "an array";
    case toml::value_t::table:
      return "a table";
    case toml::value_t::empty:
      return "nothing";
    default:
      return "a date/time";
  }
}

std::string toml_quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// The value as the user typed it when it sits on one line, so a message quotes
// exactly what is in the file; a short rendering otherwise.
std::string source_text(const toml::value& v) {
  const toml::source_location loc = v.location();
  const std::string& line = loc.line_str();
  size_t begin = loc.column() - 1, size = loc.region();
  if (!v.is_table() && size > 0 && begin + size <= line.size()) return line.substr(begin, size);

  switch (v.type()) {
    case toml::value_t::string:
      return toml_quoted(v.as_string().str);
    case toml::value_t::array:
      return "[...]";
    case toml::value_t::table:
      return "{...}";
    default:
      return toml::format(v);
  }
}

unsigned line_of(const toml::value& v) {
  return v.location().line();
}

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string indexed(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

std::string listed(key_list keys) {
  std::string out;
  for (auto key : keys) out += (out.empty() ? "" : ", ") + std::string(key);
  return out;
}

// Levenshtein distance, to suggest the key a typo was meant to be.
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The allowed key a typo most likely meant, or empty if none is close. Short keys
// allow fewer edits, so "id" is not taken for "az".
std::string_view closest(std::string_view typo, key_list allowed) {
  std::string_view best;
  size_t best_distance = SIZE_MAX;
  for (auto candidate : allowed) {
    size_t d = edit_distance(typo, candidate);
    if (d <= std::max<size_t>(1, candidate.size() / 3) && d < best_distance) {
      best = candidate;
      best_distance = d;
    }
  }
  return best;
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// What is wrong with a private DNS name (lowercase, no trailing dot), or empty.
// Underscores are allowed because AWS service names use them in a few places.
// A private DNS zone at or above vpce.amazonaws.com, or inside it, would shadow
// the endpoint-specific names that AWS publishes publicly for everyone.
std::string covers_vpce_names(const std::string& name) {
  std::string base = name.starts_with("*.") ? name.substr(2) : name;
  const std::string vpce = "vpce.amazonaws.com";
  bool covers = vpce == base || vpce.ends_with("." + base);
  bool inside = base.ends_with("." + vpce);
  if (!covers && !inside) return {};
  return std::string(covers ? "covers" : "is inside") +
         " vpce.amazonaws.com, where the public endpoint-specific (vpce-...) names live; "
         "name the service's own domain instead (e.g. \"sqs.us-east-1.amazonaws.com\")";
}

std::string dns_name_problem(std::string_view name) {
  if (name.empty()) return "empty name";
  if (name.size() > 253) return "longer than 253 characters";
  if (name.starts_with("*.")) name.remove_prefix(2);
  size_t start = 0;
  while (true) {
    size_t dot = name.find('.', start);
    std::string_view label = name.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (label.empty()) return "empty label (two dots in a row, or a leading dot?)";
    if (label.size() > 63)
      return "label \"" + std::string(label) + "\" is longer than 63 characters";
    for (char c : label) {
      if (c == '*') return "'*' is only allowed as the whole first label (\"*.example.com\")";
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_')
        return std::string("invalid character '") + c + "'; allowed: a-z, 0-9, '-', '_'";
    }
    if (dot == std::string_view::npos) return {};
    start = dot + 1;
  }
}

const view::ip_address any_v4{};
const view::ip_address any_v6{view::ip_address::family::v6, {}};

bool is_loopback_or_any(const view::ip_address& a) {
  if (a.is_v4()) return a.bytes[0] == 127 || a == any_v4;
  view::ip_address loopback_v6 = any_v6;
  loopback_v6.bytes[15] = 1;
  return a == any_v6 || a == loopback_v6;
}

// True when forwarding to `upstream` would send queries back to `listen`.
// Only what is certain from the config: the same address, or a wildcard
// listener and an upstream on this host with the same port. An upstream that is
// another address of one of this host's interfaces is not detected.
bool same_socket(const view::socket_address& upstream, const view::socket_address& listen) {
  if (upstream.port != listen.port) return false;
  view::ip_address up = upstream.addr.unmapped(), at = listen.addr.unmapped();
  if (up == at) return true;
  // A [::] socket also takes IPv4 unless IPV6_V6ONLY is set; 0.0.0.0 takes only IPv4.
  bool wildcard = at == any_v6 || (at == any_v4 && up.is_v4());
  return wildcard && is_loopback_or_any(up);
}

// An element of an array, with its key path such as "vpc[1].cidrs[2]".
struct element {
  std::string path;
  const toml::value* v;
};

struct located_address {
  view::socket_address addr;
  element at;
};

// "endpoint[3].enis" -> "endpoint.enis", for naming a TOML table header.
std::string unindexed(const std::string& path) {
  std::string out;
  bool skipping = false;
  for (char c : path) {
    if (c == '[') skipping = true;
    if (!skipping) out += c;
    if (c == ']') skipping = false;
  }
  return out;
}

// One error or warning, kept with its position so the report is in file order.
struct message {
  unsigned line;
  unsigned column;
  std::string text;
  bool operator<(const message& other) const {
    return std::tie(line, column) < std::tie(other.line, other.column);
  }
};

// Reads the parsed TOML tree into settings, collecting every problem it finds.
class reader {
 public:
  explicit reader(std::string file) : file_(std::move(file)) {}

  // Throws config::error listing every problem, in file order.
  settings read(const toml::value& root);

 private:
  // Reporting: "<file>:<line>: <path>: <problem>"; *_value quotes the value.
  void fail_at(unsigned line, const std::string& path, const std::string& problem,
               unsigned column = 0);
  void fail(const toml::value& at, const std::string& path, const std::string& problem);
  void fail_value(const toml::value& at, const std::string& path, const std::string& problem);
  void warn(const toml::value& at, const std::string& path, const std::string& problem);

  // Typed access. Each reports what is wrong and returns nothing on failure.
  bool check_type(const toml::value& v, const std::string& path, toml::value_t want,
                  const char* want_text = nullptr);
  const toml::value* field(const toml::value& table, const std::string& path, std::string_view key,
                           toml::value_t want, bool required, const char* want_text = nullptr);
  void check_keys(const toml::value& table, const std::string& path, key_list allowed);
  std::optional<std::string> string(const toml::value& table, const std::string& path,
                                    std::string_view key, bool required);
  std::optional<std::string> matching(const toml::value& table, const std::string& path,
                                      std::string_view key, const std::regex& pattern,
                                      const std::string& problem);
  std::optional<bool> boolean(const toml::value& table, const std::string& path,
                              std::string_view key);
  std::optional<int64_t> integer(const toml::value& table, const std::string& path,
                                 std::string_view key, int64_t low, int64_t high);
  // The elements of an array of strings / of tables; wrong-typed ones are reported.
  // An empty array is reported when required.
  std::vector<element> strings(const toml::value& table, const std::string& path,
                               std::string_view key, bool required, const char* example = nullptr);
  std::vector<element> tables(const toml::value& table, const std::string& path,
                              std::string_view key, bool required, const char* example = nullptr);
  std::vector<element> elements(const toml::value& table, const std::string& path,
                                std::string_view key, toml::value_t type, bool required,
                                const char* example);
  std::vector<located_address> addresses(const toml::value& table, const std::string& path,
                                         std::string_view key, bool required);

  // Sections, in file-format order.
  void read_listen(const toml::value& root, settings& s);
  void read_forward(const toml::value& root, settings& s);
  void read_log(const toml::value& root, settings& s);
  void read_server(const toml::value& root, settings& s);
  void read_allow(const toml::value& server, settings& s);
  void read_chaos(const toml::value& server, settings& s);
  void default_allow(settings& s);
  void read_cache(const toml::value& root, settings& s);
  void read_vpc(const toml::value& t, const std::string& path, settings& s);
  void read_cidrs(const toml::value& t, const std::string& path, vpc& v);
  void read_endpoint(const toml::value& t, const std::string& path, settings& s);
  void read_service(const toml::value& t, const std::string& path, endpoint& e);
  void read_vpc_name(const toml::value& t, const std::string& path, endpoint& e);
  void read_private_dns(const toml::value& t, const std::string& path, endpoint& e);
  void read_enis(const toml::value& t, const std::string& path, endpoint& e);
  void read_eni(const toml::value& t, const std::string& path, const endpoint& e, eni& out);
  void check_private_dns_overlap(const settings& s);
  void read_control(const toml::value& root, settings& s);
  void read_zone(const toml::value& t, const std::string& path, settings& s);
  void read_zone_vpcs(const toml::value& t, const std::string& path, zone& z);
  std::string resolve(const std::string& file) const;

  std::string file_;
  std::vector<message> errors_;
  std::vector<message> warnings_;
  std::map<std::string, unsigned> vpc_lines_;                            // vpc name -> line
  std::map<std::pair<std::string, std::string>, unsigned> zone_owners_;  // (vpc, origin) -> line
  std::map<std::string, std::string> cidr_owners_;  // "10.0.0.0/16" -> where it was seen
  std::map<std::string, unsigned> endpoint_lines_;  // endpoint id -> line
  bool allow_set_ = false;                          // [server] allow given
};

std::string host_name();

void reader::fail_at(unsigned line, const std::string& path, const std::string& problem,
                     unsigned column) {
  std::string text = file_ + ":" + std::to_string(line) + ": " + path + ": " + problem;
  errors_.push_back({line, column, std::move(text)});
}

void reader::fail(const toml::value& at, const std::string& path, const std::string& problem) {
  fail_at(line_of(at), path, problem, at.location().column());
}

void reader::fail_value(const toml::value& at, const std::string& path,
                        const std::string& problem) {
  fail(at, path + " = " + source_text(at), problem);
}

void reader::warn(const toml::value& at, const std::string& path, const std::string& problem) {
  unsigned line = line_of(at);
  std::string text = file_ + ":" + std::to_string(line) + ": " + path + ": " + problem;
  warnings_.push_back({line, at.location().column(), std::move(text)});
}

bool reader::check_type(const toml::value& v, const std::string& path, toml::value_t want,
                        const char* want_text) {
  if (v.type() == want) return true;
  fail_value(v, path,
             std::string("expected ") + (want_text ? want_text : type_name(want)) + ", got " +
                 type_name(v.type()));
  return false;
}

const toml::value* reader::field(const toml::value& table, const std::string& path,
                                 std::string_view key, toml::value_t want, bool required,
                                 const char* want_text) {
  const auto& entries = table.as_table();
  auto it = entries.find(std::string(key));
  if (it == entries.end()) {
    if (required && want == toml::value_t::table)
      fail(table, join(path, key), "missing; add a [" + join(path, key) + "] table");
    else if (required)
      fail(table, join(path, key), "missing; this key is required");
    return nullptr;
  }
  return check_type(it->second, join(path, key), want, want_text) ? &it->second : nullptr;
}

void reader::check_keys(const toml::value& table, const std::string& path, key_list allowed) {
  // Sorted, so several typos on one line are reported in a stable order.
  std::map<std::string, const toml::value*> unknown;
  for (const auto& [key, v] : table.as_table())
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) unknown[key] = &v;

  for (const auto& [key, v] : unknown) {
    std::string problem = "unknown key";
    if (auto guess = closest(key, allowed); !guess.empty())
      problem += "; did you mean \"" + std::string(guess) + "\"?";
    fail(*v, join(path, key), problem + " (allowed here: " + listed(allowed) + ")");
  }
}

std::optional<std::string> reader::string(const toml::value& table, const std::string& path,
                                          std::string_view key, bool required) {
  const toml::value* v = field(table, path, key, toml::value_t::string, required);
  if (!v) return std::nullopt;
  return v->as_string().str;
}

std::optional<std::string> reader::matching(const toml::value& table, const std::string& path,
                                            std::string_view key, const std::regex& pattern,
                                            const std::string& problem) {
  auto text = string(table, path, key, true);
  if (!text) return std::nullopt;
  if (std::regex_match(*text, pattern)) return text;
  fail_value(table.as_table().at(std::string(key)), join(path, key), problem);
  return std::nullopt;
}

std::optional<bool> reader::boolean(const toml::value& table, const std::string& path,
                                    std::string_view key) {
  const toml::value* v =
      field(table, path, key, toml::value_t::boolean, false, "a boolean (true or false)");
  if (!v) return std::nullopt;
  return v->as_boolean();
}

std::optional<int64_t> reader::integer(const toml::value& table, const std::string& path,
                                       std::string_view key, int64_t low, int64_t high) {
  const toml::value* v = field(table, path, key, toml::value_t::integer, false);
  if (!v) return std::nullopt;
  int64_t n = v->as_integer();
  if (n >= low && n <= high) return n;
  fail_value(*v, join(path, key), "must be " + std::to_string(low) + "-" + std::to_string(high));
  return std::nullopt;
}

std::vector<element> reader::elements(const toml::value& table, const std::string& path,
                                      std::string_view key, toml::value_t type, bool required,
                                      const char* example) {
  std::vector<element> out;
  const std::string key_path = join(path, key);
  const std::string want = type == toml::value_t::string
                               ? std::string("an array of strings")
                               : "an array of tables ([[" + unindexed(key_path) + "]])";
  const toml::value* array = field(table, path, key, toml::value_t::array, required, want.c_str());
  if (!array) return out;
  if (required && array->as_array().empty())
    fail_value(*array, key_path, std::string("must not be empty") + (example ? example : ""));

  size_t i = 0;
  for (const auto& v : array->as_array()) {
    std::string item = indexed(key_path, i++);
    if (check_type(v, item, type)) out.push_back({item, &v});
  }
  return out;
}

std::vector<element> reader::strings(const toml::value& table, const std::string& path,
                                     std::string_view key, bool required, const char* example) {
  return elements(table, path, key, toml::value_t::string, required, example);
}

std::vector<element> reader::tables(const toml::value& table, const std::string& path,
                                    std::string_view key, bool required, const char* example) {
  return elements(table, path, key, toml::value_t::table, required, example);
}

std::vector<located_address> reader::addresses(const toml::value& table, const std::string& path,
                                               std::string_view key, bool required) {
  std::vector<located_address> out;
  std::map<std::string, std::string> seen;  // "ip:port" -> path of its first mention
  for (const element& item : strings(table, path, key, required, " (e.g. [\"127.0.0.1:53\"])")) {
    std::string why;
    auto addr = view::socket_address::parse(item.v->as_string().str, 53, &why);
    if (!addr) {
      fail_value(*item.v, item.path, why);
      continue;
    }
    auto [first, fresh] = seen.emplace(addr->to_string(), item.path);
    if (!fresh) {
      fail_value(*item.v, item.path, "same address as " + first->second);
      continue;
    }
    out.push_back({*addr, item});
  }
  return out;
}

void reader::read_listen(const toml::value& root, settings& s) {
  const toml::value* listen = field(root, "", "listen", toml::value_t::table, true);
  if (!listen) return;
  check_keys(*listen, "listen", {"addresses"});

  for (const auto& a : addresses(*listen, "listen", "addresses", true)) s.listen.push_back(a.addr);
}

void reader::read_forward(const toml::value& root, settings& s) {
  forward_settings& f = s.forward;
  f.use_resolv_conf = true;
  const toml::value* forward = field(root, "", "forward", toml::value_t::table, false);
  if (!forward) return;
  check_keys(*forward, "forward", {"upstreams", "timeout_ms", "attempts"});

  for (const auto& up : addresses(*forward, "forward", "upstreams", false)) {
    auto loop = std::find_if(s.listen.begin(), s.listen.end(),
                             [&](const auto& listen) { return same_socket(up.addr, listen); });
    if (loop != s.listen.end())
      fail_value(*up.at.v, up.at.path,
                 "reaches our own listen address " + loop->to_string() +
                     "; that is a forwarding loop (vpcedns would forward queries to itself)");
    f.upstreams.push_back(up.addr);
  }
  f.use_resolv_conf = f.upstreams.empty();

  if (auto v = integer(*forward, "forward", "timeout_ms", 1, 60000)) f.timeout_ms = *v;
  if (auto v = integer(*forward, "forward", "attempts", 1, 10)) f.attempts = *v;
}

void reader::read_log(const toml::value& root, settings& s) {
  static const key_list levels = {"trace", "debug", "info", "warn", "error", "critical", "off"};
  const toml::value* log = field(root, "", "log", toml::value_t::table, false);
  if (!log) return;
  check_keys(*log, "log", {"level", "queries"});

  if (auto level = string(*log, "log", "level", false)) {
    if (std::find(levels.begin(), levels.end(), *level) != levels.end())
      s.log_level = *level;
    else
      fail_value(log->at("level"), "log.level", "unknown level; allowed: " + listed(levels));
  }
  if (auto queries = boolean(*log, "log", "queries")) s.log_queries = *queries;
}

void reader::read_server(const toml::value& root, settings& s) {
  // One worker per core unless the file says otherwise.
  s.threads = std::max(1u, std::thread::hardware_concurrency());
  const toml::value* server = field(root, "", "server", toml::value_t::table, false);
  if (!server) return;
  check_keys(*server, "server",
             {"threads", "edns_udp_max", "tcp_idle_timeout_ms", "max_tcp_connections", "allow",
              "chaos", "chaos_id"});

  if (auto threads = integer(*server, "server", "threads", 0, 64)) {
    // 0 means one per core; hardware_concurrency() may itself answer 0.
    s.threads = *threads ? static_cast<unsigned>(*threads)
                         : std::max(1u, std::thread::hardware_concurrency());
  }
  if (auto size = integer(*server, "server", "edns_udp_max", 512, 4096))
    s.edns_udp_max = static_cast<uint16_t>(*size);
  if (auto ms = integer(*server, "server", "tcp_idle_timeout_ms", 100, 600000))
    s.tcp_idle_timeout_ms = static_cast<unsigned>(*ms);
  if (auto n = integer(*server, "server", "max_tcp_connections", 1, 65535))
    s.max_tcp_connections = static_cast<unsigned>(*n);
  read_allow(*server, s);
  read_chaos(*server, s);
}

void reader::read_allow(const toml::value& server, settings& s) {
  if (!server.contains("allow")) return;
  allow_set_ = true;
  auto items = strings(server, "server", "allow", true,
                       " (e.g. [\"10.0.0.0/16\"]; [\"0.0.0.0/0\", \"::/0\"] allows everyone)");
  for (const element& item : items) {
    std::string why;
    if (auto prefix = view::cidr::parse(item.v->as_string().str, &why))
      s.allow.push_back(*prefix);
    else
      fail_value(*item.v, item.path, why);
  }
}

void reader::read_chaos(const toml::value& server, settings& s) {
  if (auto mode = string(server, "server", "chaos", false)) {
    if (*mode == "answer")
      s.chaos = settings::chaos_mode::answer;
    else if (*mode == "refuse")
      s.chaos = settings::chaos_mode::refuse;
    else
      fail_value(server.at("chaos"), "server.chaos", "allowed: \"answer\", \"refuse\"");
  }
  if (auto id = string(server, "server", "chaos_id", false)) {
    if (id->empty() || id->size() > 255)
      fail_value(server.at("chaos_id"), "server.chaos_id",
                 "must be 1-255 characters (one TXT string)");
    else
      s.chaos_id = *id;
  }
}

// The default allow list: this host and every VPC, nobody else.
void reader::default_allow(settings& s) {
  if (allow_set_) return;
  std::string why;
  for (const char* text : {"127.0.0.0/8", "::1/128"})
    s.allow.push_back(*view::cidr::parse(text, &why));
  for (const auto& v : s.vpcs) s.allow.insert(s.allow.end(), v.cidrs.begin(), v.cidrs.end());
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == 0) return "vpcedns";
  return buf;
}

void reader::read_cache(const toml::value& root, settings& s) {
  const toml::value* cache = field(root, "", "cache", toml::value_t::table, false);
  if (!cache) return;
  check_keys(*cache, "cache",
             {"max_entries", "servfail_ttl", "max_ttl", "min_ttl", "serve_stale", "stale_ttl"});
  cache_settings& c = s.cache;
  if (auto v = integer(*cache, "cache", "max_entries", 0, 10000000)) c.max_entries = *v;
  if (auto v = integer(*cache, "cache", "servfail_ttl", 0, 300)) c.servfail_ttl = *v;
  if (auto v = integer(*cache, "cache", "max_ttl", 1, 604800)) c.max_ttl = *v;
  if (auto v = integer(*cache, "cache", "min_ttl", 0, 86400)) c.min_ttl = *v;
  if (auto v = boolean(*cache, "cache", "serve_stale")) c.serve_stale = *v;
  if (auto v = integer(*cache, "cache", "stale_ttl", 1, 3600)) c.stale_ttl = *v;
  if (c.min_ttl > c.max_ttl)
    fail_value(cache->at("min_ttl"), "cache.min_ttl",
               "is above cache.max_ttl (" + std::to_string(c.max_ttl) +
                   "); lower min_ttl or raise max_ttl");
}

void reader::read_vpc(const toml::value& t, const std::string& path, settings& s) {
  static const std::regex name_pattern("[A-Za-z0-9_.-]+");
  check_keys(t, path, {"name", "cidrs"});
  vpc v;

  if (auto name = matching(t, path, "name", name_pattern,
                           "must be letters, digits, '_', '.' or '-' (e.g. \"prod-app\")")) {
    auto [first, fresh] = vpc_lines_.emplace(*name, line_of(t));
    if (!fresh)
      fail_value(t.at("name"), path + ".name",
                 "another [[vpc]] has this name (line " + std::to_string(first->second) + ")");
    v.name = *name;
  }
  read_cidrs(t, path, v);
  s.vpcs.push_back(std::move(v));
}

void reader::read_cidrs(const toml::value& t, const std::string& path, vpc& v) {
  for (const element& item : strings(t, path, "cidrs", true, " (e.g. [\"10.0.0.0/16\"])")) {
    std::string why;
    auto prefix = view::cidr::parse(item.v->as_string().str, &why);
    if (!prefix) {
      fail_value(*item.v, item.path, why);
      continue;
    }
    // Mapped clients are matched as IPv4, so a ::ffff:a.b.c.d/n prefix never matches.
    auto unmapped = prefix->network.unmapped();
    if (!prefix->network.is_v4() && unmapped.is_v4() && prefix->length >= 96) {
      fail_value(*item.v, item.path,
                 "IPv4-mapped clients are matched as IPv4; write " + unmapped.to_string() + "/" +
                     std::to_string(prefix->length - 96));
      continue;
    }
    std::string owner = "vpc \"" + v.name + "\" (line " + std::to_string(line_of(*item.v)) + ")";
    auto [first, fresh] = cidr_owners_.emplace(prefix->to_string(), owner);
    if (!fresh) fail_value(*item.v, item.path, "already listed by " + first->second);
    v.cidrs.push_back(*prefix);
  }
}

void reader::read_endpoint(const toml::value& t, const std::string& path, settings& s) {
  static const std::regex id_pattern("vpce-[0-9a-f]{1,17}");
  static const std::regex suffix_pattern("[a-z0-9]{8}");
  check_keys(t, path,
             {"id", "suffix", "service", "vpc", "private_dns", "private_dns_names", "enis"});
  endpoint e;
  e.line = static_cast<int>(line_of(t));

  if (auto id = matching(t, path, "id", id_pattern,
                         "must be \"vpce-\" and 1-17 lowercase hex digits, as AWS shows it")) {
    auto [first, fresh] = endpoint_lines_.emplace(*id, line_of(t));
    if (!fresh)
      fail_value(t.at("id"), path + ".id",
                 "another [[endpoint]] has this id (line " + std::to_string(first->second) + ")");
    e.id = *id;
  }
  if (auto suffix = matching(t, path, "suffix", suffix_pattern,
                             "must be the 8 lowercase letters/digits after the id in the "
                             "endpoint's DNS names (vpce-<id>-<suffix>...)"))
    e.suffix = *suffix;

  read_service(t, path, e);
  read_vpc_name(t, path, e);
  if (auto on = boolean(t, path, "private_dns")) e.private_dns = *on;
  read_private_dns(t, path, e);
  read_enis(t, path, e);
  s.endpoints.push_back(std::move(e));
}

void reader::read_service(const toml::value& t, const std::string& path, endpoint& e) {
  static const std::regex service_pattern(
      // com.amazonaws.<region>.<service key>; regions as us-east-1, us-gov-west-1, cn-north-1.
      R"(com\.amazonaws\.([a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-[0-9])\.)"
      R"(([a-z0-9-]+(?:\.[a-z0-9-]+)*))");
  auto service = string(t, path, "service", true);
  if (!service) return;
  std::smatch m;
  if (!std::regex_match(*service, m, service_pattern)) {
    fail_value(t.at("service"), path + ".service",
               "must be \"com.amazonaws.<region>.<service>\" as AWS names it "
               "(e.g. \"com.amazonaws.us-east-1.sqs\")");
    return;
  }
  e.service = *service;
  e.region = m[1];
  e.service_key = m[2];
}

void reader::read_vpc_name(const toml::value& t, const std::string& path, endpoint& e) {
  auto name = string(t, path, "vpc", true);
  if (!name) return;
  e.vpc = *name;
  if (vpc_lines_.count(*name)) return;

  std::string known;
  for (const auto& [n, line] : vpc_lines_) known += (known.empty() ? "" : ", ") + toml_quoted(n);
  fail_value(t.at("vpc"), path + ".vpc",
             "no [[vpc]] has this name" + (known.empty() ? "" : "; defined: " + known));
}

void reader::read_private_dns(const toml::value& t, const std::string& path, endpoint& e) {
  auto builtin =
      e.service_key.empty() ? std::nullopt : builtin_service_names(e.service_key, e.region);
  e.vpce_service = builtin ? builtin->vpce_service : reversed_labels(e.service_key);

  const std::string key_path = path + ".private_dns_names";
  auto items = strings(t, path, "private_dns_names", false);
  if (!t.contains("private_dns_names")) {
    if (builtin)
      e.private_dns_names = builtin->private_dns_names;
    else if (e.private_dns && !e.service_key.empty())
      fail_value(t.at("service"), path + ".service",
                 "vpcedns does not know the private DNS names of \"" + e.service_key +
                     "\"; set private_dns_names (e.g. [\"" + e.service_key + "." + e.region +
                     ".amazonaws.com\"]) or private_dns = false");
    return;
  }

  const toml::value& array = t.at("private_dns_names");
  if (!e.private_dns) warn(array, key_path, "has no effect while private_dns = false");
  if (array.is_array() && array.as_array().empty() && e.private_dns)
    fail_value(array, key_path, "must list at least one name, or set private_dns = false");
  for (const element& item : items) {
    std::string name = lowercase(item.v->as_string().str);
    if (name.ends_with('.')) name.pop_back();
    if (auto problem = dns_name_problem(name); !problem.empty())
      fail_value(*item.v, item.path, problem);
    else if (std::count(e.private_dns_names.begin(), e.private_dns_names.end(), name))
      fail_value(*item.v, item.path, "listed twice");
    else if (auto clash = covers_vpce_names(name); !clash.empty())
      fail_value(*item.v, item.path, clash);
    else
      e.private_dns_names.push_back(name);
  }
}

void reader::read_enis(const toml::value& t, const std::string& path, endpoint& e) {
  std::map<std::string, unsigned> az_lines;
  for (const element& item :
       tables(t, path, "enis", true, " (e.g. [{ az = \"us-east-1a\", ipv4 = \"10.0.1.10\" }])")) {
    eni out;
    read_eni(*item.v, item.path, e, out);
    if (!out.az.empty()) {
      auto [first, fresh] = az_lines.emplace(out.az, line_of(*item.v));
      if (!fresh)
        fail_value(item.v->at("az"), item.path + ".az",
                   "another ENI of this endpoint is in this zone (line " +
                       std::to_string(first->second) + "); AWS puts one ENI per zone");
    }
    e.enis.push_back(out);
  }
}

void reader::read_eni(const toml::value& t, const std::string& path, const endpoint& e, eni& out) {
  // After the region: the zone letter ("us-east-1a"), or a Local Zone ("us-east-1-bos-1a").
  static const std::regex zone_suffix("[a-z]|-[a-z0-9-]+");
  check_keys(t, path, {"az", "ipv4", "ipv6"});

  if (auto az = string(t, path, "az", true)) {
    bool ok = e.region.empty() || (az->starts_with(e.region) &&
                                   std::regex_match(az->substr(e.region.size()), zone_suffix));
    if (ok)
      out.az = *az;
    else
      fail_value(
          t.at("az"), path + ".az",
          "must be a zone of the service's region " + e.region + " (e.g. \"" + e.region + "a\")");
  }

  for (auto [key, want_v4] : {std::pair{"ipv4", true}, std::pair{"ipv6", false}}) {
    auto text = string(t, path, key, want_v4);
    if (!text) continue;
    auto addr = view::ip_address::parse(*text);
    if (!addr || addr->is_v4() != want_v4) {
      fail_value(
          t.at(key), join(path, key),
          want_v4 ? "must be an IPv4 address (IPv6 goes in ipv6)" : "must be an IPv6 address");
      continue;
    }
    if (want_v4)
      out.ipv4 = *addr;
    else
      out.ipv6 = *addr;
  }
}

// AWS lets only one endpoint per VPC turn on private DNS for a given name; two
// here would make the answer depend on config order.
void reader::check_private_dns_overlap(const settings& s) {
  std::map<std::pair<std::string, std::string>, const endpoint*> owners;  // (vpc, name)
  for (size_t i = 0; i < s.endpoints.size(); ++i) {
    const endpoint& e = s.endpoints[i];
    if (!e.private_dns) continue;
    for (const auto& name : e.private_dns_names) {
      auto [first, fresh] = owners.emplace(std::pair{e.vpc, name}, &e);
      if (fresh) continue;
      const endpoint& other = *first->second;
      fail_at(e.line, indexed("endpoint", i) + " (" + e.id + ")",
              "private DNS name \"" + name + "\" is also claimed by " + other.id + " (line " +
                  std::to_string(other.line) + ") in vpc \"" + e.vpc +
                  "\"; set private_dns = false on one of them");
    }
  }
}

void reader::read_control(const toml::value& root, settings& s) {
  const toml::value* control = field(root, "", "control", toml::value_t::table, false);
  if (!control) return;
  check_keys(*control, "control", {"socket"});
  auto socket = string(*control, "control", "socket", false);
  if (!socket) return;
  // sockaddr_un.sun_path holds 108 bytes, the terminating NUL included.
  if (!socket->starts_with("/") || socket->size() > 107)
    fail_value(control->at("socket"), "control.socket",
               "must be an absolute path of at most 107 bytes "
               "(e.g. \"/run/vpcedns/control.sock\")");
  else
    s.control.socket = *socket;
}

// Relative zone paths are relative to the config file's directory, so a config
// and its zones/ can be moved together and started from any directory.
std::string reader::resolve(const std::string& file) const {
  if (file.starts_with("/")) return file;
  auto slash = file_.rfind('/');
  if (slash == std::string::npos || file_.starts_with("<")) return file;
  return file_.substr(0, slash + 1) + file;
}

void reader::read_zone(const toml::value& t, const std::string& path, settings& s) {
  check_keys(t, path, {"file", "origin", "vpcs"});
  zone z;
  z.line = static_cast<int>(line_of(t));
  if (auto file = string(t, path, "file", true)) {
    if (file->empty())
      fail_value(t.at("file"), path + ".file",
                 "must name a zone file (e.g. \"zones/corp.internal.zone\")");
    z.file = *file;
    z.path = resolve(*file);
  }

  if (auto origin = string(t, path, "origin", false)) {
    z.origin = lowercase(*origin);
    if (z.origin.ends_with('.')) z.origin.pop_back();
    if (auto problem = dns_name_problem(z.origin); !problem.empty() || z.origin.starts_with("*"))
      fail_value(t.at("origin"), path + ".origin",
                 problem.empty() ? "a zone apex cannot be a wildcard" : problem);
  } else if (!z.file.empty()) {
    // "zones/corp.internal.zone" -> "corp.internal"
    std::string base = z.file.substr(z.file.rfind('/') + 1);
    if (base.ends_with(".zone")) base.resize(base.size() - 5);
    z.origin = lowercase(base);
    if (auto problem = dns_name_problem(z.origin); !problem.empty())
      fail_value(t.at("file"), path + ".file",
                 "cannot take the zone's origin from the file name (" + problem +
                     "); set origin (e.g. origin = \"corp.internal\")");
  }
  read_zone_vpcs(t, path, z);
  s.zones.push_back(std::move(z));
}

// Like Route 53, a VPC can be associated with only one private zone of a name.
void reader::read_zone_vpcs(const toml::value& t, const std::string& path, zone& z) {
  for (const element& item : strings(t, path, "vpcs", true, " (e.g. [\"dev\"])")) {
    const std::string& name = item.v->as_string().str;
    if (!vpc_lines_.count(name)) {
      fail_value(*item.v, item.path, "no [[vpc]] has this name");
      continue;
    }
    if (std::count(z.vpcs.begin(), z.vpcs.end(), name)) {
      fail_value(*item.v, item.path, "listed twice");
      continue;
    }
    auto [first, fresh] = zone_owners_.emplace(std::pair{name, z.origin}, line_of(t));
    if (!fresh && !z.origin.empty())
      fail_value(*item.v, item.path,
                 "vpc \"" + name + "\" already has a zone \"" + z.origin + "\" (line " +
                     std::to_string(first->second) + "); a VPC takes one zone per name");
    z.vpcs.push_back(name);
  }
}

settings reader::read(const toml::value& root) {
  settings s;
  check_keys(root, "",
             {"listen", "forward", "log", "server", "cache", "control", "vpc", "endpoint", "zone"});
  read_listen(root, s);
  read_forward(root, s);
  read_log(root, s);
  read_server(root, s);
  read_control(root, s);
  read_cache(root, s);

  // VPCs before endpoints, so an endpoint may name a VPC defined later in the file.
  for (const element& item : tables(root, "", "vpc", false)) read_vpc(*item.v, item.path, s);
  for (const element& item : tables(root, "", "endpoint", false))
    read_endpoint(*item.v, item.path, s);
  check_private_dns_overlap(s);
  for (const element& item : tables(root, "", "zone", false)) read_zone(*item.v, item.path, s);
  default_allow(s);
  if (s.chaos_id.empty()) s.chaos_id = host_name();

  std::stable_sort(warnings_.begin(), warnings_.end());
  for (auto& w : warnings_) s.warnings.push_back(std::move(w.text));
  if (errors_.empty()) return s;

  std::stable_sort(errors_.begin(), errors_.end());
  std::string report;
  for (const auto& e : errors_) report += (report.empty() ? "" : "\n") + e.text;
  throw error(report);
}

// toml11 formats syntax errors as a banner, a source excerpt with ^--- markers and
// hints. Recast that as "<file>:<line>:" lines like every other config error.
std::string describe_syntax_error(const toml::exception& e, const std::string& file) {
  static const std::regex function_prefix(R"(^(\[error\] )?(toml::[A-Za-z_:]+: ?)?)");
  static const std::regex source_line(R"(^ *(\d+) \| (.*)$)");
  static const std::regex marker(R"(^ *\| *[\^~]+-* ?(.*)$)");
  std::istringstream in(e.what());
  std::string text, headline;
  std::getline(in, text);
  headline = std::regex_replace(text, function_prefix, "");
  while (!headline.empty() && (headline.back() == '.' || headline.back() == ' '))
    headline.pop_back();

  std::vector<std::string> notes;
  std::string line_number, code;
  std::smatch m;
  while (std::getline(in, text)) {
    if (std::regex_match(text, m, source_line)) {
      line_number = m[1];
      code = m[2];
    } else if (std::regex_match(text, m, marker) && !line_number.empty()) {
      std::string note = m[1].length() ? m[1].str() : "here";
      if (note.ends_with('.')) note.pop_back();
      if (headline.empty()) headline = note;
      bool blank = code.find_first_not_of(" \t") == std::string::npos;
      notes.push_back(file + ":" + line_number + ": note: " + note + (blank ? "" : ": " + code));
    } else if (text.starts_with("Hint: ")) {
      notes.push_back(file + ":" + std::to_string(e.location().line()) +
                      ": hint: " + text.substr(6));
    }
  }

  std::string out = file + ":" + std::to_string(e.location().line()) +
                    ": TOML syntax error: " + (headline.empty() ? "invalid TOML" : headline);
  for (const auto& note : notes) out += "\n" + note;
  return out;
}

}  // namespace

settings load_file(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) throw error(path + ": cannot read: " + std::strerror(errno));

  std::string text;
  char buf[65536];
  while (size_t n = std::fread(buf, 1, sizeof buf, f.get())) {
    text.append(buf, n);
    if (text.size() > max_file_size)
      throw error(path + ": cannot read: larger than 16 MiB; is this the config file?");
  }
  if (std::ferror(f.get())) throw error(path + ": cannot read: " + std::strerror(errno));
  return load_string(text, path);
}

namespace {

// toml11 parses arrays and inline tables recursively, so a file nested a few
// thousand levels deep overflows the stack. No config needs more than a few
// levels: refuse anything deeper than this before toml11 sees it.
constexpr int max_nesting = 32;

// Returns the line where nesting first exceeds max_nesting, or 0. Skips
// strings (basic, literal, multi-line) and comments.
std::size_t too_deep_line(std::string_view t) {
  int depth = 0;
  std::size_t line = 1;
  for (std::size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    if (c == '\n') {
      ++line;
    } else if (c == '#') {
      while (i + 1 < t.size() && t[i + 1] != '\n') ++i;
    } else if (c == '"' || c == '\'') {
      bool multi = t.substr(i, 3) == std::string(3, c);
      std::string_view close = multi ? t.substr(i, 3) : t.substr(i, 1);
      for (i += close.size(); i < t.size() && t.substr(i, close.size()) != close; ++i) {
        if (t[i] == '\n') ++line;
        if (c == '"' && t[i] == '\\') ++i;  // escaped character in a basic string
      }
      i += close.size() - 1;
    } else if (c == '[' || c == '{') {
      if (++depth > max_nesting) return line;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return 0;
}

}  // namespace

settings load_string(std::string_view text, const std::string& name) {
  if (std::size_t line = too_deep_line(text))
    throw error(name + ":" + std::to_string(line) + ": arrays or inline tables nested more than " +
                std::to_string(max_nesting) + " levels deep; flatten the value");
  toml::value root;
  try {
    std::istringstream in{std::string(text)};
    root = toml::parse(in, name);
  } catch (const toml::exception& e) {
    throw error(describe_syntax_error(e, name));
  } catch (const std::exception& e) {
    throw error(name + ": cannot parse: " + e.what());
  }

  settings s;
  try {
    s = reader(name).read(root);
  } catch (const toml::exception& e) {
    // The reader checks every type before use; reaching this is a bug in it.
    throw error(name + ":" + std::to_string(e.location().line()) + ": internal error: " + e.what());
  }
  s.source = name;
  return s;
}

std::string_view embedded_default() {
  return generated::default_config;
}

std::string default_control_socket(unsigned uid, const char* (*env)(const char*)) {
  const char* dir = env("RUNTIME_DIRECTORY");
  // systemd may list several directories separated by ':'; the first is ours.
  if (dir && *dir) return std::string(dir).substr(0, std::string(dir).find(':')) + "/control.sock";
  if (uid == 0) return "/run/vpcedns/control.sock";
  if ((dir = env("XDG_RUNTIME_DIR")) && *dir) return std::string(dir) + "/vpcedns/control.sock";
  return "/tmp/vpcedns-" + std::to_string(uid) + "/control.sock";
}

}  // namespace vpcedns::config

// Tests for resolver/config/config.cpp and services.cpp: TOML text in, settings
// or a config::error naming file, line, key and problem out.
#include "config/config.hpp"
#include "config/services.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace vpcedns;
using config::settings;

namespace {

// Appended to every snippet that has no [listen] of its own, after the snippet so
// that the snippet's line numbers are the ones in the expected errors.
const std::string tail =
    "\n[listen]\naddresses = [\"127.0.0.1:5300\"]\n\n"
    "[[vpc]]\nname = \"dev\"\ncidrs = [\"192.0.2.0/24\"]\n";

// One row of a table-driven test: a snippet that loads (then `check` runs) or
// fails with an error containing `error` (which includes "t.toml:<line>:").
struct row {
  std::string what;
  std::string toml;
  bool fails = false;
  std::string error;
  std::function<void(const settings&)> check;
  bool whole_file = false;  // true: no tail appended
};

row ok(std::string what, std::string toml, std::function<void(const settings&)> check) {
  return {std::move(what), std::move(toml), false, {}, std::move(check)};
}

row bad(std::string what, std::string toml, std::string error) {
  return {std::move(what), std::move(toml), true, std::move(error), {}};
}

// A row whose snippet is the whole file, for when the tail would clash with it.
row whole(row r) {
  r.whole_file = true;
  return r;
}

std::string complete(const std::string& snippet) {
  return snippet.find("[listen]") == std::string::npos ? snippet + tail : snippet;
}

// The message of the config::error that loading `toml` throws, or "" if it loads.
std::string error_of(const std::string& toml) {
  try {
    config::load_string(toml, "t.toml");
  } catch (const config::error& e) {
    return e.what();
  }
  return "";
}

void run(const std::vector<row>& rows) {
  for (const row& r : rows) {
    INFO("row: " << r.what);
    std::string toml = r.whole_file ? r.toml : complete(r.toml);
    if (r.fails) {
      std::string message = error_of(toml);
      CHECK_MESSAGE(message.find(r.error) != std::string::npos, "expected \"" << r.error
                                                                              << "\" in:\n"
                                                                              << message);
      continue;
    }
    try {
      settings s = config::load_string(toml, "t.toml");
      if (r.check) r.check(s);
    } catch (const config::error& e) {
      FAIL_CHECK("unexpected error:\n" << std::string(e.what()));
    }
  }
}

// An [[endpoint]] in VPC "dev", one key per line: 1 header, 2 id, 3 suffix,
// 4 service, 5 vpc, 6 enis, then `extra` from line 7. `changes` replaces the line
// of a key; an empty replacement leaves a comment so the numbering stays.
std::string endpoint(std::map<std::string, std::string> changes = {}, std::string extra = "") {
  const std::vector<std::pair<std::string, std::string>> lines = {
      {"", "[[endpoint]]"},
      {"id", "id = \"vpce-0123456789abcdef0\""},
      {"suffix", "suffix = \"abcd1234\""},
      {"service", "service = \"com.amazonaws.us-east-1.sqs\""},
      {"vpc", "vpc = \"dev\""},
      {"enis", "enis = [{ az = \"us-east-1a\", ipv4 = \"10.0.1.10\" }]"},
  };
  std::string out;
  for (const auto& [key, line] : lines) {
    auto change = changes.find(key);
    if (change == changes.end())
      out += line + "\n";
    else
      out += (change->second.empty() ? "# no " + key : change->second) + "\n";
  }
  return out + extra;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("config: [listen] addresses parse with port 53 by default and must be valid and unique") {
  // Each row: a [listen] table; valid ones give the addresses, bad ones name the element.
  run({
      ok("v4, v6 and default ports",
         "[listen]\naddresses = [\"127.0.0.1:5300\", \"[::1]:5300\", \"10.0.0.1\", "
         "\"[fd00::1]\"]\n",
         [](const settings& s) {
           REQUIRE(s.listen.size() == 4);
           CHECK(s.listen[0].to_string() == "127.0.0.1:5300");
           CHECK(s.listen[1].to_string() == "[::1]:5300");
           CHECK(s.listen[2].to_string() == "10.0.0.1:53");
           CHECK(s.listen[3].to_string() == "[fd00::1]:53");
         }),
      whole(bad("no [listen]", "[log]\nlevel = \"info\"\n",
                "t.toml:1: listen: missing; add a [listen] table")),
      bad("[listen] without addresses", "[listen]\n", "t.toml:1: listen.addresses: missing"),
      bad("empty addresses", "[listen]\naddresses = []\n",
          "t.toml:2: listen.addresses = []: must not be empty"),
      bad("duplicate after defaulting the port",
          "[listen]\naddresses = [\"127.0.0.1\", \"127.0.0.1:53\"]\n",
          "t.toml:2: listen.addresses[1] = \"127.0.0.1:53\": same address as listen.addresses[0]"),
      bad("a name, not an address", "[listen]\naddresses = [\"localhost:53\"]\n",
          "t.toml:2: listen.addresses[0] = \"localhost:53\": 'localhost' is not an IP address"),
      bad("port out of range", "[listen]\naddresses = [\"127.0.0.1:65536\"]\n",
          "t.toml:2: listen.addresses[0] = \"127.0.0.1:65536\": port must be 1-65535"),
      bad("port zero", "[listen]\naddresses = [\"[::1]:0\"]\n", "port must be 1-65535"),
      bad("a string instead of an array", "[listen]\naddresses = \"127.0.0.1\"\n",
          "t.toml:2: listen.addresses = \"127.0.0.1\": expected an array of strings, got a string"),
      bad("a number in the array", "[listen]\naddresses = [\"127.0.0.1\", 53]\n",
          "t.toml:2: listen.addresses[1] = 53: expected a string, got an integer"),
      whole(bad("listen is not a table", "listen = \"127.0.0.1\"\n",
                "t.toml:1: listen = \"127.0.0.1\": expected a table, got a string")),
  });
}

TEST_CASE("config: [forward] upstreams, timeout_ms and attempts, with defaults and ranges") {
  // Each row: a [forward] table; absent or empty upstreams mean /etc/resolv.conf.
  run({
      ok("absent [forward] gives defaults", "",
         [](const settings& s) {
           CHECK(s.forward.upstreams.empty());
           CHECK(s.forward.use_resolv_conf);
           CHECK(s.forward.timeout_ms == 1000);
           CHECK(s.forward.attempts == 2);
         }),
      ok("empty upstreams use resolv.conf", "[forward]\nupstreams = []\n",
         [](const settings& s) { CHECK(s.forward.use_resolv_conf); }),
      ok("upstreams in order, default port 53",
         "[forward]\nupstreams = [\"10.0.0.2\", \"[2001:db8::1]:5353\"]\n"
         "timeout_ms = 60000\nattempts = 10\n",
         [](const settings& s) {
           REQUIRE(s.forward.upstreams.size() == 2);
           CHECK(s.forward.upstreams[0].to_string() == "10.0.0.2:53");
           CHECK(s.forward.upstreams[1].to_string() == "[2001:db8::1]:5353");
           CHECK_FALSE(s.forward.use_resolv_conf);
           CHECK(s.forward.timeout_ms == 60000);
           CHECK(s.forward.attempts == 10);
         }),
      ok("lowest timeout and attempts", "[forward]\ntimeout_ms = 1\nattempts = 1\n",
         [](const settings& s) {
           CHECK(s.forward.timeout_ms == 1);
           CHECK(s.forward.attempts == 1);
         }),
      bad("timeout 0", "[forward]\ntimeout_ms = 0\n",
          "t.toml:2: forward.timeout_ms = 0: must be 1-60000"),
      bad("timeout too long", "[forward]\ntimeout_ms = 60001\n", "must be 1-60000"),
      bad("timeout as float", "[forward]\ntimeout_ms = 2000.0\n",
          "t.toml:2: forward.timeout_ms = 2000.0: expected an integer, got a float"),
      bad("timeout as string", "[forward]\ntimeout_ms = \"2s\"\n",
          "forward.timeout_ms = \"2s\": expected an integer, got a string"),
      bad("attempts 0", "[forward]\nattempts = 0\n",
          "t.toml:2: forward.attempts = 0: must be 1-10"),
      bad("attempts 11", "[forward]\nattempts = 11\n", "forward.attempts = 11: must be 1-10"),
      bad("integer beyond int64 is clamped by toml11, still out of range",
          "[forward]\nattempts = 99999999999999999999\n",
          "forward.attempts = 99999999999999999999: must be 1-10"),
      bad("bad upstream", "[forward]\nupstreams = [\"dns.google\"]\n",
          "t.toml:2: forward.upstreams[0] = \"dns.google\": 'dns.google' is not an IP address"),
      bad("duplicate upstream", "[forward]\nupstreams = [\"10.0.0.2\", \"10.0.0.2:53\"]\n",
          "forward.upstreams[1] = \"10.0.0.2:53\": same address as forward.upstreams[0]"),
      bad("upstream is our own listen address", "[forward]\nupstreams = [\"127.0.0.1:5300\"]\n",
          "t.toml:2: forward.upstreams[0] = \"127.0.0.1:5300\": reaches our own listen address "
          "127.0.0.1:5300"),
      bad("loopback upstream on a wildcard listener's port",
          "[listen]\naddresses = [\"0.0.0.0:53\"]\n[forward]\nupstreams = [\"127.0.0.53\"]\n",
          "t.toml:4: forward.upstreams[0] = \"127.0.0.53\": reaches our own listen address "
          "0.0.0.0:53"),
      ok("loopback upstream on another port is no loop",
         "[listen]\naddresses = [\"0.0.0.0:53\"]\n[forward]\nupstreams = [\"127.0.0.53:54\"]\n",
         [](const settings& s) { CHECK(s.forward.upstreams.size() == 1); }),
      ok("IPv6 loopback is no loop for an IPv4-only wildcard",
         "[listen]\naddresses = [\"0.0.0.0:53\"]\n[forward]\nupstreams = [\"[::1]:53\"]\n",
         [](const settings& s) { CHECK(s.forward.upstreams.size() == 1); }),
  });
}

TEST_CASE("config: [log] level and queries") {
  // Each row: a [log] table; level must be one of spdlog's names, queries a boolean.
  std::vector<row> rows = {
      ok("defaults", "",
         [](const settings& s) {
           CHECK(s.log_level == "info");
           CHECK_FALSE(s.log_queries);
         }),
      ok("queries on", "[log]\nqueries = true\n", [](const settings& s) { CHECK(s.log_queries); }),
      bad("unknown level", "[log]\nlevel = \"verbose\"\n",
          "t.toml:2: log.level = \"verbose\": unknown level; allowed: trace, debug, info, warn, "
          "error, critical, off"),
      bad("level is case sensitive", "[log]\nlevel = \"INFO\"\n", "unknown level"),
      bad("queries as string", "[log]\nqueries = \"yes\"\n",
          "t.toml:2: log.queries = \"yes\": expected a boolean (true or false), got a string"),
  };
  for (std::string level : {"trace", "debug", "info", "warn", "error", "critical", "off"})
    rows.push_back(ok("level " + level, "[log]\nlevel = \"" + level + "\"\n",
                      [level](const settings& s) { CHECK(s.log_level == level); }));
  run(rows);
}

TEST_CASE("config: [cache] keys, with defaults and ranges") {
  run({
      ok("defaults", "",
         [](const settings& s) {
           CHECK(s.cache.max_entries == 10000);
           CHECK(s.cache.servfail_ttl == 5);
           CHECK(s.cache.max_ttl == 86400);
           CHECK(s.cache.min_ttl == 0);
           CHECK_FALSE(s.cache.serve_stale);
           CHECK(s.cache.stale_ttl == 30);
         }),
      ok("all set",
         "[cache]\nmax_entries = 0\nservfail_ttl = 0\nmax_ttl = 3600\nmin_ttl = 10\n"
         "serve_stale = true\nstale_ttl = 5\n",
         [](const settings& s) {
           CHECK(s.cache.max_entries == 0);
           CHECK(s.cache.servfail_ttl == 0);
           CHECK(s.cache.max_ttl == 3600);
           CHECK(s.cache.min_ttl == 10);
           CHECK(s.cache.serve_stale);
           CHECK(s.cache.stale_ttl == 5);
         }),
      bad("negative size", "[cache]\nmax_entries = -1\n",
          "t.toml:2: cache.max_entries = -1: must be 0-10000000"),
      bad("servfail_ttl too long", "[cache]\nservfail_ttl = 301\n",
          "cache.servfail_ttl = 301: must be 0-300"),
      bad("max_ttl zero", "[cache]\nmax_ttl = 0\n", "cache.max_ttl = 0: must be 1-604800"),
      bad("stale_ttl zero", "[cache]\nstale_ttl = 0\n", "cache.stale_ttl = 0: must be 1-3600"),
      bad("serve_stale as string", "[cache]\nserve_stale = \"yes\"\n",
          "cache.serve_stale = \"yes\": expected a boolean"),
      bad("min above max", "[cache]\nmax_ttl = 60\nmin_ttl = 120\n",
          "t.toml:3: cache.min_ttl = 120: is above cache.max_ttl (60)"),
      bad("unknown key", "[cache]\nsize = 5\n", "t.toml:2: cache.size"),
  });
}

TEST_CASE("config: [server] threads and edns_udp_max, with defaults and ranges") {
  // Each row: a [server] table; threads = 0 means one per core.
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  run({
      ok("defaults", "",
         [cores](const settings& s) {
           CHECK(s.threads == cores);
           CHECK(s.edns_udp_max == 1232);
         }),
      ok("threads 0 is one per core", "[server]\nthreads = 0\n",
         [cores](const settings& s) { CHECK(s.threads == cores); }),
      ok("upper bounds", "[server]\nthreads = 64\nedns_udp_max = 4096\n",
         [](const settings& s) {
           CHECK(s.threads == 64);
           CHECK(s.edns_udp_max == 4096);
         }),
      ok("lowest edns size", "[server]\nedns_udp_max = 512\n",
         [](const settings& s) { CHECK(s.edns_udp_max == 512); }),
      bad("too many threads", "[server]\nthreads = 65\n",
          "t.toml:2: server.threads = 65: must be 0-64"),
      bad("negative threads", "[server]\nthreads = -1\n", "server.threads = -1: must be 0-64"),
      bad("edns too small", "[server]\nedns_udp_max = 511\n",
          "t.toml:2: server.edns_udp_max = 511: must be 512-4096"),
      bad("edns too large", "[server]\nedns_udp_max = 4097\n", "must be 512-4096"),
      bad("threads as bool", "[server]\nthreads = true\n",
          "server.threads = true: expected an integer, got a boolean"),
  });
}

TEST_CASE("config: [server] TCP limits, allow list and CHAOS, with defaults and ranges") {
  // Each row: a [server] table. Without allow, loopback and every VPC cidr are allowed.
  auto texts = [](const std::vector<view::cidr>& v) {
    std::vector<std::string> out;
    for (const auto& c : v) out.push_back(c.to_string());
    return out;
  };
  run({
      ok("defaults", "",
         [&](const settings& s) {
           CHECK(s.tcp_idle_timeout_ms == 10000);
           CHECK(s.max_tcp_connections == 1024);
           CHECK(s.chaos == settings::chaos_mode::refuse);
           CHECK_FALSE(s.chaos_id.empty());
           CHECK(texts(s.allow) ==
                 std::vector<std::string>{"127.0.0.0/8", "::1/128", "192.0.2.0/24"});
         }),
      ok("set",
         "[server]\ntcp_idle_timeout_ms = 100\nmax_tcp_connections = 1\n"
         "allow = [\"10.1.0.0/16\", \"fd00::/8\"]\nchaos = \"answer\"\nchaos_id = \"ns1\"\n",
         [&](const settings& s) {
           CHECK(s.tcp_idle_timeout_ms == 100);
           CHECK(s.max_tcp_connections == 1);
           CHECK(texts(s.allow) == std::vector<std::string>{"10.1.0.0/16", "fd00::/8"});
           CHECK(s.chaos == settings::chaos_mode::answer);
           CHECK(s.chaos_id == "ns1");
         }),
      bad("idle too short", "[server]\ntcp_idle_timeout_ms = 99\n",
          "t.toml:2: server.tcp_idle_timeout_ms = 99: must be 100-600000"),
      bad("no connections", "[server]\nmax_tcp_connections = 0\n",
          "t.toml:2: server.max_tcp_connections = 0: must be 1-65535"),
      bad("empty allow", "[server]\nallow = []\n",
          "t.toml:2: server.allow = []: must not be empty"),
      bad("bad cidr", "[server]\nallow = [\"10.0.0.0/33\"]\n",
          "t.toml:2: server.allow[0] = \"10.0.0.0/33\""),
      bad("chaos mode", "[server]\nchaos = \"hide\"\n",
          "t.toml:2: server.chaos = \"hide\": allowed: \"answer\", \"refuse\""),
      bad("chaos_id empty", "[server]\nchaos_id = \"\"\n",
          "server.chaos_id = \"\": must be 1-255 characters"),
  });
}

TEST_CASE("config: unknown keys are errors naming the key, line and the allowed keys") {
  // Each row: one misspelt key at some level; the error suggests the close match.
  run({
      bad("top level", "[fowrard]\nattempts = 1\n",
          "t.toml:1: fowrard: unknown key; did you mean \"forward\"? (allowed here: listen, "
          "forward, log, server, cache, control, vpc, endpoint, zone)"),
      bad("in [listen]", "[listen]\naddresses = [\"127.0.0.1\"]\naddress = 1\n",
          "t.toml:3: listen.address: unknown key; did you mean \"addresses\"?"),
      bad("in [forward]", "[forward]\ntimeout = 5\n",
          "t.toml:2: forward.timeout: unknown key; did you mean \"timeout_ms\"? (allowed here: "
          "upstreams, timeout_ms, attempts)"),
      bad("in [log]", "[log]\nlevl = \"info\"\n",
          "t.toml:2: log.levl: unknown key; did you mean \"level\"?"),
      bad("in [server]", "[server]\nthread = 2\n",
          "t.toml:2: server.thread: unknown key; did you mean \"threads\"?"),
      bad("in [[vpc]]", "[[vpc]]\nname = \"a\"\ncidrs = [\"10.0.0.0/8\"]\ncidr = 1\n",
          "t.toml:4: vpc[0].cidr: unknown key; did you mean \"cidrs\"? (allowed here: name, "
          "cidrs)"),
      bad("in [[endpoint]]", endpoint({}, "privte_dns = false\n"),
          "t.toml:7: endpoint[0].privte_dns: unknown key; did you mean \"private_dns\"? (allowed "
          "here: id, suffix, service, vpc, private_dns, private_dns_names, enis)"),
      bad("in an ENI",
          endpoint(
              {{"enis", "enis = [{ az = \"us-east-1a\", ipv4 = \"10.0.1.10\", ip6 = \"\" }]"}}),
          "t.toml:6: endpoint[0].enis[0].ip6: unknown key; did you mean \"ipv6\"? (allowed "
          "here: az, ipv4, ipv6)"),
      bad("no far-fetched guess",
          endpoint({{"enis", "enis = [{ az = \"us-east-1a\", ipv4 = \"10.0.1.10\", id = 1 }]"}}),
          "t.toml:6: endpoint[0].enis[0].id: unknown key (allowed here: az, ipv4, ipv6)"),
      bad("a sub-table", "[log.file]\npath = \"x\"\n",
          "log.file: unknown key (allowed here: level, queries)"),
  });
}

TEST_CASE("config: [[vpc]] names and CIDRs") {
  // Each row: VPC tables (plus the "dev" VPC from the tail); prefixes go through view::cidr.
  run({
      ok("two VPCs, v4 and v6",
         "[[vpc]]\nname = \"app\"\ncidrs = [\"127.0.10.0/24\", \"fd00:10::/64\"]\n"
         "[[vpc]]\nname = \"data.v2_x-y\"\ncidrs = [\"127.0.20.0/24\"]\n",
         [](const settings& s) {
           REQUIRE(s.vpcs.size() == 3);
           CHECK(s.vpcs[0].name == "app");
           REQUIRE(s.vpcs[0].cidrs.size() == 2);
           CHECK(s.vpcs[0].cidrs[0].to_string() == "127.0.10.0/24");
           CHECK(s.vpcs[0].cidrs[1].to_string() == "fd00:10::/64");
           CHECK(s.vpcs[1].name == "data.v2_x-y");
           CHECK(s.vpcs[2].name == "dev");
         }),
      whole(ok("inline array of tables",
               "vpc = [{ name = \"a\", cidrs = [\"10.0.0.0/8\"] }]\n"
               "[listen]\naddresses = [\"127.0.0.1\"]\n",
               [](const settings& s) { CHECK(s.vpcs[0].name == "a"); })),
      bad("prefix too long",
          "[[vpc]]\nname = \"a\"\ncidrs = [\"10.0.0.0/8\",\n  \"10.0.0.0/33\"]\n",
          "t.toml:4: vpc[0].cidrs[1] = \"10.0.0.0/33\": IPv4 prefix length must be 0-32"),
      bad("IPv6 prefix too long", "[[vpc]]\nname = \"a\"\ncidrs = [\"fd00::/129\"]\n",
          "t.toml:3: vpc[0].cidrs[0] = \"fd00::/129\": IPv6 prefix length must be 0-128"),
      bad("host bits set", "[[vpc]]\nname = \"a\"\ncidrs = [\"10.0.1.0/16\"]\n",
          "vpc[0].cidrs[0] = \"10.0.1.0/16\": host bits set: did you mean 10.0.0.0/16?"),
      bad("no prefix length", "[[vpc]]\nname = \"a\"\ncidrs = [\"10.0.0.0\"]\n",
          "vpc[0].cidrs[0] = \"10.0.0.0\": missing /prefix-length"),
      bad("not an address", "[[vpc]]\nname = \"a\"\ncidrs = [\"ten/8\"]\n",
          "'ten' is not an IP address"),
      bad("IPv4-mapped prefix", "[[vpc]]\nname = \"a\"\ncidrs = [\"::ffff:10.1.0.0/112\"]\n",
          "IPv4-mapped clients are matched as IPv4; write 10.1.0.0/16"),
      bad("empty cidrs", "[[vpc]]\nname = \"a\"\ncidrs = []\n",
          "t.toml:3: vpc[0].cidrs = []: must not be empty"),
      bad("missing cidrs", "[[vpc]]\nname = \"a\"\n", "t.toml:1: vpc[0].cidrs: missing"),
      bad("missing name", "[[vpc]]\ncidrs = [\"10.0.0.0/8\"]\n", "t.toml:1: vpc[0].name: missing"),
      bad("bad name", "[[vpc]]\nname = \"my vpc\"\ncidrs = [\"10.0.0.0/8\"]\n",
          "t.toml:2: vpc[0].name = \"my vpc\": must be letters, digits, '_', '.' or '-'"),
      bad("duplicate name", "[[vpc]]\nname = \"dev\"\ncidrs = [\"10.0.0.0/8\"]\n",
          "vpc[1].name = \"dev\": another [[vpc]] has this name (line 1)"),
      bad("prefix in two VPCs",
          "[[vpc]]\nname = \"a\"\ncidrs = [\"10.0.0.0/8\"]\n"
          "[[vpc]]\nname = \"b\"\ncidrs = [\"10.0.0.0/8\"]\n",
          "t.toml:6: vpc[1].cidrs[0] = \"10.0.0.0/8\": already listed by vpc \"a\" (line 3)"),
      whole(bad("vpc as a single table", "[vpc]\nname = \"a\"\n",
                "t.toml:1: vpc = {...}: expected an array of tables ([[vpc]]), got a table")),
      bad("cidrs element not a string", "[[vpc]]\nname = \"a\"\ncidrs = [10]\n",
          "t.toml:3: vpc[0].cidrs[0] = 10: expected a string, got an integer"),
  });
}

TEST_CASE("config: [[endpoint]] identity, service and VPC") {
  // Each row: one endpoint, varied one key at a time.
  run({
      ok("a valid sqs endpoint", endpoint(),
         [](const settings& s) {
           REQUIRE(s.endpoints.size() == 1);
           const auto& e = s.endpoints[0];
           CHECK(e.id == "vpce-0123456789abcdef0");
           CHECK(e.suffix == "abcd1234");
           CHECK(e.service == "com.amazonaws.us-east-1.sqs");
           CHECK(e.region == "us-east-1");
           CHECK(e.service_key == "sqs");
           CHECK(e.vpc == "dev");
           CHECK(e.private_dns);
           CHECK(e.private_dns_names == std::vector<std::string>{"sqs.us-east-1.amazonaws.com"});
           CHECK(e.vpce_service == "sqs");
           CHECK(e.line == 1);
           REQUIRE(e.enis.size() == 1);
           CHECK(e.enis[0].az == "us-east-1a");
           CHECK(e.enis[0].ipv4.to_string() == "10.0.1.10");
           CHECK_FALSE(e.enis[0].ipv6);
         }),
      ok("ecr.dkr in a gov region, private DNS off",
         endpoint({{"service", "service = \"com.amazonaws.us-gov-west-1.ecr.dkr\""},
                   {"enis", "enis = [{ az = \"us-gov-west-1a\", ipv4 = \"10.0.1.10\" }]"}},
                  "private_dns = false\n"),
         [](const settings& s) {
           const auto& e = s.endpoints[0];
           CHECK(e.region == "us-gov-west-1");
           CHECK(e.service_key == "ecr.dkr");
           CHECK(e.vpce_service == "dkr.ecr");
           CHECK_FALSE(e.private_dns);
           CHECK(e.private_dns_names ==
                 std::vector<std::string>{"dkr.ecr.us-gov-west-1.amazonaws.com",
                                          "*.dkr.ecr.us-gov-west-1.amazonaws.com"});
         }),
      ok("China regions use amazonaws.com.cn",
         endpoint({{"service", "service = \"com.amazonaws.cn-north-1.sts\""},
                   {"enis", "enis = [{ az = \"cn-north-1a\", ipv4 = \"10.0.1.10\" }]"}}),
         [](const settings& s) {
           CHECK(s.endpoints[0].private_dns_names ==
                 std::vector<std::string>{"sts.cn-north-1.amazonaws.com.cn"});
         }),
      ok("VPC defined after the endpoint",
         endpoint({{"vpc", "vpc = \"later\""}}) +
             "[[vpc]]\nname = \"later\"\ncidrs = [\"10.9.0.0/16\"]\n",
         [](const settings& s) { CHECK(s.endpoints[0].vpc == "later"); }),
      ok("shortest id", endpoint({{"id", "id = \"vpce-0\""}}),
         [](const settings& s) { CHECK(s.endpoints[0].id == "vpce-0"); }),
      bad("id with uppercase hex", endpoint({{"id", "id = \"vpce-0A1B\""}}),
          "t.toml:2: endpoint[0].id = \"vpce-0A1B\": must be \"vpce-\" and 1-17 lowercase hex"),
      bad("id with 18 digits", endpoint({{"id", "id = \"vpce-0123456789abcdef01\""}}),
          "endpoint[0].id = \"vpce-0123456789abcdef01\": must be"),
      bad("id without prefix", endpoint({{"id", "id = \"0123456789abcdef0\""}}),
          "endpoint[0].id = \"0123456789abcdef0\": must be"),
      bad("missing id", endpoint({{"id", ""}}), "t.toml:1: endpoint[0].id: missing"),
      bad("duplicate id", endpoint() + endpoint({{"suffix", "suffix = \"zzzz9999\""}}),
          "t.toml:8: endpoint[1].id = \"vpce-0123456789abcdef0\": another [[endpoint]] has this "
          "id (line 1)"),
      bad("short suffix", endpoint({{"suffix", "suffix = \"abcd123\""}}),
          "t.toml:3: endpoint[0].suffix = \"abcd123\": must be the 8 lowercase letters/digits"),
      bad("uppercase suffix", endpoint({{"suffix", "suffix = \"ABCD1234\""}}),
          "endpoint[0].suffix = \"ABCD1234\": must be"),
      bad("service without region", endpoint({{"service", "service = \"com.amazonaws.sqs\""}}),
          "t.toml:4: endpoint[0].service = \"com.amazonaws.sqs\": must be "
          "\"com.amazonaws.<region>.<service>\""),
      bad("service with a malformed region",
          endpoint({{"service", "service = \"com.amazonaws.useast1.sqs\""}}), "must be"),
      bad("service of another vendor",
          endpoint({{"service", "service = \"com.example.us-east-1.sqs\""}}), "must be"),
      bad("service with an empty key",
          endpoint({{"service", "service = \"com.amazonaws.us-east-1.\""}}), "must be"),
      bad("missing service", endpoint({{"service", ""}}), "t.toml:1: endpoint[0].service: missing"),
      bad("unknown VPC", endpoint({{"vpc", "vpc = \"prod\""}}),
          "t.toml:5: endpoint[0].vpc = \"prod\": no [[vpc]] has this name; defined: \"dev\""),
      bad("private_dns as string", endpoint({}, "private_dns = \"no\"\n"),
          "t.toml:7: endpoint[0].private_dns = \"no\": expected a boolean (true or false), got a "
          "string"),
      bad("endpoint element not a table", "endpoint = [1]\n",
          "t.toml:1: endpoint[0] = 1: expected a table, got an integer"),
  });
}

TEST_CASE("config: private_dns_names override or extend the built-in table") {
  // Each row: an endpoint with private_dns_names set, or a service the table lacks.
  const std::string foo = "service = \"com.amazonaws.us-east-1.foo.bar\"";
  run({
      ok("lowercased, trailing dot stripped, wildcard kept",
         endpoint({}, "private_dns_names = [\"SQS.Example.COM.\", \"*.q.example.com\", \"a_b\"]\n"),
         [](const settings& s) {
           CHECK(s.endpoints[0].private_dns_names ==
                 std::vector<std::string>{"sqs.example.com", "*.q.example.com", "a_b"});
           CHECK(s.endpoints[0].vpce_service == "sqs");
         }),
      ok("unknown service with names; vpce label reversed",
         endpoint({{"service", foo}}, "private_dns_names = [\"foo.us-east-1.amazonaws.com\"]\n"),
         [](const settings& s) {
           CHECK(s.endpoints[0].service_key == "foo.bar");
           CHECK(s.endpoints[0].vpce_service == "bar.foo");
           CHECK(s.endpoints[0].private_dns_names.size() == 1);
         }),
      ok("unknown service without private DNS needs no names",
         endpoint({{"service", foo}}, "private_dns = false\n"),
         [](const settings& s) {
           CHECK(s.endpoints[0].private_dns_names.empty());
           CHECK(s.endpoints[0].vpce_service == "bar.foo");
         }),
      ok("names with private DNS off load, with a warning",
         endpoint({}, "private_dns = false\nprivate_dns_names = [\"x.example\"]\n"),
         [](const settings& s) {
           REQUIRE(s.warnings.size() == 1);
           CHECK(s.warnings[0] ==
                 "t.toml:8: endpoint[0].private_dns_names: has no effect while private_dns = "
                 "false");
         }),
      ok("a 63-character label and a 253-character name",
         endpoint({}, "private_dns_names = [\"" + std::string(63, 'a') + ".x\", \"" +
                          std::string(61, 'b') + "." + std::string(63, 'c') + "." +
                          std::string(63, 'd') + "." + std::string(63, 'e') + "\"]\n"),
         [](const settings& s) { CHECK(s.endpoints[0].private_dns_names[1].size() == 253); }),
      bad("unknown service, private DNS on, no names", endpoint({{"service", foo}}),
          "t.toml:4: endpoint[0].service = \"com.amazonaws.us-east-1.foo.bar\": vpcedns does not "
          "know the private DNS names of \"foo.bar\"; set private_dns_names"),
      bad("ISO regions are not in the table",
          endpoint({{"service", "service = \"com.amazonaws.us-iso-east-1.sqs\""},
                    {"enis", "enis = [{ az = \"us-iso-east-1a\", ipv4 = \"10.0.1.10\" }]"}}),
          "set private_dns_names"),
      bad("empty label", endpoint({}, "private_dns_names = [\"a..b\"]\n"),
          "t.toml:7: endpoint[0].private_dns_names[0] = \"a..b\": empty label"),
      bad("leading dot", endpoint({}, "private_dns_names = [\".a\"]\n"), "empty label"),
      bad("just a dot", endpoint({}, "private_dns_names = [\".\"]\n"), "empty name"),
      bad("label of 64", endpoint({}, "private_dns_names = [\"" + std::string(64, 'a') + ".x\"]\n"),
          "is longer than 63 characters"),
      bad("name of 254",
          endpoint({}, "private_dns_names = [\"" + std::string(62, 'b') + "." +
                           std::string(63, 'c') + "." + std::string(63, 'd') + "." +
                           std::string(63, 'e') + "\"]\n"),
          "longer than 253 characters"),
      bad("bad character", endpoint({}, "private_dns_names = [\"a b.example\"]\n"),
          "invalid character ' '; allowed: a-z, 0-9, '-', '_'"),
      bad("star inside a label", endpoint({}, "private_dns_names = [\"a*.example\"]\n"),
          "'*' is only allowed as the whole first label"),
      bad("star not first", endpoint({}, "private_dns_names = [\"a.*.example\"]\n"),
          "'*' is only allowed as the whole first label"),
      bad("listed twice after lowercasing",
          endpoint({}, "private_dns_names = [\"a.example\", \"A.example.\"]\n"),
          "endpoint[0].private_dns_names[1] = \"A.example.\": listed twice"),
      bad("empty list with private DNS on", endpoint({}, "private_dns_names = []\n"),
          "t.toml:7: endpoint[0].private_dns_names = []: must list at least one name"),
      bad("a string, not a list", endpoint({}, "private_dns_names = \"a.example\"\n"),
          "endpoint[0].private_dns_names = \"a.example\": expected an array of strings"),
      // Names that would shadow the public vpce-... names of every endpoint.
      bad("covers the vpce names", endpoint({}, "private_dns_names = [\"amazonaws.com\"]\n"),
          "endpoint[0].private_dns_names[0] = \"amazonaws.com\": covers vpce.amazonaws.com"),
      bad("a top-level name", endpoint({}, "private_dns_names = [\"com\"]\n"),
          "covers vpce.amazonaws.com"),
      bad("another endpoint's vpce name",
          endpoint({},
                   "private_dns_names = [\"vpce-1-abcd1234.sqs.us-east-1.vpce.amazonaws.com\"]\n"),
          "is inside vpce.amazonaws.com"),
      bad("a wildcard over the vpce zone",
          endpoint({}, "private_dns_names = [\"*.vpce.amazonaws.com\"]\n"),
          "covers vpce.amazonaws.com"),
  });
}

TEST_CASE("config: ENIs in both TOML forms, one per zone of the region") {
  // Each row: an endpoint's enis, inline or as [[endpoint.enis]] tables.
  const std::string header =
      "[[endpoint]]\nid = \"vpce-1\"\nsuffix = \"abcd1234\"\n"
      "service = \"com.amazonaws.eu-west-2.sqs\"\nvpc = \"dev\"\n";  // lines 1-5
  auto one = [](std::string fields) { return "enis = [{ " + fields + " }]"; };
  run({
      ok("[[endpoint.enis]] tables",
         header +
             "[[endpoint.enis]]\naz = \"eu-west-2a\"\nipv4 = \"10.0.1.10\"\nipv6 = \"fd00::a\"\n"
             "[[endpoint.enis]]\naz = \"eu-west-2b\"\nipv4 = \"10.0.2.10\"\n",
         [](const settings& s) {
           const auto& enis = s.endpoints[0].enis;
           REQUIRE(enis.size() == 2);
           CHECK(enis[0].az == "eu-west-2a");
           CHECK(enis[0].ipv4.to_string() == "10.0.1.10");
           REQUIRE(enis[0].ipv6);
           CHECK(enis[0].ipv6->to_string() == "fd00::a");
           CHECK(enis[1].az == "eu-west-2b");
           CHECK_FALSE(enis[1].ipv6);
         }),
      ok("a Local Zone",
         endpoint({{"enis", one("az = \"us-east-1-bos-1a\", ipv4 = \"10.0.1.1\"")}}),
         [](const settings& s) { CHECK(s.endpoints[0].enis[0].az == "us-east-1-bos-1a"); }),
      bad("zone of another region",
          endpoint({{"enis", one("az = \"us-west-2a\", ipv4 = \"10.0.1.1\"")}}),
          "t.toml:6: endpoint[0].enis[0].az = \"us-west-2a\": must be a zone of the service's "
          "region us-east-1"),
      bad("region without zone letter",
          endpoint({{"enis", one("az = \"us-east-1\", ipv4 = \"10.0.1.1\"")}}), "must be a zone"),
      bad("region prefix only",
          endpoint({{"enis", one("az = \"us-east-12a\", ipv4 = \"10.0.1.1\"")}}), "must be a zone"),
      bad("two ENIs in one zone",
          header + "[[endpoint.enis]]\naz = \"eu-west-2a\"\nipv4 = \"10.0.1.10\"\n"
                   "[[endpoint.enis]]\naz = \"eu-west-2a\"\nipv4 = \"10.0.2.10\"\n",
          "t.toml:10: endpoint[0].enis[1].az = \"eu-west-2a\": another ENI of this endpoint is in "
          "this zone (line 6)"),
      bad("ipv4 holds IPv6", endpoint({{"enis", one("az = \"us-east-1a\", ipv4 = \"fd00::1\"")}}),
          "t.toml:6: endpoint[0].enis[0].ipv4 = \"fd00::1\": must be an IPv4 address"),
      bad("ipv4 not an address",
          endpoint({{"enis", one("az = \"us-east-1a\", ipv4 = \"10.0.1\"")}}),
          "endpoint[0].enis[0].ipv4 = \"10.0.1\": must be an IPv4 address"),
      bad("ipv6 holds IPv4",
          endpoint(
              {{"enis", one("az = \"us-east-1a\", ipv4 = \"10.0.1.1\", ipv6 = \"10.0.1.2\"")}}),
          "endpoint[0].enis[0].ipv6 = \"10.0.1.2\": must be an IPv6 address"),
      bad("missing ipv4", endpoint({{"enis", one("az = \"us-east-1a\"")}}),
          "t.toml:6: endpoint[0].enis[0].ipv4: missing"),
      bad("missing az", endpoint({{"enis", one("ipv4 = \"10.0.1.1\"")}}),
          "endpoint[0].enis[0].az: missing"),
      bad("no enis", endpoint({{"enis", ""}}), "t.toml:1: endpoint[0].enis: missing"),
      bad("empty enis", endpoint({{"enis", "enis = []"}}),
          "t.toml:6: endpoint[0].enis = []: must not be empty"),
      bad("eni not a table", endpoint({{"enis", "enis = [\"10.0.1.1\"]"}}),
          "endpoint[0].enis[0] = \"10.0.1.1\": expected a table, got a string"),
      bad("enis a table", endpoint({{"enis", "enis = { az = \"us-east-1a\" }"}}),
          "endpoint[0].enis = {...}: expected an array of tables ([[endpoint.enis]])"),
  });
}

TEST_CASE("config: two endpoints with private DNS for one name in one VPC are an error") {
  // Each row: two endpoints; only private DNS in the same VPC conflicts.
  const std::string second_id = "id = \"vpce-2\"";
  const std::string other_vpc = "[[vpc]]\nname = \"other\"\ncidrs = [\"10.8.0.0/16\"]\n";
  run({
      bad("same service, same VPC", endpoint() + endpoint({{"id", second_id}}),
          "t.toml:7: endpoint[1] (vpce-2): private DNS name \"sqs.us-east-1.amazonaws.com\" is "
          "also claimed by vpce-0123456789abcdef0 (line 1) in vpc \"dev\""),
      bad("custom name overlapping a built-in one",
          endpoint() + endpoint({{"id", second_id},
                                 {"service", "service = \"com.amazonaws.us-east-1.foo\""}},
                                "private_dns_names = [\"SQS.us-east-1.amazonaws.com.\"]\n"),
          "t.toml:7: endpoint[1] (vpce-2): private DNS name \"sqs.us-east-1.amazonaws.com\""),
      ok("same service, other VPC",
         endpoint() + endpoint({{"id", second_id}, {"vpc", "vpc = \"other\""}}) + other_vpc,
         [](const settings& s) { CHECK(s.endpoints.size() == 2); }),
      ok("same service, one without private DNS",
         endpoint() + endpoint({{"id", second_id}}, "private_dns = false\n"),
         [](const settings& s) { CHECK(s.endpoints.size() == 2); }),
  });
}

TEST_CASE("config: TOML syntax errors become config::error with file and line") {
  // Each row: broken TOML; toml11's message is recast as "<file>:<line>:" lines.
  run({
      bad("unknown value", "[log]\nlevel = info\n", "t.toml:2: TOML syntax error:"),
      bad("duplicate key", "[log]\nlevel = \"info\"\nlevel = \"warn\"\n",
          "t.toml:3: TOML syntax error: value (\"level\") already exists"),
      bad("duplicate key names the first definition", "[log]\nlevel = \"info\"\nlevel = \"warn\"\n",
          "t.toml:2: note: value already exists here: level = \"info\""),
      bad("duplicate table", "[log]\n[server]\n[log]\n",
          "t.toml:3: TOML syntax error: table (\"log\") already exists"),
      bad("unterminated string", "[log]\n\nlevel = \"info\n", "t.toml:3: TOML syntax error:"),
      bad("unclosed array", "[forward]\nupstreams = [\"10.0.0.2\",\n\n", "TOML syntax error:"),
  });
  std::string message = error_of("[log]\nlevel = info\n");
  CHECK(message.find("[error]") == std::string::npos);
  CHECK(message.find("toml::") == std::string::npos);
}

TEST_CASE("config: every problem is reported, one per line, in file order") {
  // Three independent mistakes in one file give three lines, sorted by line number.
  std::string toml =
      "[server]\nthreads = 99\n"                            // 1-2
      "[[vpc]]\nname = \"a\"\ncidrs = [\"10.0.0.0/33\"]\n"  // 3-5
      "[log]\nlevel = \"loud\"\n";                          // 6-7
  std::string message = error_of(complete(toml));
  CHECK(message ==
        "t.toml:2: server.threads = 99: must be 0-64\n"
        "t.toml:5: vpc[0].cidrs[0] = \"10.0.0.0/33\": IPv4 prefix length must be 0-32\n"
        "t.toml:7: log.level = \"loud\": unknown level; allowed: trace, debug, info, warn, "
        "error, critical, off");
}

TEST_CASE("config: the embedded default is config/vpcedns.toml and loads") {
  // load_string(embedded_default()) gives the dev setup documented in the file.
  settings s = config::load_string(config::embedded_default(), "<embedded default>");
  CHECK(s.source == "<embedded default>");
  REQUIRE(s.listen.size() == 2);
  CHECK(s.listen[0].to_string() == "127.0.0.1:5300");
  CHECK(s.listen[1].to_string() == "[::1]:5300");
  CHECK(s.forward.use_resolv_conf);
  CHECK(s.forward.upstreams.empty());
  CHECK(s.log_level == "info");
  REQUIRE(s.vpcs.size() == 1);
  CHECK(s.vpcs[0].name == "dev");
  REQUIRE(s.vpcs[0].cidrs.size() == 2);
  CHECK(s.vpcs[0].cidrs[0].to_string() == "127.0.0.1/32");
  CHECK(s.vpcs[0].cidrs[1].to_string() == "::1/128");
  REQUIRE(s.endpoints.size() == 1);
  CHECK(s.endpoints[0].service_key == "sqs");
  CHECK(s.endpoints[0].vpc == "dev");
  CHECK(s.endpoints[0].enis.size() == 2);
  CHECK(s.warnings.empty());
  CHECK(config::embedded_default() == slurp(VPCEDNS_SOURCE_DIR "/config/vpcedns.toml"));
}

TEST_CASE("config: load_file reads the shipped configs and reports unreadable paths") {
  // The files in config/ load; a missing file or a directory gives "<path>: cannot read: ...".
  settings def = config::load_file(VPCEDNS_SOURCE_DIR "/config/vpcedns.toml");
  CHECK(def.source == VPCEDNS_SOURCE_DIR "/config/vpcedns.toml");
  CHECK(def.endpoints.size() == 1);

  settings multi = config::load_file(VPCEDNS_SOURCE_DIR "/config/example-multi-vpc.toml");
  CHECK(multi.vpcs.size() == 2);
  CHECK(multi.endpoints.size() >= 2);
  CHECK(multi.warnings.empty());

  CHECK_THROWS_WITH_AS(config::load_file("/nonexistent/vpcedns.toml"),
                       "/nonexistent/vpcedns.toml: cannot read: No such file or directory",
                       config::error);
  CHECK_THROWS_WITH_AS(config::load_file(VPCEDNS_SOURCE_DIR "/config"),
                       VPCEDNS_SOURCE_DIR "/config: cannot read: Is a directory", config::error);
}

TEST_CASE("config: errors from load_file name the path as given") {
  // A bad file's errors start with its path, so the user can open it at that line.
  std::string path = "/tmp/vpcedns_config_test_bad.toml";
  {
    std::ofstream out(path);
    out << "[listen]\naddresses = [\"127.0.0.1:0\"]\n";
  }
  CHECK_THROWS_WITH_AS(
      config::load_file(path),
      (path + ":2: listen.addresses[0] = \"127.0.0.1:0\": port must be 1-65535").c_str(),
      config::error);
  std::remove(path.c_str());
}

TEST_CASE("services: the built-in table") {
  // Known keys give AWS's private DNS names and vpce label; others give nullopt.
  auto names = [](std::string_view key, std::string_view region) {
    auto s = config::builtin_service_names(key, region);
    REQUIRE(s);
    return *s;
  };
  for (std::string key : {"sqs", "sns", "sts", "kms", "ssm", "ssmmessages", "ec2messages",
                          "secretsmanager", "logs", "monitoring", "events", "lambda"}) {
    INFO(key);
    auto s = names(key, "eu-west-2");
    CHECK(s.private_dns_names == std::vector<std::string>{key + ".eu-west-2.amazonaws.com"});
    CHECK(s.vpce_service == key);
  }
  auto api = names("ecr.api", "us-east-1");
  CHECK(api.private_dns_names == std::vector<std::string>{"api.ecr.us-east-1.amazonaws.com"});
  CHECK(api.vpce_service == "api.ecr");
  auto dkr = names("ecr.dkr", "ap-southeast-1");
  CHECK(dkr.private_dns_names ==
        std::vector<std::string>{"dkr.ecr.ap-southeast-1.amazonaws.com",
                                 "*.dkr.ecr.ap-southeast-1.amazonaws.com"});
  CHECK(dkr.vpce_service == "dkr.ecr");
  auto gw = names("execute-api", "us-east-1");
  CHECK(gw.private_dns_names == std::vector<std::string>{"execute-api.us-east-1.amazonaws.com",
                                                         "*.execute-api.us-east-1.amazonaws.com"});
  CHECK(gw.vpce_service == "execute-api");

  // Legacy SQS names (queue.amazonaws.com) are not covered by private DNS.
  for (const auto& n : names("sqs", "us-east-1").private_dns_names)
    CHECK(n.find("queue.amazonaws.com") == std::string::npos);
  CHECK(names("sqs", "cn-north-1").private_dns_names ==
        std::vector<std::string>{"sqs.cn-north-1.amazonaws.com.cn"});
  CHECK_FALSE(config::builtin_service_names("sqs", "us-iso-east-1"));
  CHECK_FALSE(config::builtin_service_names("no-such-service", "us-east-1"));
  CHECK_FALSE(config::builtin_service_names("", "us-east-1"));
}

TEST_CASE("services: reversed_labels reverses dot-separated labels") {
  // The vpce label of a service not in the table.
  CHECK(config::reversed_labels("ecr.api") == "api.ecr");
  CHECK(config::reversed_labels("a.b.c") == "c.b.a");
  CHECK(config::reversed_labels("sqs") == "sqs");
  CHECK(config::reversed_labels("execute-api") == "execute-api");
  CHECK(config::reversed_labels("") == "");
}

TEST_CASE("config: deeply nested values are refused before toml11 recurses into them") {
  // 10000 nested arrays would overflow toml11's recursive parser (a crash);
  // brackets inside strings and comments do not count.
  std::string deep = "[listen]\naddresses = [\"127.0.0.1:5300\"]\nx = " + std::string(10000, '[') +
                     std::string(10000, ']') + "\n";
  try {
    config::load_string(deep, "deep.toml");
    FAIL("expected an error");
  } catch (const config::error& e) {
    CHECK(std::string(e.what()).find("deep.toml:3: arrays or inline tables nested") !=
          std::string::npos);
  }
  std::string strings =
      "# [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n"
      "[listen]\naddresses = [\"127.0.0.1:5300\"]\n"
      "[log]\nlevel = \"info\" # " +
      std::string(40, '{') +
      "\n"
      "[[vpc]]\nname = \"a\"\ncidrs = ['10.0.0.0/8']\n";
  CHECK_NOTHROW(config::load_string(strings, "strings.toml"));
}

TEST_CASE("config: [[zone]] file, origin and vpcs") {
  // Each row: zone tables (VPC "dev" comes from the tail). Relative paths are
  // relative to the config file's directory ("t.toml" has none).
  run({
      ok("origin from the file name",
         "[[zone]]\nfile = \"zones/Corp.Internal.zone\"\nvpcs = [\"dev\"]\n",
         [](const settings& s) {
           REQUIRE(s.zones.size() == 1);
           CHECK(s.zones[0].origin == "corp.internal");
           CHECK(s.zones[0].path == "zones/Corp.Internal.zone");
           CHECK(s.zones[0].vpcs == std::vector<std::string>{"dev"});
           CHECK(s.zones[0].line == 1);
         }),
      ok("explicit origin, trailing dot dropped",
         "[[zone]]\nfile = \"/etc/vpcedns/db.corp\"\norigin = \"Corp.Internal.\"\n"
         "vpcs = [\"dev\"]\n",
         [](const settings& s) {
           CHECK(s.zones[0].origin == "corp.internal");
           CHECK(s.zones[0].path == "/etc/vpcedns/db.corp");
         }),
      bad("missing file", "[[zone]]\nvpcs = [\"dev\"]\n", "t.toml:1: zone[0].file: missing"),
      bad("missing vpcs", "[[zone]]\nfile = \"a.zone\"\n", "t.toml:1: zone[0].vpcs: missing"),
      bad("empty vpcs", "[[zone]]\nfile = \"a.zone\"\nvpcs = []\n",
          "t.toml:3: zone[0].vpcs = []: must not be empty"),
      bad("unknown vpc", "[[zone]]\nfile = \"a.zone\"\nvpcs = [\"prod\"]\n",
          "t.toml:3: zone[0].vpcs[0] = \"prod\": no [[vpc]] has this name"),
      bad("vpc twice", "[[zone]]\nfile = \"a.zone\"\nvpcs = [\"dev\", \"dev\"]\n",
          "t.toml:3: zone[0].vpcs[1] = \"dev\": listed twice"),
      bad("bad origin", "[[zone]]\nfile = \"a.zone\"\norigin = \"a..b\"\nvpcs = [\"dev\"]\n",
          "t.toml:3: zone[0].origin = \"a..b\": empty label"),
      bad("wildcard origin", "[[zone]]\nfile = \"a.zone\"\norigin = \"*.a\"\nvpcs = [\"dev\"]\n",
          "zone[0].origin = \"*.a\": a zone apex cannot be a wildcard"),
      bad("origin not derivable", "[[zone]]\nfile = \"my zone\"\nvpcs = [\"dev\"]\n",
          "t.toml:2: zone[0].file = \"my zone\": cannot take the zone's origin from the file "
          "name"),
      bad("two zones of one name in one VPC",
          "[[zone]]\nfile = \"a/corp.internal.zone\"\nvpcs = [\"dev\"]\n"
          "[[zone]]\nfile = \"b/corp.internal.zone\"\nvpcs = [\"dev\"]\n",
          "t.toml:6: zone[1].vpcs[0] = \"dev\": vpc \"dev\" already has a zone \"corp.internal\" "
          "(line 1)"),
      bad("unknown key", "[[zone]]\nfile = \"a.zone\"\nvpc = [\"dev\"]\nvpcs = [\"dev\"]\n",
          "t.toml:3: zone[0].vpc: unknown key; did you mean \"vpcs\"?"),
  });
}

TEST_CASE("config: zone paths are relative to the config file's directory") {
  settings s = config::load_string(
      "[[zone]]\nfile = \"zones/corp.internal.zone\"\nvpcs = [\"dev\"]\n" + tail,
      "/etc/vpcedns/vpcedns.toml");
  CHECK(s.zones[0].path == "/etc/vpcedns/zones/corp.internal.zone");
  CHECK(s.zones[0].file == "zones/corp.internal.zone");
}

TEST_CASE("config: [control] socket and its default") {
  run({
      ok("absolute path", "[control]\nsocket = \"/run/x/c.sock\"\n",
         [](const settings& s) { CHECK(s.control.socket == "/run/x/c.sock"); }),
      ok("absent", "", [](const settings& s) { CHECK(s.control.socket.empty()); }),
      bad("relative", "[control]\nsocket = \"c.sock\"\n",
          "t.toml:2: control.socket = \"c.sock\": must be an absolute path"),
      bad("too long", "[control]\nsocket = \"/" + std::string(120, 'x') + "\"\n",
          "must be an absolute path of at most 107 bytes"),
  });
  static std::map<std::string, std::string> env;
  auto get = [](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  env = {};
  CHECK(config::default_control_socket(0, get) == "/run/vpcedns/control.sock");
  CHECK(config::default_control_socket(1000, get) == "/tmp/vpcedns-1000/control.sock");
  env = {{"XDG_RUNTIME_DIR", "/run/user/1000"}};
  CHECK(config::default_control_socket(1000, get) == "/run/user/1000/vpcedns/control.sock");
  env = {{"RUNTIME_DIRECTORY", "/run/vpcedns:/run/other"}};
  CHECK(config::default_control_socket(61234, get) == "/run/vpcedns/control.sock");
}

TEST_CASE("config: the example configs' zones load") {
  settings s = config::load_file(VPCEDNS_SOURCE_DIR "/config/example-multi-vpc.toml");
  REQUIRE(s.zones.size() == 1);
  CHECK(s.zones[0].origin == "corp.internal");
  CHECK(s.zones[0].path == VPCEDNS_SOURCE_DIR "/config/../zones/corp.internal.zone");
}

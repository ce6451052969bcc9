// Typed, validated settings built from a TOML file (toml11).
// Every error names the file, the line and what to fix.
#pragma once

#include "view/address.hpp"

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace vpcedns::config {

// Thrown by load_file/load_string. what() is one or more lines of the form
//   "<file>:<line>: <key>: <problem>; <what is allowed>"
// in file order, one per problem found (validation goes on after the first one).
// Array indexes in key paths count from 0. A TOML syntax error stops parsing, so
// it is reported alone, as "<file>:<line>: TOML syntax error: ..." plus note lines.
// e.g. "vpcedns.toml:14: vpc[1].cidrs[2] = \"10.0.0.0/33\": IPv4 prefix length must be 0-32".
// Startup treats it as fatal; a reload keeps the old state and reports it.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct vpc {
  std::string name;               // unique, [A-Za-z0-9_.-]+
  std::vector<view::cidr> cidrs;  // at least one
};

// One elastic network interface of an interface endpoint: one per AZ.
struct eni {
  std::string az;                        // e.g. "us-east-1a"
  view::ip_address ipv4;                 // required
  std::optional<view::ip_address> ipv6;  // optional
};

struct endpoint {
  std::string id;           // "vpce-" followed by 1-17 lowercase hex digits, unique
  std::string suffix;       // the 8-character lowercase [a-z0-9] token AWS assigns
  std::string service;      // "com.amazonaws.<region>.<service>", as in the config
  std::string region;       // parsed from service, e.g. "us-east-1"
  std::string service_key;  // the part after the region, e.g. "sqs", "ecr.dkr"
  std::string vpc;          // name of a [[vpc]]
  bool private_dns = true;
  // Names private DNS covers, lowercase, no trailing dot; a leading "*." is a
  // wildcard. From the built-in table for known services, or from the config key
  // private_dns_names (required for services not in the table, allowed to override).
  std::vector<std::string> private_dns_names;
  // The label(s) between the endpoint id and the region in vpce names, e.g.
  // "sqs" or "dkr.ecr": vpce-<id>-<suffix>.<vpce_service>.<region>.vpce.amazonaws.com
  std::string vpce_service;
  std::vector<eni> enis;  // at least one
  int line = 0;           // where it was defined, for later error messages
};

struct forward_settings {
  // Upstream resolvers tried in order. Empty in the file means "the nameservers
  // of /etc/resolv.conf" (use_resolv_conf is then true and the list stays empty
  // here; the forwarder asks c-ares for them).
  std::vector<view::socket_address> upstreams;
  bool use_resolv_conf = false;
  unsigned timeout_ms = 1000;  // first attempt; c-ares doubles it on each later pass, 1..60000
  unsigned attempts = 2;       // 1..10
  bool operator==(const forward_settings&) const = default;
};

// A private hosted zone from an RFC 1035 master file (resolver/zone/zone_file.hpp),
// associated with VPCs the way a Route 53 private hosted zone is.
struct zone {
  std::string file;               // as written in the config, for messages
  std::string path;               // resolved: relative to the config file's directory
  std::string origin;             // apex, lowercase, no trailing dot; from the file name if unset
  std::vector<std::string> vpcs;  // names of [[vpc]]s, at least one, no duplicates
  int line = 0;                   // where the [[zone]] was defined
};

struct control_settings {
  // Unix socket of `vpcedns ctl`. Empty: default_control_socket() at run time.
  std::string socket;
};

// The cache of forwarded answers ([cache] in the file; see resolver/cache/).
struct cache_settings {
  std::size_t max_entries = 10000;  // over all worker threads; 0 disables the cache
  uint32_t servfail_ttl = 5;        // seconds an upstream failure is remembered, 0-300
  uint32_t max_ttl = 86400;         // TTLs above this are served as this
  uint32_t min_ttl = 0;             // answers are kept at least this long (<= max_ttl)
  bool serve_stale = false;         // RFC 8767: expired answers when every upstream fails
  uint32_t stale_ttl = 30;          // TTL of a stale answer (RFC 8767 section 4: 30 s)
  bool operator==(const cache_settings&) const = default;
};

struct settings {
  std::string source;                        // file path, or "<embedded default>"
  std::vector<view::socket_address> listen;  // UDP and TCP on each; at least one
  forward_settings forward;
  std::string log_level = "info";        // trace, debug, info, warn, error, critical, off
  bool log_queries = false;              // one info line per query
  unsigned threads = 1;                  // worker threads: the number of cores
                                         // unless the file says (0 = number of cores)
  uint16_t edns_udp_max = 1232;          // largest UDP answer we send, 512..4096
  unsigned tcp_idle_timeout_ms = 10000;  // close a TCP connection idle this long
  unsigned max_tcp_connections = 1024;   // per worker thread; more are closed at once
  // Clients answered; every other client gets REFUSED, whatever it asks. When
  // [server] allow is not set: 127.0.0.0/8, ::1 and the cidrs of every [[vpc]].
  std::vector<view::cidr> allow;
  // CHAOS-class TXT queries for version.bind, version.server, id.server and
  // hostname.bind: answered, or REFUSED (the default: do not tell the version).
  enum class chaos_mode { refuse, answer };
  chaos_mode chaos = chaos_mode::refuse;
  std::string chaos_id;  // id.server answer; default: the host name
  cache_settings cache;
  std::vector<vpc> vpcs;
  std::vector<endpoint> endpoints;
  std::vector<zone> zones;
  control_settings control;
  // Settings that were accepted but have no effect (e.g. private_dns_names while
  // private_dns = false), one line each in the error format. The caller logs
  // them at warn, once per load; they never make a load fail.
  std::vector<std::string> warnings;
};

// Parses and validates a config file. Throws config::error.
settings load_file(const std::string& path);
// Same, from text; `name` is used as the file name in messages.
settings load_string(std::string_view text, const std::string& name);
// The built-in default (the content of config/vpcedns.toml).
std::string_view embedded_default();

// The control socket path when [control] socket is unset: $RUNTIME_DIRECTORY
// (set by systemd's RuntimeDirectory=) or, for root, /run/vpcedns; then
// $XDG_RUNTIME_DIR; else /tmp/vpcedns-<uid>. The file is "control.sock" in
// that directory. `env` looks up an environment variable (nullptr if unset).
std::string default_control_socket(unsigned uid, const char* (*env)(const char*));

}  // namespace vpcedns::config

// What `vpcedns ctl` and SIGHUP do to the running daemon, and the loading
// shared by startup, `vpcedns check` and reload.
//
// Every change builds a complete new snapshot (settings with the runtime
// overrides applied, and local data), then publishes it with one atomic swap
// (server/state.hpp): the next query sees it, queries in flight finish with
// the snapshot they started with. Nothing here runs on a worker thread.
#pragma once

#include "config/config.hpp"
#include "control/socket.hpp"
#include "server/server.hpp"
#include "server/state.hpp"
#include "zone/local_data.hpp"
#include "zone/zone_file.hpp"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace vpcedns::control {

// A config and the zone files it names, read and checked.
struct loaded {
  std::shared_ptr<const config::settings> settings;
  std::shared_ptr<const std::vector<zone::zone_file>> zones;  // zones[i] is settings->zones[i]
};

// Reads the config (`path`, or the embedded default) and every zone file.
// Throws config::error listing every problem found, one "<file>:<line>: ..."
// line each (all zone files are read even when one fails).
loaded load(const std::optional<std::string>& path);

// Endpoint id -> private DNS forced on (true) or off (false) by `ctl`.
using overrides = std::map<std::string, bool>;

// The snapshot for `l` with `o` applied. Throws config::error when the data
// cannot be built (e.g. an endpoint turned on whose zone clashes with a file zone).
std::shared_ptr<const server::snapshot> make_snapshot(const loaded& l, const overrides& o);

// An upstream that is one of our own listen sockets, described; nullopt if none.
std::optional<std::string> find_forwarding_loop(const config::settings& s,
                                                const std::vector<view::socket_address>& ups);

// What would be served, one line per listener, VPC, zone and endpoint (for
// `vpcedns check` and the startup log).
std::vector<std::string> describe(const config::settings& s, const zone::local_data& data);

class runtime {
 public:
  // `config_path`: the file to re-read on reload (nullopt: the embedded default).
  // `fixed_log_level`: --log-level was given, so a reload does not change it.
  runtime(std::optional<std::string> config_path, loaded first, server::state& st,
          bool fixed_log_level);

  // The server whose workers `status` asks; set once it has started.
  void attach(server::server* srv) { server_ = srv; }

  // One control request ("status", "reload", "private-dns <id|all> <on|off>").
  reply handle(const std::string& request);

  // Re-reads config and zones; publishes them when everything checks out,
  // otherwise keeps the running state and returns (and logs) the problems.
  // Listen addresses, thread count and the control socket are kept as they
  // are (a restart applies them); a changed [forward] is applied per worker.
  reply reload();
  reply private_dns(const std::string& which, bool on);
  reply status();

 private:
  void publish(const loaded& l, const overrides& o);
  std::vector<std::string> keep_unreloadable(config::settings& next) const;
  std::optional<std::string> check_upstreams(const config::settings& s) const;
  std::string configured(const std::string& endpoint_id) const;  // "on"/"off" per the config

  std::optional<std::string> config_path_;
  loaded current_;
  overrides overrides_;
  server::state& state_;
  server::server* server_ = nullptr;
  bool fixed_log_level_;
  unsigned reloads_ = 0;
};

}  // namespace vpcedns::control

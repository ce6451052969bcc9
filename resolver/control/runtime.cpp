#include "control/runtime.hpp"

#include "forward/forwarder.hpp"
#include "forward/health.hpp"
#include "log/log.hpp"

#include <boost/asio/io_context.hpp>

#include <sstream>

namespace vpcedns::control {

namespace {

std::string join(const std::vector<std::string>& items, const char* sep = ",") {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
  return out;
}

std::string lines(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += i + "\n";
  return out;
}

std::string cidrs_of(const config::vpc& v) {
  std::vector<std::string> out;
  for (const auto& c : v.cidrs) out.push_back(c.to_string());
  return join(out);
}

std::string addresses(const std::vector<view::socket_address>& list) {
  std::vector<std::string> out;
  for (const auto& a : list) out.push_back(a.to_string());
  return join(out);
}

}  // namespace

loaded load(const std::optional<std::string>& path) {
  auto s = std::make_shared<config::settings>(
      path ? config::load_file(*path)
           : config::load_string(config::embedded_default(), "<embedded default>"));
  auto zones = std::make_shared<std::vector<zone::zone_file>>();
  std::string problems;
  for (const auto& z : s->zones) {
    try {
      zones->push_back(zone::load_zone_file(z.path, z.origin));
    } catch (const config::error& e) {
      problems += (problems.empty() ? "" : "\n") + std::string(e.what());
    }
  }
  if (!problems.empty()) throw config::error(problems);
  return {std::move(s), std::move(zones)};
}

std::shared_ptr<const server::snapshot> make_snapshot(const loaded& l, const overrides& o) {
  auto effective = l.settings;
  if (!o.empty()) {
    auto copy = std::make_shared<config::settings>(*l.settings);
    for (auto& e : copy->endpoints)
      if (auto it = o.find(e.id); it != o.end()) e.private_dns = it->second;
    effective = std::move(copy);
  }
  auto data = zone::local_data::build(*effective, *l.zones);
  return std::make_shared<server::snapshot>(server::snapshot{effective, data});
}

// An upstream that is one of our own listen addresses (or our port on a
// wildcard listener, reached via loopback) would send queries back to us.
std::optional<std::string> find_forwarding_loop(const config::settings& s,
                                                const std::vector<view::socket_address>& ups) {
  for (const auto& up : ups) {
    for (const auto& l : s.listen) {
      bool wildcard = l.addr.bytes == std::array<uint8_t, 16>{} && l.addr.fam == up.addr.fam;
      bool loopback_up =
          up.addr.is_v4() ? up.addr.bytes[0] == 127 : up.addr == *view::ip_address::parse("::1");
      if (up.port == l.port && (up.addr == l.addr || (wildcard && loopback_up)))
        return "upstream " + up.to_string() + " is vpcedns's own listen address " + l.to_string() +
               ": that is a forwarding loop. Set [forward] upstreams to a "
               "real resolver (when empty, /etc/resolv.conf is used and must not point "
               "at vpcedns itself)";
    }
  }
  return std::nullopt;
}

std::vector<std::string> describe(const config::settings& s, const zone::local_data& data) {
  std::vector<std::string> out;
  for (const auto& l : s.listen) out.push_back("listen " + l.to_string() + " (udp, tcp)");
  out.push_back("upstreams " +
                (s.forward.use_resolv_conf ? std::string("from /etc/resolv.conf")
                                           : addresses(s.forward.upstreams)) +
                " timeout_ms=" + std::to_string(s.forward.timeout_ms) +
                " attempts=" + std::to_string(s.forward.attempts));
  for (std::size_t i = 0; i < s.vpcs.size(); ++i) {
    auto v = static_cast<view::view_id>(i + 1);
    out.push_back("vpc " + s.vpcs[i].name + " cidrs=" + cidrs_of(s.vpcs[i]) +
                  " local_names=" + std::to_string(data.names_in(v)));
    for (const auto* z : data.zones_in(v))
      out.push_back("  zone " + z->apex_text + " from=" + z->source +
                    " names=" + std::to_string(z->names.size()));
  }
  for (const auto& e : s.endpoints)
    out.push_back("endpoint " + e.id + " service=" + e.service + " vpc=" + e.vpc +
                  " private_dns=" + (e.private_dns ? "on" : "off") +
                  " enis=" + std::to_string(e.enis.size()) + " names=" + join(e.private_dns_names));
  out.push_back("outside clients: vpce names only, everything else forwarded");
  return out;
}

runtime::runtime(std::optional<std::string> config_path, loaded first, server::state& st,
                 bool fixed_log_level)
    : config_path_(std::move(config_path)),
      current_(std::move(first)),
      state_(st),
      fixed_log_level_(fixed_log_level) {}

reply runtime::handle(const std::string& request) {
  std::istringstream in(request);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  if (words.size() == 1 && words[0] == "status") return status();
  if (words.size() == 1 && words[0] == "reload") return reload();
  if (words.size() == 3 && words[0] == "private-dns" && (words[2] == "on" || words[2] == "off"))
    return private_dns(words[1], words[2] == "on");
  return {false, "unknown request \"" + request +
                     "\"; expected: status | reload | private-dns <endpoint-id|all> <on|off>\n"};
}

void runtime::publish(const loaded& l, const overrides& o) {
  state_.publish(make_snapshot(l, o));
}

// Settings a running daemon cannot change: they stay, and the log says so.
std::vector<std::string> runtime::keep_unreloadable(config::settings& next) const {
  const config::settings& now = *current_.settings;
  std::vector<std::string> kept;
  if (next.listen != now.listen) {
    kept.push_back("[listen] addresses changed; keeping " + addresses(now.listen) +
                   " until a restart");
    next.listen = now.listen;
  }
  if (next.threads != now.threads) {
    kept.push_back("[server] threads changed; keeping " + std::to_string(now.threads) +
                   " until a restart");
    next.threads = now.threads;
  }
  if (!(next.cache == now.cache)) {
    // Each worker builds its cache once, at start (resolver/cache/README.md).
    kept.push_back("[cache] changed; keeping the current cache settings until a restart");
    next.cache = now.cache;
  }
  if (next.control.socket != now.control.socket) {
    kept.push_back("[control] socket changed; keeping the current one until a restart");
    next.control = now.control;
  }
  return kept;
}

// A changed [forward] is tried out on a throwaway forwarder first, so a bad
// upstream list is a reload error rather than a worker left without one.
std::optional<std::string> runtime::check_upstreams(const config::settings& s) const {
  if (s.forward == current_.settings->forward) return std::nullopt;
  try {
    boost::asio::io_context io;
    forward::forwarder probe(io, s.forward);
    auto loop = find_forwarding_loop(s, probe.upstreams());
    probe.shutdown();
    return loop;
  } catch (const std::exception& e) {
    return std::string(e.what());
  }
}

reply runtime::reload() {
  auto log = vpcedns::log::get("control");
  std::string source = config_path_.value_or("<embedded default>");
  loaded next;
  try {
    next = load(config_path_);
    auto settings = std::make_shared<config::settings>(*next.settings);
    auto kept = keep_unreloadable(*settings);
    for (const auto& k : kept) log->warn("reload: {}", k);
    if (auto bad = check_upstreams(*settings)) throw config::error(source + ": " + *bad);
    next.settings = settings;
    publish(next, {});  // make_snapshot throws before anything is published
    for (const auto& w : settings->warnings) log->warn("{}", w);
    current_ = next;
    overrides_.clear();
    if (!fixed_log_level_) vpcedns::log::set_level(settings->log_level);
    ++reloads_;
    log->info("reloaded {}: {} vpcs, {} endpoints, {} zones", source, settings->vpcs.size(),
              settings->endpoints.size(), settings->zones.size());
    return {true, "reloaded " + source + "\n" + lines(kept)};
  } catch (const config::error& e) {
    log->error("reload failed, still serving the previous configuration:\n{}", e.what());
    return {false, std::string(e.what()) +
                       "\nreload failed: still serving the previous "
                       "configuration\n"};
  }
}

reply runtime::private_dns(const std::string& which, bool on) {
  const config::settings& s = *current_.settings;
  overrides next = overrides_;
  std::string done;
  for (const auto& e : s.endpoints) {
    if (which != "all" && e.id != which) continue;
    if (on && e.private_dns_names.empty()) {
      if (which != "all")
        return {false, e.id + " has no private DNS names: set private_dns_names in the config\n"};
      done += e.id + " skipped: no private DNS names\n";
      continue;
    }
    next[e.id] = on;
    done += e.id + " private_dns=" + (on ? "on" : "off") + " vpc=" + e.vpc +
            " names=" + join(e.private_dns_names) + "\n";
  }
  if (done.empty())
    return {false, "no endpoint \"" + which + "\" in " + s.source + "; see `vpcedns ctl status`\n"};
  try {
    publish(current_, next);
  } catch (const config::error& e) {
    return {false, std::string(e.what()) + "\nnothing changed\n"};
  }
  overrides_ = std::move(next);
  vpcedns::log::get("control")->info("private DNS {} for {}", on ? "on" : "off", which);
  return {true, done + "In effect now, until the next reload or restart. To keep it, set " +
                    "private_dns = " + (on ? "true" : "false") + " in " + s.source + ".\n"};
}

std::string runtime::configured(const std::string& id) const {
  for (const auto& e : current_.settings->endpoints)
    if (e.id == id) return e.private_dns ? "on" : "off";
  return "?";
}

reply runtime::status() {
  auto snap = state_.current();
  const config::settings& s = *snap->settings;
  std::vector<std::string> out{"config " + s.source + " reloads=" + std::to_string(reloads_) +
                               " overrides=" + std::to_string(overrides_.size())};
  for (auto line : describe(s, *snap->data)) {
    if (line.starts_with("endpoint ")) {
      std::string id = line.substr(9, line.find(' ', 9) - 9);
      if (overrides_.count(id)) line += " (set by ctl; config says " + configured(id) + ")";
    }
    out.push_back(line);
  }
  if (server_) {
    server::query_counters total;
    for (const auto& w : server_->status(std::chrono::seconds(1))) {
      total.queries += w.queries.queries;
      total.local += w.queries.local;
      total.forwarded += w.queries.forwarded;
      total.servfail += w.queries.servfail;
      out.push_back("worker " + std::to_string(w.index) + " upstreams=" + addresses(w.upstreams) +
                    " health=" + w.health + " sent=" + std::to_string(w.upstream.sent) +
                    " answered=" + std::to_string(w.upstream.answered) +
                    " timeout=" + std::to_string(w.upstream.timeout) +
                    " unreachable=" + std::to_string(w.upstream.unreachable) +
                    " in_flight=" + std::to_string(w.in_flight) +
                    " draining_forwarders=" + std::to_string(w.retired));
    }
    out.push_back("queries total=" + std::to_string(total.queries) + " local=" +
                  std::to_string(total.local) + " forwarded=" + std::to_string(total.forwarded) +
                  " servfail=" + std::to_string(total.servfail));
  }
  return {true, lines(out)};
}

}  // namespace vpcedns::control

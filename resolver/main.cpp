// vpcedns: wiring only. Subcommands, flags, config, build the objects, run.
#include "config/config.hpp"
#include "control/runtime.hpp"
#include "control/socket.hpp"
#include "log/log.hpp"
#include "server/server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace {

using namespace vpcedns;

constexpr const char* usage =
    "usage: vpcedns [--config FILE] [--log-level LEVEL]     run the daemon\n"
    "       vpcedns check [--config FILE]                   validate config and zones, print\n"
    "                                                       what would be served, exit 1 on error\n"
    "       vpcedns ctl [--socket PATH | --config FILE] COMMAND\n"
    "           status                                      listeners, VPCs, endpoints, zones,\n"
    "                                                       upstreams and counters\n"
    "           private-dns <endpoint-id|all> <on|off>      until the next reload or restart\n"
    "           reload                                      re-read config and zones (= SIGHUP)\n"
    "       vpcedns --version | --help\n"
    "\n"
    "Split-horizon DNS resolver that answers AWS VPC interface endpoint names and\n"
    "private hosted zones for clients inside configured VPC CIDRs and forwards the rest.\n"
    "Without --config it runs on the built-in default (config/vpcedns.toml).\n";

// SIGTERM waits at most this long for forwarded queries (systemd waits 90 s).
constexpr std::chrono::milliseconds max_drain{30000};

struct options {
  std::string command = "run";  // run, check, ctl
  std::optional<std::string> config;
  std::optional<std::string> log_level;
  std::optional<std::string> socket;
  std::vector<std::string> words;  // ctl's command
};

// Returns nullopt after printing help/version or a usage error (exit code in *rc).
std::optional<options> parse_args(int argc, char** argv, int* rc) {
  options o;
  int i = 1;
  if (argc > 1 && (std::string(argv[1]) == "check" || std::string(argv[1]) == "ctl"))
    o.command = argv[i++];
  for (; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](std::optional<std::string>& into) {
      if (i + 1 >= argc) {
        std::cerr << "vpcedns: " << a << " needs a value\n" << usage;
        return false;
      }
      into = argv[++i];
      return true;
    };
    bool ok = true;
    if (a == "--help" || a == "-h") {
      std::cout << usage;
      return *rc = 0, std::nullopt;
    } else if (a == "--version") {
      std::cout << "vpcedns " VPCEDNS_VERSION "\n";
      return *rc = 0, std::nullopt;
    } else if (a == "--config" || a == "-c") {
      ok = value(o.config);
    } else if (a == "--log-level" && o.command == "run") {
      ok = value(o.log_level);
    } else if (a == "--socket" && o.command == "ctl") {
      ok = value(o.socket);
    } else if (o.command == "ctl" && !a.starts_with("-")) {
      o.words.push_back(a);
    } else {
      std::cerr << "vpcedns: unknown argument '" << a << "'\n" << usage;
      ok = false;
    }
    if (!ok) return *rc = 2, std::nullopt;
  }
  return o;
}

std::string control_socket(const config::settings& s) {
  return s.control.socket.empty()
             ? config::default_control_socket(
                   ::geteuid(), [](const char* n) -> const char* { return std::getenv(n); })
             : s.control.socket;
}

void log_summary(const config::settings& s, const zone::local_data& data,
                 const std::vector<view::socket_address>& upstreams) {
  auto log = vpcedns::log::get("main");
  log->info("vpcedns {} starting, config {}", VPCEDNS_VERSION, s.source);
  for (const auto& line : control::describe(s, data)) log->info("{}", line);
  std::string ups;
  for (const auto& u : upstreams) ups += (ups.empty() ? "" : ",") + u.to_string();
  log->info("upstreams in use {}", ups);
  log->info("{} worker thread{}", s.threads, s.threads == 1 ? "" : "s");
  std::string allow;
  for (const auto& c : s.allow) allow += (allow.empty() ? "" : ",") + c.to_string();
  log->info(
      "clients allowed {} (others REFUSED) chaos={} tcp_idle_timeout_ms={} "
      "max_tcp_connections={}",
      allow, s.chaos == config::settings::chaos_mode::answer ? "answer" : "refuse",
      s.tcp_idle_timeout_ms, s.max_tcp_connections);
  if (s.cache.max_entries == 0)
    log->info("cache off");
  else
    log->info(
        "cache max_entries={} (split over the workers) servfail_ttl={} min_ttl={} "
        "max_ttl={} serve_stale={} stale_ttl={}",
        s.cache.max_entries, s.cache.servfail_ttl, s.cache.min_ttl, s.cache.max_ttl,
        s.cache.serve_stale ? "on" : "off", s.cache.stale_ttl);
}

void log_cache(const server::server& srv, const char* why) {
  cache::stats c = srv.cache_stats();
  uint64_t asked = c.hits + c.misses;
  vpcedns::log::get("main")->info(
      "{}cache entries={} hits={} misses={} hit_rate={:.1f}% stale={} failed={} inserts={} "
      "evictions={} uncacheable={}",
      why, c.entries, c.hits, c.misses, asked ? 100.0 * c.hits / asked : 0.0, c.stale_hits,
      c.failed_hits, c.inserts, c.evictions, c.uncacheable);
}

// `vpcedns check`: everything startup checks, without sockets or c-ares.
int check(const options& o) {
  auto l = control::load(o.config);
  auto snap = control::make_snapshot(l, {});
  for (const auto& w : l.settings->warnings) std::cout << "warning: " << w << "\n";
  for (const auto& line : control::describe(*l.settings, *snap->data)) std::cout << line << "\n";
  for (const auto& z : *l.zones)
    std::cout << "zone file " << z.path << ": " << z.apex_text << " " << z.records.size()
              << " records" << (z.includes ? " (with $INCLUDE)" : "") << "\n";
  std::cout << "control socket " << control_socket(*l.settings) << "\n";
  std::cout << (o.config ? *o.config : "<embedded default>") << ": OK\n";
  return 0;
}

// `vpcedns ctl`: one request to the running daemon.
int ctl(const options& o) {
  std::string line;
  for (const auto& w : o.words) line += (line.empty() ? "" : " ") + w;
  if (line.empty()) {
    std::cerr << usage;
    return 2;
  }
  std::string path;
  if (o.socket) {
    path = *o.socket;
  } else {
    config::settings s;
    try {
      s = o.config ? config::load_file(*o.config)
                   : config::load_string(config::embedded_default(), "-");
    } catch (const config::error& e) {
      // A config being edited may be broken: the running daemon still has its socket.
      std::cerr << "vpcedns ctl: cannot read [control] socket from the config, trying the "
                   "default:\n"
                << e.what() << "\n";
    }
    path = control_socket(s);
  }
  std::string why;
  // A reload reads every zone file: give it time.
  auto r = control::request(path, line, std::chrono::seconds(60), &why);
  if (!r) {
    std::cerr << "vpcedns ctl: " << path << ": " << why << " (is vpcedns running? --socket?)\n";
    return 3;
  }
  (r->ok ? std::cout : std::cerr) << r->text;
  return r->ok ? 0 : 1;
}

// The control socket. A configured path that cannot be used stops the start;
// the default path (shared by every daemon of this user that sets none) only
// disables `ctl` for this daemon, with an error saying how to fix it.
std::unique_ptr<control::control_server> start_control(boost::asio::io_context& io,
                                                       const config::settings& s,
                                                       control::runtime& rt) {
  auto log = vpcedns::log::get("main");
  try {
    auto ctl = std::make_unique<control::control_server>(
        io, control_socket(s), [&rt](const std::string& req) { return rt.handle(req); });
    log->info("control socket {}", ctl->path());
    return ctl;
  } catch (const std::runtime_error& e) {
    if (!s.control.socket.empty()) throw;
    log->error("{}; `vpcedns ctl` is unavailable for this daemon (SIGHUP still reloads)", e.what());
    return nullptr;
  }
}

int run(const options& o) {
  auto first = control::load(o.config);
  const config::settings& settings = *first.settings;
  std::string level = o.log_level.value_or(settings.log_level);
  if (!vpcedns::log::set_level(level)) {
    std::cerr << "vpcedns: unknown log level '" << level
              << "' (trace, debug, info, warn, error, critical, off)\n";
    return 2;
  }
  for (const auto& w : settings.warnings) vpcedns::log::get("config")->warn("{}", w);
  server::state state(control::make_snapshot(first, {}));
  control::runtime rt(o.config, first, state, o.log_level.has_value());

  server::server srv(state);
  srv.start();
  if (auto loop = control::find_forwarding_loop(settings, srv.upstreams())) {
    vpcedns::log::get("main")->error("{}", *loop);
    return 1;
  }
  log_summary(settings, *state.current()->data, srv.upstreams());

  // Signals and control requests are taken on the main thread; the workers
  // run on their own.
  boost::asio::io_context io(1);
  auto ctl_server = start_control(io, settings, rt);
  rt.attach(&srv);

  boost::asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  signals.add(SIGUSR1);  // flush the cache
  signals.add(SIGUSR2);  // log the cache's size and hit rate
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        if (sig == SIGHUP) {
          vpcedns::log::get("main")->info("SIGHUP: reloading");
          rt.reload();
          signals.async_wait(on_signal);
          return;
        }
        if (sig == SIGUSR1 || sig == SIGUSR2) {
          if (sig == SIGUSR1) srv.flush_cache();
          log_cache(srv, sig == SIGUSR1 ? "SIGUSR1: cache flushed; before the flush: " : "");
          signals.async_wait(on_signal);
          return;
        }
        vpcedns::log::get("main")->info("{}: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
        // Queries already forwarded may take one full upstream timeout cycle
        // (c-ares doubles the timeout on each pass through the list).
        const auto& f = state.current()->settings->forward;
        auto cycle = std::chrono::milliseconds(f.timeout_ms * ((1u << f.attempts) - 1) + 100);
        srv.stop(std::min<std::chrono::milliseconds>(cycle, max_drain));
      };
  signals.async_wait(on_signal);
  srv.run();
  vpcedns::log::get("main")->info("ready");
  std::thread main_loop([&io] { io.run(); });
  srv.join();
  log_cache(srv, "at stop: ");
  io.stop();
  main_loop.join();
  vpcedns::log::get("main")->info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // A closed log pipe (vpcedns | head) must not kill the daemon with SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  vpcedns::log::init();
  int rc = 0;
  auto o = parse_args(argc, argv, &rc);
  if (!o) return rc;
  try {
    if (o->command == "check") return check(*o);
    if (o->command == "ctl") return ctl(*o);
    return run(*o);
  } catch (const config::error& e) {
    std::cerr << "vpcedns: configuration error:\n" << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    vpcedns::log::get("main")->critical("{}", e.what());
    return 1;
  }
}

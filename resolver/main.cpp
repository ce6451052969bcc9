// vpcedns: wiring only. Flags, config, build the objects, run the io_context.
#include "config/config.hpp"
#include "log/log.hpp"
#include "server/server.hpp"
#include "zone/local_data.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <chrono>
#include <cstring>
#include <functional>
#include <thread>
#include <iostream>
#include <optional>
#include <string>

namespace {

using namespace vpcedns;

constexpr const char* usage =
    "usage: vpcedns [--config FILE] [--log-level LEVEL]\n"
    "       vpcedns --version | --help\n"
    "\n"
    "Split-horizon DNS resolver that answers AWS VPC interface endpoint names\n"
    "privately for clients inside configured VPC CIDRs and forwards the rest.\n"
    "Without --config it runs on the built-in default (config/vpcedns.toml).\n";

struct options {
  std::optional<std::string> config;
  std::optional<std::string> log_level;
};

// Returns nullopt after printing help/version or a usage error (exit code in *rc).
std::optional<options> parse_args(int argc, char** argv, int* rc) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* flag) -> std::optional<std::string> {
      if (i + 1 >= argc) {
        std::cerr << "vpcedns: " << flag << " needs a value\n" << usage;
        return std::nullopt;
      }
      return std::string(argv[++i]);
    };
    if (a == "--help" || a == "-h") {
      std::cout << usage;
      *rc = 0;
      return std::nullopt;
    } else if (a == "--version") {
      std::cout << "vpcedns " VPCEDNS_VERSION "\n";
      *rc = 0;
      return std::nullopt;
    } else if (a == "--config" || a == "-c") {
      if (!(o.config = value("--config"))) return *rc = 2, std::nullopt;
    } else if (a == "--log-level") {
      if (!(o.log_level = value("--log-level"))) return *rc = 2, std::nullopt;
    } else {
      std::cerr << "vpcedns: unknown argument '" << a << "'\n" << usage;
      *rc = 2;
      return std::nullopt;
    }
  }
  return o;
}

// An upstream that is one of our own listen addresses (or our port on a
// wildcard listener, reached via loopback) would send queries back to us.
std::optional<std::string> find_forwarding_loop(const config::settings& s,
                                                const std::vector<view::socket_address>& ups) {
  for (const auto& up : ups) {
    for (const auto& l : s.listen) {
      bool wildcard = l.addr.bytes == std::array<uint8_t, 16>{} && l.addr.fam == up.addr.fam;
      bool loopback_up = up.addr.is_v4() ? up.addr.bytes[0] == 127
                                         : up.addr == *view::ip_address::parse("::1");
      if (up.port == l.port && (up.addr == l.addr || (wildcard && loopback_up)))
        return "upstream " + up.to_string() + " is vpcedns's own listen address " +
               l.to_string() + ": that is a forwarding loop. Set [forward] upstreams to a "
               "real resolver (when empty, /etc/resolv.conf is used and must not point "
               "at vpcedns itself)";
    }
  }
  return std::nullopt;
}

void log_summary(const config::settings& s, const zone::local_data& data,
                 const std::vector<view::socket_address>& upstreams) {
  auto log = vpcedns::log::get("main");
  log->info("vpcedns {} starting, config {}", VPCEDNS_VERSION, s.source);
  for (const auto& l : s.listen) log->info("listening on {} (udp, tcp)", l.to_string());
  for (std::size_t i = 0; i < s.vpcs.size(); ++i) {
    std::string cidrs;
    for (const auto& c : s.vpcs[i].cidrs) cidrs += (cidrs.empty() ? "" : ",") + c.to_string();
    log->info("vpc {} cidrs={} local_names={}", s.vpcs[i].name, cidrs,
              data.names_in(static_cast<view::view_id>(i + 1)));
  }
  for (const auto& e : s.endpoints) {
    std::string names;
    for (const auto& n : e.private_dns_names) names += (names.empty() ? "" : ",") + n;
    log->info("endpoint {} service={} vpc={} private_dns={} enis={} names={}", e.id, e.service,
              e.vpc, e.private_dns ? "on" : "off", e.enis.size(), names);
  }
  std::string ups;
  for (const auto& u : upstreams) ups += (ups.empty() ? "" : ",") + u.to_string();
  log->info("upstreams {}{} timeout_ms={} attempts={}", ups,
            s.forward.use_resolv_conf ? " (from /etc/resolv.conf)" : "", s.forward.timeout_ms,
            s.forward.attempts);
  log->info("{} worker thread{}", s.threads, s.threads == 1 ? "" : "s");
  std::string allow;
  for (const auto& c : s.allow) allow += (allow.empty() ? "" : ",") + c.to_string();
  log->info("clients allowed {} (others REFUSED) chaos={} tcp_idle_timeout_ms={} "
            "max_tcp_connections={}",
            allow, s.chaos == config::settings::chaos_mode::answer ? "answer" : "refuse",
            s.tcp_idle_timeout_ms, s.max_tcp_connections);
}

int run(const options& o) {
  auto settings = std::make_shared<config::settings>(
      o.config ? config::load_file(*o.config)
               : config::load_string(config::embedded_default(), "<embedded default>"));
  std::string level = o.log_level.value_or(settings->log_level);
  if (!vpcedns::log::set_level(level)) {
    std::cerr << "vpcedns: unknown log level '" << level
              << "' (trace, debug, info, warn, error, critical, off)\n";
    return 2;
  }
  for (const auto& w : settings->warnings) vpcedns::log::get("config")->warn("{}", w);
  auto data = zone::local_data::build(*settings);
  server::state state(std::make_shared<server::snapshot>(server::snapshot{settings, data}));

  server::server srv(state);
  srv.start();
  if (auto loop = find_forwarding_loop(*settings, srv.upstreams())) {
    vpcedns::log::get("main")->error("{}", *loop);
    return 1;
  }
  log_summary(*settings, *data, srv.upstreams());

  // Signals are taken on the main thread; the workers run on their own.
  boost::asio::io_context io(1);
  boost::asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        if (sig == SIGHUP) {
          // TODO: reload config and zones on SIGHUP (issue #4); until then it is ignored.
          vpcedns::log::get("main")->warn("SIGHUP: reload is not supported yet, ignoring");
          signals.async_wait(on_signal);
          return;
        }
        vpcedns::log::get("main")->info("{}: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
        // Queries already forwarded may take one full upstream timeout cycle.
        auto drain = std::chrono::milliseconds(settings->forward.timeout_ms *
                                               settings->forward.attempts + 100);
        srv.stop(drain);
      };
  signals.async_wait(on_signal);
  srv.run();
  vpcedns::log::get("main")->info("ready");
  std::thread signal_thread([&io] { io.run(); });
  srv.join();
  io.stop();
  signal_thread.join();
  vpcedns::log::get("main")->info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  vpcedns::log::init();
  int rc = 0;
  auto o = parse_args(argc, argv, &rc);
  if (!o) return rc;
  try {
    return run(*o);
  } catch (const config::error& e) {
    std::cerr << "vpcedns: configuration error:\n" << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    vpcedns::log::get("main")->critical("{}", e.what());
    return 1;
  }
}

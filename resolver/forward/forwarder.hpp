// Sends client queries to the upstream resolvers with c-ares, on an Asio
// io_context, and hands back the upstream's raw answer.
#pragma once

#include "config/config.hpp"
#include "view/address.hpp"

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace vpcedns::forward {

enum class status {
  answered,     // `answer` holds the upstream's message (any rcode: NXDOMAIN, SERVFAIL... pass
                // through)
  timeout,      // every attempt on every upstream timed out
  unreachable,  // connection refused / network error on every upstream
  bad_answer,   // upstream replies could not be used (malformed)
  cancelled,    // the forwarder was shut down first
  bad_query,    // the query is shorter than a DNS header or longer than 65535 bytes; never sent
};
const char* to_string(status s);

struct result {
  status st = status::answered;
  // The upstream's answer as received (status::answered only; empty
  // otherwise), with the random ID the forwarder sent upstream in place of the
  // client's (the caller patches in the client's ID). c-ares has already checked
  // that it came from the upstream's address and that ID and question match
  // what was sent, so spoofed or stray replies never get here.
  std::vector<uint8_t> answer;
};

// Totals since construction, for metrics and tests.
struct counters {
  std::uint64_t sent = 0;  // send() calls
  std::uint64_t answered = 0;
  std::uint64_t timeout = 0;
  std::uint64_t unreachable = 0;
  std::uint64_t bad_answer = 0;
  std::uint64_t cancelled = 0;
  std::uint64_t bad_query = 0;
};

using completion = std::function<void(result)>;

enum class upstream_state;  // health.hpp

// Owns one c-ares channel driven by the io_context. Not thread-safe: use it
// only from the thread running `io` (one forwarder per worker thread).
class forwarder {
 public:
  // Throws std::runtime_error when c-ares cannot be initialised or the upstream
  // list is empty (no upstreams configured and none in /etc/resolv.conf).
  // `resolv_conf` is read only when settings.use_resolv_conf is set; tests
  // point it at a file of their own.
  forwarder(boost::asio::io_context& io, const config::forward_settings& settings,
            const std::string& resolv_conf = "/etc/resolv.conf");
  ~forwarder();
  forwarder(const forwarder&) = delete;
  forwarder& operator=(const forwarder&) = delete;

  // Sends `query` (a complete DNS message as the client sent it) upstream,
  // unchanged except for a fresh random ID; no EDNS is added or removed.
  // Servers are tried in order, each `attempts` times. Each attempt waits
  // `timeout_ms`, doubled on every further pass through the list (c-ares 1.18):
  // one silent upstream with attempts = 2 gives up after 3 * timeout_ms. A
  // truncated UDP answer, or one over 512 bytes, is fetched again over TCP by
  // c-ares. `done` is called exactly once, on the io_context thread, never from
  // inside send(); after shutdown() it gets status::cancelled.
  void send(std::span<const uint8_t> query, completion done);

  // The upstreams in use (from the config or from /etc/resolv.conf).
  const std::vector<view::socket_address>& upstreams() const;

  // Number of queries handed to c-ares and not yet finished there (their
  // completions may still be queued on the io_context).
  std::size_t in_flight() const;

  const counters& stats() const;

  // How the upstream list looked to the most recent query (health.hpp).
  upstream_state health() const;

  // Completes every pending query with status::cancelled and closes sockets.
  // Idempotent; the destructor calls it. Completions already queued still run
  // (they do not touch the forwarder), so `done` must stay valid on its own.
  void shutdown();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace vpcedns::forward

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
  answered,     // `answer` holds the upstream's message (any rcode: NXDOMAIN, SERVFAIL... pass through)
  timeout,      // every attempt on every upstream timed out
  unreachable,  // connection refused / network error on every upstream
  bad_answer,   // upstream replies could not be used (malformed)
  cancelled,    // the forwarder was shut down first
};
const char* to_string(status s);

struct result {
  status st = status::answered;
  // The upstream's answer as received, with the ID c-ares chose (the caller
  // patches in the client's ID). c-ares has already checked that ID and
  // question match what was sent, so spoofed or stray replies never get here.
  std::vector<uint8_t> answer;
};

using completion = std::function<void(result)>;

// Owns one c-ares channel driven by the io_context. Not thread-safe: use it
// only from the thread running `io` (one forwarder per worker thread).
class forwarder {
 public:
  // Throws std::runtime_error when c-ares cannot be initialised or the upstream
  // list is empty (no upstreams configured and none in /etc/resolv.conf).
  forwarder(boost::asio::io_context& io, const config::forward_settings& settings);
  ~forwarder();
  forwarder(const forwarder&) = delete;
  forwarder& operator=(const forwarder&) = delete;

  // Sends `query` (a complete DNS message as the client sent it) upstream.
  // Servers are tried in order, each `attempts` times with `timeout_ms`; a
  // truncated UDP answer is retried over TCP by c-ares. `done` is called
  // exactly once, on the io_context thread, never from inside send().
  void send(std::span<const uint8_t> query, completion done);

  // The upstreams in use (from the config or from /etc/resolv.conf).
  const std::vector<view::socket_address>& upstreams() const;

  // Number of queries sent and not yet completed.
  std::size_t in_flight() const;

  // Completes every pending query with status::cancelled and closes sockets.
  void shutdown();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace vpcedns::forward

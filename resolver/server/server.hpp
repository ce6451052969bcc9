// The Asio shell: worker threads, UDP and TCP listeners, per-connection loops.
// It only does I/O; every decision is made by server::handle().
#pragma once

#include "forward/forwarder.hpp"
#include "cache/cache.hpp"
#include "server/state.hpp"
#include "view/address.hpp"
#include "wire/message.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace vpcedns::server {

struct decision;

// Queries answered by one worker, by where the answer came from.
struct query_counters {
  uint64_t queries = 0;    // answered (responses sent, errors included)
  uint64_t local = 0;      // from local data: endpoints, vpce names, zones
  uint64_t forwarded = 0;  // relayed from upstream (CNAME chains leaving a zone included)
  uint64_t servfail = 0;   // SERVFAIL sent (upstream trouble)
  void note(const decision& d, wire::rcode rc);
};

// One worker's view of itself, for `vpcedns ctl status`.
struct worker_status {
  unsigned index = 0;
  query_counters queries;
  forward::counters upstream;  // of the current forwarder
  std::string health;          // forward::to_string(upstream_state)
  std::vector<view::socket_address> upstreams;
  std::size_t in_flight = 0;  // forwarded, not answered yet (retired forwarders too)
  std::size_t retired = 0;    // forwarders replaced by a reload, still draining
};

class server {
 public:
  // `st` must outlive the server. Nothing is bound until start().
  explicit server(state& st);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Creates settings.threads workers, each with its own io_context, c-ares
  // forwarder and SO_REUSEPORT UDP socket and TCP acceptor on every listen
  // address, so the kernel spreads clients over the workers and no lock is
  // taken per query. Throws std::runtime_error naming the address when a
  // bind fails, or when the forwarder cannot start.
  void start();

  // The upstreams the forwarders use (configured or from /etc/resolv.conf).
  const std::vector<view::socket_address>& upstreams() const;

  // Starts one thread per worker. Returns at once.
  void run();
  // Stops accepting queries; queries already forwarded get up to `drain` to
  // be answered, then every socket closes and the threads end. Thread-safe.
  void stop(std::chrono::milliseconds drain);
  // Waits for the threads started by run().
  void join();

  // Asks every worker for its counters and upstream state, on its own thread.
  // Thread-safe. A worker that does not answer within `timeout` (stopped, or
  // stuck) is left out.
  std::vector<worker_status> status(std::chrono::milliseconds timeout);
  // Empties every worker's cache of forwarded answers. Thread-safe; returns
  // at once (each worker flushes between two queries, within microseconds).
  void flush_cache();
  // The cache counters summed over the workers. Thread-safe; each worker
  // publishes its counters every second and after a flush, so they may be up
  // to one second old. Hit rate: hits / (hits + misses).
  cache::stats cache_stats() const;

 private:
  struct worker;
  state& state_;
  std::vector<std::unique_ptr<worker>> workers_;
};

}  // namespace vpcedns::server

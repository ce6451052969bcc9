// The Asio shell: worker threads, UDP and TCP listeners, per-connection loops.
// It only does I/O; every decision is made by server::handle().
#pragma once

#include "server/state.hpp"
#include "view/address.hpp"

#include <chrono>
#include <memory>
#include <vector>

namespace vpcedns::server {

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

 private:
  struct worker;
  state& state_;
  std::vector<std::unique_ptr<worker>> workers_;
};

}  // namespace vpcedns::server

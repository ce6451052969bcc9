// The Asio shell: UDP and TCP listeners, per-connection loops, signals.
// It only does I/O; every decision is made by server::handle().
#pragma once

#include "config/config.hpp"
#include "forward/forwarder.hpp"
#include "server/handler.hpp"
#include "zone/local_data.hpp"

#include <boost/asio/io_context.hpp>

#include <memory>

namespace vpcedns::server {

class server {
 public:
  // `fwd` must outlive the server. Nothing is bound until start().
  server(boost::asio::io_context& io, const config::settings& settings,
         std::shared_ptr<const zone::local_data> data, forward::forwarder& fwd);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Binds every listen address (UDP and TCP) and starts serving.
  // Throws std::runtime_error naming the address when a bind fails.
  void start();
  // Closes the listeners and every TCP connection.
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace vpcedns::server

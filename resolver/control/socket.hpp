// The control channel of `vpcedns ctl`: a Unix stream socket.
//
// Why a Unix socket (see resolver/server/README.md, "Control"): only local
// processes can reach it, the kernel checks the caller against the file's
// owner, group and mode (0660) before connect() succeeds, and SO_PEERCRED
// tells us who is calling without any token to store, rotate or leak. A
// loopback HTTP port would be reachable by every local user and need a secret.
//
// Protocol: the client sends one line (at most 1 KiB), e.g. "status",
// "reload", "private-dns vpce-0a1b2c3d4e5f60718 off"; the daemon answers
// "ok\n" or "error\n", then free text, and closes the connection.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace vpcedns::control {

struct reply {
  bool ok = true;
  std::string text;  // one or more lines, each ending in '\n'
};

using request_handler = std::function<reply(const std::string& request)>;

class control_server {
 public:
  // Creates the socket at `path` (mode 0660; the parent directory is created
  // 0750 when missing and must belong to us or root). A stale socket file is
  // replaced; one a running daemon answers on is not. Throws
  // std::runtime_error naming the path and what to do. `handle` runs on
  // `io`'s thread, one request at a time.
  control_server(boost::asio::io_context& io, std::string path, request_handler handle);
  ~control_server();  // closes and removes the socket file
  control_server(const control_server&) = delete;
  control_server& operator=(const control_server&) = delete;

  const std::string& path() const { return path_; }

 private:
  void accept();
  void serve(boost::asio::local::stream_protocol::socket sock);

  std::string path_;
  request_handler handle_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
};

// Sends one request and returns the reply, or nullopt with `*why` set when
// the daemon cannot be reached or does not answer within `timeout`.
std::optional<reply> request(const std::string& path, const std::string& line,
                             std::chrono::milliseconds timeout, std::string* why);

}  // namespace vpcedns::control

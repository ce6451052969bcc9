#include "control/socket.hpp"

#include "log/log.hpp"

#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include <cerrno>
#include <cstring>
#include <istream>
#include <memory>
#include <stdexcept>

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace vpcedns::control {

namespace asio = boost::asio;
using local = asio::local::stream_protocol;

namespace {

constexpr std::size_t max_request = 1024;
constexpr auto read_deadline = std::chrono::seconds(2);

std::runtime_error failure(const std::string& path, const std::string& what) {
  return std::runtime_error("control socket " + path + ": " + what);
}

std::string parent_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

// The directory must exist and be ours (or root's), so nobody else can swap
// the socket file under us (e.g. a /tmp/vpcedns-<uid> made by another user).
void prepare_directory(const std::string& path) {
  std::string dir = parent_of(path);
  if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST)
    throw failure(path, "cannot create " + dir + ": " + std::strerror(errno));
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw failure(path, dir + " is not a directory");
  if (st.st_uid != ::geteuid() && st.st_uid != 0)
    throw failure(path, dir + " belongs to uid " + std::to_string(st.st_uid) +
                            "; refusing to put the socket there (set [control] socket)");
}

// Removes a socket file left by a daemon that is gone; refuses to steal one
// that a running daemon still answers on.
void remove_stale(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return;
  if (!S_ISSOCK(st.st_mode)) throw failure(path, "exists and is not a socket; remove it");
  std::string why;
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
  bool live = fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  if (fd >= 0) ::close(fd);
  if (live)
    throw failure(path, "another vpcedns is running on it; stop it or set [control] socket");
  ::unlink(path.c_str());
}

// Allowed: root, our own user, or a member of our group (the socket is 0660).
bool peer_allowed(int fd, std::string* who) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return false;
  *who = "uid=" + std::to_string(cred.uid) + " pid=" + std::to_string(cred.pid);
  return cred.uid == 0 || cred.uid == ::geteuid() || cred.gid == ::getegid();
}

}  // namespace

control_server::control_server(asio::io_context& io, std::string path, request_handler handle)
    : path_(std::move(path)), handle_(std::move(handle)), acceptor_(io) {
  prepare_directory(path_);
  remove_stale(path_);
  boost::system::error_code ec;
  acceptor_.open(local(), ec);
  if (!ec) acceptor_.bind(local::endpoint(path_), ec);
  if (ec) throw failure(path_, "cannot bind: " + ec.message());
  // The mode is the access control: owner and group may connect, nobody else.
  if (::chmod(path_.c_str(), 0660) != 0)
    throw failure(path_, std::string("cannot chmod: ") + std::strerror(errno));
  acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw failure(path_, "cannot listen: " + ec.message());
  accept();
}

control_server::~control_server() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  ::unlink(path_.c_str());
}

void control_server::accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, local::socket sock) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) serve(std::move(sock));
    accept();
  });
}

void control_server::serve(local::socket sock) {
  auto log = vpcedns::log::get("control");
  std::string who;
  if (!peer_allowed(sock.native_handle(), &who)) {
    log->warn("control request refused: {} is not root, our user or our group", who);
    return;
  }
  struct session {
    explicit session(local::socket s) : sock(std::move(s)), timer(sock.get_executor()) {}
    local::socket sock;
    asio::steady_timer timer;
    asio::streambuf in{max_request};
    std::string out;
  };
  auto s = std::make_shared<session>(std::move(sock));
  s->timer.expires_after(read_deadline);
  s->timer.async_wait([s](boost::system::error_code ec) {
    if (!ec) s->sock.close(ec);  // a caller that never finishes its line
  });
  asio::async_read_until(
      s->sock, s->in, '\n', [this, s, who, log](boost::system::error_code ec, std::size_t) {
        s->timer.cancel();
        if (ec && ec != asio::error::eof) return;
        std::istream is(&s->in);
        std::string line;
        std::getline(is, line);
        log->info("control request \"{}\" from {}", line, who);
        reply r = handle_(line);
        s->out = (r.ok ? "ok\n" : "error\n") + r.text;
        asio::async_write(s->sock, asio::buffer(s->out),
                          [s](boost::system::error_code, std::size_t) {
                            boost::system::error_code ignored;
                            s->sock.shutdown(local::socket::shutdown_both, ignored);
                          });
      });
}

std::optional<reply> request(const std::string& path, const std::string& line,
                             std::chrono::milliseconds timeout, std::string* why) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return *why = std::strerror(errno), std::nullopt;
  std::unique_ptr<int, void (*)(int*)> guard(&fd, [](int* f) { ::close(*f); });
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) return *why = "path too long", std::nullopt;
  std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
    return *why = std::strerror(errno), std::nullopt;

  std::string msg = line + "\n";
  if (::send(fd, msg.data(), msg.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(msg.size()))
    return *why = std::strerror(errno), std::nullopt;
  ::shutdown(fd, SHUT_WR);

  std::string text;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
      return *why = "no answer within " + std::to_string(timeout.count()) + " ms", std::nullopt;
    char buf[4096];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) return *why = std::strerror(errno), std::nullopt;
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  auto nl = text.find('\n');
  std::string status = text.substr(0, nl);
  if (status != "ok" && status != "error") return *why = "not a vpcedns reply", std::nullopt;
  return reply{status == "ok", nl == std::string::npos ? "" : text.substr(nl + 1)};
}

}  // namespace vpcedns::control

// A scripted DNS upstream on loopback for forwarder tests: UDP and TCP on the
// same port of 127.0.0.1 (or ::1), in the test's io_context. It never sends
// anything anywhere but to whoever queried it.
#pragma once

#include "view/address.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/read.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace vpcedns::test {

namespace asio = boost::asio;
using bytes = std::vector<uint8_t>;

// ---- DNS bytes by hand: header + question, and replies to them ----

inline uint16_t id_of(const bytes& m) {
  return static_cast<uint16_t>(m.at(0) << 8 | m.at(1));
}
inline uint8_t rcode_of(const bytes& m) {
  return m.at(3) & 0x0f;
}
inline bool tc_of(const bytes& m) {
  return (m.at(2) & 0x02) != 0;
}
inline bytes after_id(const bytes& m) {
  return bytes(m.begin() + 2, m.end());
}

inline void put16(bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v & 0xff));
}

// A query: RD set, one question, no EDNS.
inline bytes make_query(uint16_t id, const std::string& name, uint16_t qtype = 1) {
  bytes b;
  put16(b, id);
  put16(b, 0x0100);  // RD
  put16(b, 1);       // QDCOUNT
  put16(b, 0);
  put16(b, 0);
  put16(b, 0);
  std::size_t start = 0;
  while (start < name.size()) {
    auto dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    b.push_back(static_cast<uint8_t>(dot - start));
    b.insert(b.end(), name.begin() + start, name.begin() + dot);
    start = dot + 1;
  }
  b.push_back(0);
  put16(b, qtype);
  put16(b, 1);  // IN
  return b;
}

// A reply to `q` (header and question copied, so ID and question match): QR and
// RA set, `rcode`, TC if asked, and `a_records` A records for the qname.
inline bytes make_reply(const bytes& q, uint8_t rcode, bool tc = false, int a_records = 1) {
  bytes b = q;
  b[2] |= 0x80;
  if (tc) b[2] |= 0x02;
  b[3] = static_cast<uint8_t>(0x80 | rcode);
  b[6] = static_cast<uint8_t>(a_records >> 8);
  b[7] = static_cast<uint8_t>(a_records & 0xff);
  for (int i = 0; i < a_records; ++i) {
    put16(b, 0xc00c);  // name: pointer to the question
    put16(b, 1);       // A
    put16(b, 1);       // IN
    put16(b, 0);
    put16(b, 60);  // TTL
    put16(b, 4);
    b.insert(b.end(), {192, 0, 2, static_cast<uint8_t>(i)});
  }
  return b;
}

// ---- the fake upstream ----

struct seen_query {
  bytes msg;
  bool tcp = false;
  uint16_t source_port = 0;
};

// For each query received: the messages to send back (none, one, several).
using script = std::function<std::vector<bytes>(const bytes& query, bool tcp)>;

class fake_upstream {
 public:
  fake_upstream(asio::io_context& io, script s, bool v6 = false)
      : io_(io), script_(std::move(s)), udp_(io), acceptor_(io) {
    auto loopback = v6 ? asio::ip::address(asio::ip::address_v6::loopback())
                       : asio::ip::address(asio::ip::address_v4::loopback());
    // Same port for UDP and TCP, as a resolver has; retry if TCP's is taken.
    for (int attempt = 0; attempt < 20 && !acceptor_.is_open(); ++attempt) {
      udp_ = asio::ip::udp::socket(io, asio::ip::udp::endpoint(loopback, 0));
      port_ = udp_.local_endpoint().port();
      boost::system::error_code ec;
      asio::ip::tcp::acceptor acc(io);
      acc.open(v6 ? asio::ip::tcp::v6() : asio::ip::tcp::v4());
      acc.set_option(asio::socket_base::reuse_address(true));
      acc.bind(asio::ip::tcp::endpoint(loopback, port_), ec);
      if (ec) continue;
      acc.listen();
      acceptor_ = std::move(acc);
    }
    if (!acceptor_.is_open()) throw std::runtime_error("fake_upstream: no free port");
    address_ = *view::socket_address::parse((v6 ? "[::1]:" : "127.0.0.1:") + std::to_string(port_),
                                            0, nullptr);
    receive();
    accept();
  }

  const view::socket_address& address() const { return address_; }
  std::vector<seen_query> queries;
  std::size_t udp_count() const { return count(false); }
  std::size_t tcp_count() const { return count(true); }

 private:
  std::size_t count(bool tcp) const {
    std::size_t n = 0;
    for (const auto& q : queries) n += q.tcp == tcp;
    return n;
  }

  void receive() {
    udp_.async_receive_from(asio::buffer(rx_), from_, [this](auto ec, std::size_t n) {
      if (ec) return;
      bytes q(rx_.begin(), rx_.begin() + n);
      queries.push_back({q, false, from_.port()});
      for (const auto& reply : script_(q, false)) {
        boost::system::error_code ignored;
        udp_.send_to(asio::buffer(reply), from_, 0, ignored);
      }
      receive();
    });
  }

  struct session : std::enable_shared_from_this<session> {
    session(fake_upstream& up, asio::ip::tcp::socket s) : up(up), sock(std::move(s)) {}
    fake_upstream& up;
    asio::ip::tcp::socket sock;
    uint8_t len[2]{};
    bytes msg;

    void read() {
      auto self = shared_from_this();
      asio::async_read(sock, asio::buffer(len), [self](auto ec, std::size_t) {
        if (ec) return;
        self->msg.resize(static_cast<std::size_t>(self->len[0] << 8 | self->len[1]));
        asio::async_read(self->sock, asio::buffer(self->msg), [self](auto ec2, std::size_t) {
          if (ec2) return;
          self->up.queries.push_back({self->msg, true, 0});
          bytes out;
          for (const auto& reply : self->up.script_(self->msg, true)) {
            put16(out, static_cast<uint16_t>(reply.size()));
            out.insert(out.end(), reply.begin(), reply.end());
          }
          boost::system::error_code ignored;
          asio::write(self->sock, asio::buffer(out), ignored);
          self->read();
        });
      });
    }
  };

  void accept() {
    acceptor_.async_accept([this](auto ec, asio::ip::tcp::socket s) {
      if (ec) return;
      std::make_shared<session>(*this, std::move(s))->read();
      accept();
    });
  }

  asio::io_context& io_;
  script script_;
  asio::ip::udp::socket udp_;
  asio::ip::tcp::acceptor acceptor_;
  asio::ip::udp::endpoint from_;
  std::array<uint8_t, 65536> rx_{};
  uint16_t port_ = 0;
  view::socket_address address_;
};

// A loopback port with nothing listening on UDP: sending there gets ICMP port
// unreachable, i.e. ECONNREFUSED on a connected socket.
inline view::socket_address closed_port(asio::io_context& io) {
  asio::ip::udp::socket s(io, asio::ip::udp::endpoint(asio::ip::address_v4::loopback(), 0));
  uint16_t port = s.local_endpoint().port();
  s.close();
  return *view::socket_address::parse("127.0.0.1:" + std::to_string(port), 0, nullptr);
}

// Runs `io` until `done()` or `limit` passes. Returns done().
inline bool run_until(asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < end) {
    io.run_one_for(std::chrono::milliseconds(10));
    if (io.stopped()) io.restart();
  }
  return done();
}

}  // namespace vpcedns::test

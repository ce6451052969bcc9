#include "forward/forwarder.hpp"

#include "fake_upstream.hpp"

#include <doctest/doctest.h>

#include <ares.h>
#include <sys/select.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>

using namespace vpcedns;
using namespace vpcedns::test;
using std::chrono::milliseconds;
using clock_type = std::chrono::steady_clock;

namespace {

config::forward_settings settings_for(std::vector<view::socket_address> ups,
                                      unsigned timeout_ms = 1000, unsigned attempts = 2) {
  config::forward_settings s;
  s.upstreams = std::move(ups);
  s.timeout_ms = timeout_ms;
  s.attempts = attempts;
  return s;
}

// Sends one query and runs the loop until its completion.
std::optional<forward::result> ask(asio::io_context& io, forward::forwarder& f, const bytes& q,
                                   milliseconds limit = milliseconds(5000)) {
  std::optional<forward::result> got;
  f.send(q, [&](forward::result r) { got = std::move(r); });
  run_until(
      io, [&] { return got.has_value(); }, limit);
  return got;
}

// Replies to every query with one answer (rcode NOERROR unless told).
script answer_all(uint8_t rcode = 0) {
  return [rcode](const bytes& q, bool) { return std::vector<bytes>{make_reply(q, rcode)}; };
}

script silent() {
  return [](const bytes&, bool) { return std::vector<bytes>{}; };
}

// A temporary resolv.conf with `text`; removed on destruction.
struct temp_file {
  explicit temp_file(const std::string& text) {
    char name[] = "/tmp/forwarder_test_XXXXXX";
    int fd = mkstemp(name);
    REQUIRE(fd >= 0);
    close(fd);
    path = name;
    std::ofstream(path) << text;
  }
  ~temp_file() { std::remove(path.c_str()); }
  std::string path;
};

}  // namespace

TEST_CASE("forwarder: delivers a normal answer under a random upstream ID") {
  // Two queries with client ID 0x1234 to an upstream that answers: both answered,
  // the bytes after the ID are exactly the upstream's, the query reached the
  // upstream unchanged apart from its ID, and that ID is not the client's.
  asio::io_context io;
  fake_upstream up(io, answer_all());
  forward::forwarder f(io, settings_for({up.address()}));
  const bytes q = make_query(0x1234, "db.corp.example");

  for (int i = 0; i < 2; ++i) {
    auto r = ask(io, f, q);
    REQUIRE(r);
    CHECK(r->st == forward::status::answered);
    REQUIRE(up.queries.size() == static_cast<std::size_t>(i + 1));
    const bytes& sent = up.queries.back().msg;
    CHECK(after_id(sent) == after_id(q));  // no EDNS added, nothing rewritten
    CHECK(id_of(r->answer) == id_of(sent));
    CHECK(after_id(r->answer) == after_id(make_reply(sent, 0)));
  }
  // c-ares 1.18 would keep the client's ID; the forwarder randomises it. A
  // random 16-bit ID equals 0x1234 with odds 1/65536, so ask for one miss of two.
  bool differs = id_of(up.queries[0].msg) != 0x1234 || id_of(up.queries[1].msg) != 0x1234;
  CHECK(differs);
  CHECK(f.stats().sent == 2);
  CHECK(f.stats().answered == 2);
  CHECK(f.in_flight() == 0);
}

TEST_CASE("forwarder: c-ares 1.18 alone would send the client's ID") {
  // Plain ares_send (no forwarder) of a query with ID 0x1234: the upstream sees
  // 0x1234. This is why the forwarder writes a random ID itself.
  asio::io_context io;
  fake_upstream up(io, answer_all());
  REQUIRE(ares_library_init(ARES_LIB_INIT_ALL) == ARES_SUCCESS);
  ares_channel ch = nullptr;
  REQUIRE(ares_init(&ch) == ARES_SUCCESS);
  REQUIRE(ares_set_servers_ports_csv(ch, up.address().to_string().c_str()) == ARES_SUCCESS);
  bool done = false;
  const bytes q = make_query(0x1234, "plain.example");
  ares_send(
      ch, q.data(), static_cast<int>(q.size()),
      [](void* arg, int, int, unsigned char*, int) { *static_cast<bool*>(arg) = true; }, &done);
  for (int i = 0; i < 200 && !done; ++i) {
    io.poll();
    io.restart();
    fd_set r, w;
    FD_ZERO(&r);
    FD_ZERO(&w);
    int nfds = ares_fds(ch, &r, &w);
    timeval tv{0, 10000};
    select(nfds, &r, &w, nullptr, &tv);
    ares_process(ch, &r, &w);
  }
  ares_destroy(ch);
  CHECK(done);
  REQUIRE(up.queries.size() == 1);
  CHECK(id_of(up.queries[0].msg) == 0x1234);
}

TEST_CASE("forwarder: passes upstream SERVFAIL and REFUSED through as answered") {
  // The upstream answers SERVFAIL (2), then REFUSED (5): each is delivered as
  // answered with that rcode, not swallowed or retried elsewhere.
  for (uint8_t rcode : {uint8_t{2}, uint8_t{5}}) {
    asio::io_context io;
    fake_upstream up(io, answer_all(rcode));
    forward::forwarder f(io, settings_for({up.address()}));
    auto r = ask(io, f, make_query(7, "example.org"));
    REQUIRE(r);
    CHECK(r->st == forward::status::answered);
    CHECK(rcode_of(r->answer) == rcode);
    CHECK(up.queries.size() == 1);
  }
}

TEST_CASE("forwarder: reports timeout when the upstream never answers") {
  // One silent upstream, timeout_ms = 100, attempts = 2: status timeout after
  // 100 + 200 ms (c-ares 1.18 doubles the timeout on the second pass), with both
  // attempts seen by the upstream; at least timeout*attempts, under 3x that.
  asio::io_context io;
  fake_upstream up(io, silent());
  forward::forwarder f(io, settings_for({up.address()}, 100, 2));
  auto start = clock_type::now();
  auto r = ask(io, f, make_query(9, "slow.example"));
  auto elapsed = clock_type::now() - start;
  REQUIRE(r);
  CHECK(r->st == forward::status::timeout);
  CHECK(r->answer.empty());
  CHECK(elapsed >= milliseconds(100 * 2));
  CHECK(elapsed >= milliseconds(290));  // 100 + 200: the doubling documented in the header
  CHECK(elapsed < milliseconds(3 * 100 * 2));
  CHECK(up.udp_count() == 2);
  CHECK(f.stats().timeout == 1);
}

TEST_CASE("forwarder: falls over to the second upstream when the first refuses") {
  // First upstream: a closed loopback port (ICMP unreachable -> ECONNREFUSED),
  // second: answers. Answered by the second, quickly (no timeout waited).
  asio::io_context io;
  fake_upstream up(io, answer_all());
  forward::forwarder f(io, settings_for({closed_port(io), up.address()}, 1000, 2));
  auto start = clock_type::now();
  auto r = ask(io, f, make_query(11, "example.net"));
  REQUIRE(r);
  CHECK(r->st == forward::status::answered);
  CHECK(clock_type::now() - start < milliseconds(900));
  CHECK(up.queries.size() == 1);
}

TEST_CASE("forwarder: falls over to the second upstream when the first is silent") {
  // First upstream never answers, second answers: answered after one attempt
  // timeout. A second query again tries the silent one first and waits the
  // timeout again (c-ares 1.18 keeps no upstream health; README Limitations).
  asio::io_context io;
  fake_upstream first(io, silent());
  fake_upstream second(io, answer_all());
  forward::forwarder f(io, settings_for({first.address(), second.address()}, 100, 2));
  for (std::size_t i = 1; i <= 2; ++i) {
    auto start = clock_type::now();
    auto r = ask(io, f, make_query(12, "example.net"));
    REQUIRE(r);
    CHECK(r->st == forward::status::answered);
    CHECK(clock_type::now() - start >= milliseconds(100));
    CHECK(first.queries.size() == i);
    CHECK(second.queries.size() == i);
  }
}

TEST_CASE("forwarder: reports unreachable when every upstream refuses") {
  // The only upstream is a closed port: status unreachable, without waiting
  // for the timeout.
  asio::io_context io;
  forward::forwarder f(io, settings_for({closed_port(io)}, 1000, 2));
  auto start = clock_type::now();
  auto r = ask(io, f, make_query(13, "example.net"));
  REQUIRE(r);
  CHECK(r->st == forward::status::unreachable);
  CHECK(clock_type::now() - start < milliseconds(900));
  CHECK(f.stats().unreachable == 1);
}

TEST_CASE("forwarder: ignores an answer with the wrong ID") {
  // The upstream first sends a reply with the ID off by one, then the right one:
  // the right one is delivered. Sending only the wrong one ends in timeout.
  for (bool send_right : {true, false}) {
    asio::io_context io;
    fake_upstream up(io, [send_right](const bytes& q, bool) {
      bytes wrong = make_reply(q, 3);  // NXDOMAIN, to tell them apart
      wrong[1] ^= 1;
      std::vector<bytes> out{wrong};
      if (send_right) out.push_back(make_reply(q, 0));
      return out;
    });
    forward::forwarder f(io, settings_for({up.address()}, 100, 1));
    auto r = ask(io, f, make_query(21, "victim.example"));
    REQUIRE(r);
    if (send_right) {
      CHECK(r->st == forward::status::answered);
      CHECK(rcode_of(r->answer) == 0);
    } else {
      CHECK(r->st == forward::status::timeout);
    }
  }
}

TEST_CASE("forwarder: ignores an answer with the wrong question") {
  // Same ID but another qname (as a spoofer guessing IDs would send), then the
  // right answer: the right one is delivered. Only the wrong one: timeout. This
  // holds with ARES_FLAG_NOCHECKRESP set, whatever ares_init_options(3) says.
  for (bool send_right : {true, false}) {
    asio::io_context io;
    fake_upstream up(io, [send_right](const bytes& q, bool) {
      bytes other = make_query(id_of(q), "evil.example");
      std::vector<bytes> out{make_reply(other, 0, false, 2)};
      if (send_right) out.push_back(make_reply(q, 0));
      return out;
    });
    forward::forwarder f(io, settings_for({up.address()}, 100, 1));
    const bytes q = make_query(22, "victim.example");
    auto r = ask(io, f, q);
    REQUIRE(r);
    if (send_right) {
      CHECK(r->st == forward::status::answered);
      CHECK(after_id(r->answer) == after_id(make_reply(q, 0)));
    } else {
      CHECK(r->st == forward::status::timeout);
    }
  }
}

TEST_CASE("forwarder: retries over TCP after a truncated UDP answer") {
  // UDP gets a TC=1 reply with no records, TCP a full one with 3 records:
  // c-ares asks again over TCP and the TCP answer is delivered whole.
  asio::io_context io;
  fake_upstream up(io, [](const bytes& q, bool tcp) {
    return std::vector<bytes>{tcp ? make_reply(q, 0, false, 3) : make_reply(q, 0, true, 0)};
  });
  forward::forwarder f(io, settings_for({up.address()}));
  const bytes q = make_query(31, "big.example");
  auto r = ask(io, f, q);
  REQUIRE(r);
  CHECK(r->st == forward::status::answered);
  CHECK(up.udp_count() == 1);
  CHECK(up.tcp_count() == 1);
  CHECK_FALSE(tc_of(r->answer));
  CHECK(after_id(r->answer) == after_id(make_reply(q, 0, false, 3)));
}

TEST_CASE("forwarder: reads several TCP answers that arrive in one segment") {
  // Two queries get TC over UDP; the upstream answers both TCP queries in a
  // single write: both answered, no timeout. c-ares 1.18 reads that in four
  // calls (length, message, length, message) from an edge-triggered epoll
  // registration, so every wait must see bytes already in the socket.
  asio::io_context io;
  std::vector<bytes> held;
  fake_upstream up(io, [&](const bytes& q, bool tcp) {
    std::vector<bytes> out;
    if (!tcp) return std::vector<bytes>{make_reply(q, 0, true, 0)};
    held.push_back(q);
    if (held.size() == 2)
      out = {make_reply(held[0], 0, false, 2), make_reply(held[1], 0, false, 2)};
    return out;
  });
  forward::forwarder f(io, settings_for({up.address()}, 2000, 1));
  int answered = 0;
  for (uint16_t id : {33, 34}) {
    f.send(make_query(id, "pair.example"), [&](forward::result r) {
      answered += r.st == forward::status::answered && r.answer.size() > 29;
    });
  }
  auto start = clock_type::now();
  REQUIRE(run_until(io, [&] { return answered == 2; }));
  CHECK(clock_type::now() - start < milliseconds(1000));
  CHECK(up.tcp_count() == 2);
}

TEST_CASE("forwarder: fetches a UDP answer over 512 bytes again over TCP") {
  // A 700-byte UDP answer without TC: c-ares 1.18 (no ARES_FLAG_EDNS) treats it
  // as truncated and asks again over TCP, whose answer is delivered.
  asio::io_context io;
  fake_upstream up(io, [](const bytes& q, bool tcp) {
    return std::vector<bytes>{make_reply(q, 0, false, tcp ? 41 : 40)};
  });
  forward::forwarder f(io, settings_for({up.address()}));
  const bytes q = make_query(32, "big.example");
  REQUIRE(make_reply(q, 0, false, 40).size() > 512);
  auto r = ask(io, f, q);
  REQUIRE(r);
  CHECK(r->st == forward::status::answered);
  CHECK(up.tcp_count() == 1);
  CHECK(after_id(r->answer) == after_id(make_reply(q, 0, false, 41)));
}

TEST_CASE("forwarder: shutdown completes a pending query with cancelled, exactly once") {
  // A query to a silent upstream, then shutdown(): the completion runs once with
  // cancelled (and not again later), nothing stays in flight, and a send after
  // shutdown is also completed with cancelled.
  asio::io_context io;
  fake_upstream up(io, silent());
  forward::forwarder f(io, settings_for({up.address()}, 200, 2));
  int calls = 0;
  forward::status st = forward::status::answered;
  f.send(make_query(41, "pending.example"), [&](forward::result r) {
    ++calls;
    st = r.st;
  });
  REQUIRE(run_until(io, [&] { return up.queries.size() == 1; }));
  f.shutdown();
  CHECK(f.in_flight() == 0);
  io.run_for(milliseconds(800));  // past every timeout c-ares could have had
  CHECK(calls == 1);
  CHECK(st == forward::status::cancelled);

  std::optional<forward::result> late;
  f.send(make_query(42, "late.example"), [&](forward::result r) { late = std::move(r); });
  run_until(io, [&] { return late.has_value(); });
  REQUIRE(late);
  CHECK(late->st == forward::status::cancelled);
  f.shutdown();  // idempotent
}

TEST_CASE("forwarder: destruction without shutdown cancels pending queries") {
  // The forwarder goes away with a query pending: its completion still runs,
  // once, with cancelled, after the forwarder is gone.
  asio::io_context io;
  fake_upstream up(io, silent());
  int calls = 0;
  forward::status st = forward::status::answered;
  {
    forward::forwarder f(io, settings_for({up.address()}, 200, 2));
    f.send(make_query(43, "pending.example"), [&](forward::result r) {
      ++calls;
      st = r.st;
    });
    REQUIRE(run_until(io, [&] { return up.queries.size() == 1; }));
  }
  io.run_for(milliseconds(800));
  CHECK(calls == 1);
  CHECK(st == forward::status::cancelled);
}

TEST_CASE("forwarder: completion never runs inside send()") {
  // A flag set around send(): answered, bad_query (short query: c-ares or we
  // fail at once) and cancelled-after-shutdown completions all see it cleared.
  asio::io_context io;
  fake_upstream up(io, answer_all());
  forward::forwarder f(io, settings_for({up.address()}));
  bool in_send = false;
  int calls = 0, inside = 0;
  auto send = [&](const bytes& q) {
    in_send = true;
    f.send(q, [&](forward::result) {
      ++calls;
      inside += in_send;
    });
    in_send = false;
  };
  send(make_query(51, "example.com"));
  send(bytes{0, 1, 2});  // shorter than a header
  REQUIRE(run_until(io, [&] { return calls == 2; }));
  f.shutdown();
  send(make_query(52, "example.com"));
  REQUIRE(run_until(io, [&] { return calls == 3; }));
  CHECK(inside == 0);
  CHECK(f.stats().bad_query == 1);
}

TEST_CASE("forwarder: shares one UDP source port between queries in flight") {
  // Two queries at once: both reach the upstream from the same source port
  // (c-ares 1.18 has one UDP socket per upstream; a README limitation), under
  // different IDs. The upstream answers both once it has both: both answered.
  asio::io_context io;
  std::vector<bytes> held;
  fake_upstream up(io, [&](const bytes& q, bool) {
    held.push_back(q);
    std::vector<bytes> out;
    if (held.size() == 2) out = {make_reply(held[0], 0), make_reply(held[1], 0)};
    return out;
  });
  forward::forwarder f(io, settings_for({up.address()}));
  int answered = 0;
  for (uint16_t id : {61, 62}) {
    f.send(make_query(id, "same.example"),
           [&](forward::result r) { answered += r.st == forward::status::answered; });
  }
  CHECK(f.in_flight() == 2);
  REQUIRE(run_until(io, [&] { return answered == 2; }));
  REQUIRE(up.queries.size() == 2);
  CHECK(up.queries[0].source_port == up.queries[1].source_port);
  CHECK(id_of(up.queries[0].msg) != id_of(up.queries[1].msg));
  CHECK(f.in_flight() == 0);

  // Idle now, so c-ares closed the socket; the next pair shares a new one
  // (usually on another kernel-chosen port; not asserted, not guaranteed).
  held.clear();
  for (uint16_t id : {63, 64})
    f.send(make_query(id, "same.example"), [&](forward::result) { ++answered; });
  REQUIRE(run_until(io, [&] { return answered == 4; }));
  REQUIRE(up.queries.size() == 4);
  CHECK(up.queries[2].source_port == up.queries[3].source_port);
}

TEST_CASE("forwarder: talks to an IPv6 upstream") {
  // An upstream at [::1]:port answers: answered; upstreams() lists it in brackets.
  asio::io_context io;
  std::optional<fake_upstream> up;
  try {
    up.emplace(io, answer_all(), true);
  } catch (const std::exception&) {
    MESSAGE("no IPv6 loopback here; skipped");
    return;
  }
  forward::forwarder f(io, settings_for({up->address()}));
  REQUIRE(f.upstreams().size() == 1);
  CHECK(f.upstreams()[0] == up->address());
  CHECK(f.upstreams()[0].to_string().front() == '[');
  auto r = ask(io, f, make_query(71, "v6.example"));
  REQUIRE(r);
  CHECK(r->st == forward::status::answered);
}

TEST_CASE("forwarder: reports configured upstreams in order") {
  // Three upstreams, IPv4 and IPv6, custom ports: upstreams() returns them as
  // configured, in order. Nothing is sent.
  asio::io_context io;
  std::vector<view::socket_address> ups;
  for (const char* text : {"192.0.2.1:5300", "[2001:db8::2]:53", "198.51.100.3:53"})
    ups.push_back(*view::socket_address::parse(text, 0, nullptr));
  forward::forwarder f(io, settings_for(ups));
  CHECK(f.upstreams() == ups);
}

TEST_CASE("forwarder: throws on an empty upstream list") {
  // No upstreams and use_resolv_conf off: std::runtime_error naming the fix.
  asio::io_context io;
  CHECK_THROWS_WITH_AS(forward::forwarder(io, settings_for({})),
                       doctest::Contains("[forward] upstreams"), std::runtime_error);
}

TEST_CASE("forwarder: reads upstreams from resolv.conf") {
  // use_resolv_conf with a file naming one IPv4 and one IPv6 server (plus
  // noise): upstreams() returns both on port 53, in file order. Nothing is sent.
  asio::io_context io;
  temp_file conf(
      "# test\nsearch corp.example\nnameserver 192.0.2.53\n"
      "options rotate timeout:1\nnameserver 2001:db8::53\n");
  config::forward_settings s;
  s.use_resolv_conf = true;
  forward::forwarder f(io, s, conf.path);
  std::vector<view::socket_address> want{
      *view::socket_address::parse("192.0.2.53:53", 0, nullptr),
      *view::socket_address::parse("[2001:db8::53]:53", 0, nullptr)};
  CHECK(f.upstreams() == want);
}

TEST_CASE("forwarder: throws when resolv.conf names no server") {
  // use_resolv_conf with a file without nameserver lines, or no file at all:
  // std::runtime_error (c-ares alone would fall back to 127.0.0.1:53).
  asio::io_context io;
  temp_file conf("search corp.example\n");
  config::forward_settings s;
  s.use_resolv_conf = true;
  CHECK_THROWS_WITH_AS(forward::forwarder(io, s, conf.path), doctest::Contains("nameserver"),
                       std::runtime_error);
  CHECK_THROWS_AS(forward::forwarder(io, s, "/nonexistent/resolv.conf"), std::runtime_error);
}

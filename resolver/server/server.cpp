#include "server/server.hpp"

#include "cache/cache.hpp"
#include "cache/inflight.hpp"
#include "forward/forwarder.hpp"
#include "forward/health.hpp"
#include "log/log.hpp"
#include "server/handler.hpp"
#include "wire/render.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <chrono>
#include <deque>
#include <functional>
#include <future>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

#include <sys/socket.h>

namespace vpcedns::server {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
using clock_type = std::chrono::steady_clock;

namespace {

// Answers queued or owed on one TCP connection before we stop reading it.
constexpr std::size_t max_tcp_backlog = 256;

// Every worker binds the same addresses; the kernel spreads clients over them.
template <typename Socket>
void set_reuseport(Socket& s) {
  int one = 1;
  if (::setsockopt(s.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
    throw boost::system::system_error(errno, boost::system::system_category(), "SO_REUSEPORT");
}

view::ip_address to_ip(const asio::ip::address& a) {
  view::ip_address out;
  if (a.is_v4()) {
    auto b = a.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), out.bytes.begin());
  } else {
    out.fam = view::ip_address::family::v6;
    auto b = a.to_v6().to_bytes();
    std::copy(b.begin(), b.end(), out.bytes.begin());
  }
  return out;
}

asio::ip::address to_asio(const view::ip_address& a) {
  if (a.is_v4()) return asio::ip::address_v4({a.bytes[0], a.bytes[1], a.bytes[2], a.bytes[3]});
  asio::ip::address_v6::bytes_type b;
  std::copy(a.bytes.begin(), a.bytes.end(), b.begin());
  return asio::ip::address_v6(b);
}

struct udp_listener {
  explicit udp_listener(asio::io_context& io) : sock(io) {}
  udp::socket sock;
  udp::endpoint remote;
  std::array<uint8_t, wire::max_message> rx;
};

struct tcp_conn : std::enable_shared_from_this<tcp_conn> {
  tcp_conn(tcp::socket s, std::chrono::milliseconds idle_timeout)
      : sock(std::move(s)), idle(sock.get_executor()), idle_timeout(idle_timeout) {}
  tcp::socket sock;
  asio::steady_timer idle;
  std::chrono::milliseconds idle_timeout;  // RFC 7766 6.2.3 (server.tcp_idle_timeout_ms)
  std::deque<std::vector<uint8_t>> out;    // each message with its 2-byte length prefix
  std::size_t pending = 0;                 // queries forwarded and not yet answered
  bool writing = false;

  void send(const uint8_t* data, std::size_t n) {
    if (!sock.is_open()) return;
    std::vector<uint8_t> msg(n + 2);
    wire::put16(msg.data(), static_cast<uint16_t>(n));
    std::copy(data, data + n, msg.begin() + 2);
    out.push_back(std::move(msg));
    if (!writing) write_next();
  }

  void write_next() {
    if (out.empty() || !sock.is_open()) {
      writing = false;
      return;
    }
    writing = true;
    asio::async_write(sock, asio::buffer(out.front()),
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                        self->out.pop_front();
                        if (ec) {
                          self->close();
                          return;
                        }
                        self->write_next();
                      });
  }

  // Closes after `idle_timeout` without a new query, unless answers are owed.
  // A query sent only in part does not count: a slow sender is closed too.
  void arm_idle() {
    idle.expires_after(idle_timeout);
    idle.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      auto self = weak.lock();
      if (ec || !self) return;
      if (self->pending > 0 || self->writing)
        self->arm_idle();
      else
        self->close();
    });
  }

  void close() {
    boost::system::error_code ignored;
    sock.shutdown(tcp::socket::shutdown_both, ignored);
    sock.close(ignored);
    idle.cancel();
  }
};

// What the query log needs to know about one query.
struct query_record {
  clock_type::time_point start;
  view::ip_address client;
  uint16_t client_port;
  const char* proto;
};

// A client waiting for a forwarded answer (see cache::inflight).
struct waiter {
  std::vector<uint8_t> pkt;  // the client's query
  wire::query q;
  decision d;
  query_record rec;
  udp_listener* udp = nullptr;  // UDP: where to answer from, and to whom
  udp::endpoint remote;
  std::shared_ptr<tcp_conn> tcp;  // TCP: the connection
};

int64_t to_ms(clock_type::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// This worker's share of [cache] max_entries (each worker has its own cache).
cache::settings worker_cache(const config::settings& s) {
  cache::settings c = s.cache;
  unsigned n = std::max(1u, s.threads);
  if (c.max_entries > 0) c.max_entries = std::max<std::size_t>(1, (c.max_entries + n - 1) / n);
  return c;
}

}  // namespace

struct server::worker {
  worker(state& st_, unsigned index_)
      : st(st_), index(index_), cache(worker_cache(*st_.current()->settings)) {
    current();
    fwd = std::make_unique<forward::forwarder>(io, snap->settings->forward);
  }

  asio::io_context io{1};
  state& st;
  unsigned index;
  uint64_t seen_generation = 0;
  std::shared_ptr<const snapshot> snap;  // the snapshot this worker serves from
  std::unique_ptr<forward::forwarder> fwd;
  std::thread thread;
  std::list<udp_listener> udp;
  std::list<tcp::acceptor> acceptors;
  std::list<std::weak_ptr<tcp_conn>> conns;
  std::size_t live_conns = 0;
  std::array<uint8_t, wire::max_message> tx;  // response scratch; one thread uses it at a time
  std::shared_ptr<spdlog::logger> log = vpcedns::log::get("server");
  std::shared_ptr<spdlog::logger> qlog = vpcedns::log::get("query");
  bool stopped = false;
  asio::steady_timer drain_timer{io};
  bool shutting_down = false;  // set by finish(): cancelled queries then get SERVFAIL
  // Messages a remote party can make us spend work on; logged when stopping.
  // TODO: no metrics endpoint; effect: counts are seen only in the stop line;
  // closes with a stats/metrics interface (no issue yet).
  struct {
    uint64_t dropped = 0, formerr = 0, refused = 0, tcp_closed = 0, tcp_over_limit = 0;
  } counts;
  cache::answer_cache cache;
  cache::inflight<waiter> inflight;
  // The cache's counters as of the last publish_stats(), for other threads.
  mutable std::mutex stats_mu;
  cache::stats published;
  asio::steady_timer stats_timer{io};
  query_counters served;  // answers by source, for `vpcedns ctl status`
  // Forwarders replaced by a reload, kept until their queries are answered.
  std::list<std::unique_ptr<forward::forwarder>> retired;
  asio::steady_timer retire_timer{io};

  // Picks up a newly published snapshot: one atomic load per query.
  const snapshot& current() {
    uint64_t g = st.generation();
    if (g != seen_generation || !snap) {
      auto next = st.current();
      if (snap && fwd && !(next->settings->forward == snap->settings->forward))
        switch_forwarder(*next);
      snap = std::move(next);
      seen_generation = g;
    }
    return *snap;
  }

  // A reload changed [forward]: new queries use a new forwarder; the old one
  // keeps its sockets until the queries it holds are answered (or time out).
  void switch_forwarder(const snapshot& next) {
    std::unique_ptr<forward::forwarder> fresh;
    try {
      fresh = std::make_unique<forward::forwarder>(io, next.settings->forward);
    } catch (const std::exception& e) {
      log->error("worker {}: cannot switch upstreams, keeping the old ones: {}", index, e.what());
      return;
    }
    retired.push_back(std::move(fwd));
    fwd = std::move(fresh);
    reap_retired();
  }

  void reap_retired() {
    retired.remove_if([](const auto& f) {
      if (f->in_flight() > 0) return false;
      f->shutdown();
      return true;
    });
    if (retired.empty() || stopped) return;
    retire_timer.expires_after(std::chrono::milliseconds(100));
    retire_timer.async_wait([this](boost::system::error_code ec) {
      if (!ec) reap_retired();
    });
  }

  std::size_t in_flight() const {
    std::size_t n = fwd->in_flight();
    for (const auto& f : retired) n += f->in_flight();
    return n;
  }
  limits lim() { return limits_from(*current().settings); }

  void count(const decision& d) {
    if (d.what == decision::action::drop)
      ++counts.dropped;
    else if (d.rc == wire::rcode::formerr)
      ++counts.formerr;
    else if (d.rc == wire::rcode::refused)
      ++counts.refused;
  }

  // ---- query log ----
  bool want_query_log() {
    return current().settings->log_queries || qlog->should_log(spdlog::level::debug);
  }

  void log_query(const query_record& r, const wire::query& q, const decision& d, wire::rcode rc,
                 std::size_t size) {
    served.note(d, rc);
    if (!want_query_log()) return;
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - r.start);
    std::string qname =
        q.question_end
            ? wire::name_to_text({q.lname.data(), q.qname_len})  // lowercased: logs grep better
            : "-";
    qlog->log(current().settings->log_queries ? spdlog::level::info : spdlog::level::debug,
              "query client={} id={} qname={} qtype={} proto={} view={} source={} rcode={} "
              "size={} dur={:.6f}",
              view::socket_address{r.client, r.client_port}.to_string(), q.id, qname,
              wire::type_name(q.qtype), r.proto, current().data->view_name(d.view), d.source,
              wire::to_string(rc), size, us.count() / 1e6);
  }

  // ---- binding ----
  void bind_all() {
    for (const auto& a : current().settings->listen) {
      auto addr = to_asio(a.addr);
      try {
        auto& l = udp.emplace_back(io);
        udp::endpoint ep(addr, a.port);
        l.sock.open(ep.protocol());
        if (addr.is_v6()) l.sock.set_option(asio::ip::v6_only(true));
        set_reuseport(l.sock);
        l.sock.bind(ep);
        l.sock.non_blocking(true);  // for drain()
        auto& acc = acceptors.emplace_back(io);
        tcp::endpoint tep(addr, a.port);
        acc.open(tep.protocol());
        acc.set_option(asio::socket_base::reuse_address(true));
        if (addr.is_v6()) acc.set_option(asio::ip::v6_only(true));
        set_reuseport(acc);
        acc.bind(tep);
        acc.listen();
      } catch (const boost::system::system_error& e) {
        throw std::runtime_error("cannot listen on " + a.to_string() + ": " + e.code().message());
      }
    }
  }

  void start_serving() {
    publish_every_second();
    for (auto& l : udp) receive(l);
    for (auto& acc : acceptors) asio::co_spawn(io, accept_loop(acc), asio::detached);
  }

  // ---- UDP ----
  void receive(udp_listener& l) {
    l.sock.async_receive_from(asio::buffer(l.rx), l.remote,
                              [this, &l](boost::system::error_code ec, std::size_t n) {
                                if (ec == asio::error::operation_aborted || stopped) return;
                                if (!ec) on_udp(l, n);
                                drain(l);
                                receive(l);
                              });
  }

  // Reads the queries already queued on the socket without a trip through
  // the reactor (one epoll_wait per batch instead of per query); at most
  // `udp_batch` at a time so the other sockets and timers get their turn.
  void drain(udp_listener& l) {
    constexpr int udp_batch = 64;
    for (int i = 0; i < udp_batch && !stopped; ++i) {
      boost::system::error_code ec;
      std::size_t n = l.sock.receive_from(asio::buffer(l.rx), l.remote, 0, ec);
      if (ec) return;  // would_block: nothing queued
      on_udp(l, n);
    }
  }

  void on_udp(udp_listener& l, std::size_t n) {
    query_record rec{clock_type::now(), to_ip(l.remote.address()), l.remote.port(), "udp"};
    std::span<const uint8_t> pkt(l.rx.data(), n);
    wire::query q;
    const snapshot& s = current();
    decision d = handle(*s.data, limits_from(*s.settings), pkt, rec.client, false, tx, q);
    count(d);
    if (d.what == decision::action::drop) return;
    if (d.what == decision::action::respond) {
      boost::system::error_code ignored;
      l.sock.send_to(asio::buffer(tx.data(), d.size), l.remote, 0, ignored);
      log_query(rec, q, d, d.rc, d.size);
      return;
    }
    if (d.what == decision::action::forward_target) {
      auto reply = [this, &l, remote = l.remote](std::size_t size) {
        boost::system::error_code ignored;
        if (size) l.sock.send_to(asio::buffer(tx.data(), size), remote, 0, ignored);
      };
      return forward_chain(pkt, q, d, rec, false, reply);
    }
    cache::key k(d.view, q);
    d.size = from_cache(k, q, pkt, q.udp_limit(s.settings->edns_udp_max), rec.start, d);
    if (d.size == 0)
      return forward(k, {{pkt.begin(), pkt.end()}, q, d, rec, &l, l.remote, nullptr});
    boost::system::error_code ignored;
    l.sock.send_to(asio::buffer(tx.data(), d.size), l.remote, 0, ignored);
    log_query(rec, q, d, d.rc, d.size);
  }

  // ---- cache and forwarding ----

  // Answers from the cache into `tx`; returns the size, 0 on a miss.
  std::size_t from_cache(const cache::key& k, const wire::query& q, std::span<const uint8_t> pkt,
                         std::size_t limit, clock_type::time_point now, decision& d) {
    uint32_t e = 0;
    int64_t ms = to_ms(now);
    uint16_t our_udp = lim().edns_udp_max;
    std::size_t size = 0;
    switch (cache.lookup(k, ms, &e)) {
      case cache::outcome::miss:
        return 0;
      case cache::outcome::fresh:
        d.source = "cache";
        size = cache.render(e, q, pkt, tx, limit, our_udp, ms, false);
        break;
      case cache::outcome::stale:
        d.source = "stale";
        size = cache.render(e, q, pkt, tx, limit, our_udp, ms, true);
        break;
      case cache::outcome::failed:
        d.source = "cached-failure";
        size = zone::write_error(wire::rcode::servfail, q, pkt, tx, our_udp);
        break;
    }
    d.rc = static_cast<wire::rcode>(tx[3] & 0xf);
    return size;
  }

  // Sends the client's query upstream, unless the same question is already
  // on its way: then the client waits for that answer.
  void forward(const cache::key& k, waiter w) {
    cache::inflight_key ik(k, w.q.edns);
    if (w.tcp) ++w.tcp->pending;
    if (!inflight.join(ik, std::move(w))) return;
    fwd->send(inflight.first(ik).pkt, [this, ik](forward::result r) { complete(ik, r); });
  }

  // The upstream answered (or failed) `ik`: the cache learns it, every
  // waiter gets its own rendering of it.
  void complete(const cache::inflight_key& ik, forward::result& r) {
    std::vector<waiter> waiters = inflight.take(ik);
    int64_t now = to_ms(clock_type::now());
    uint32_t e = cache::answer_cache::no_entry;
    bool stale = false;
    if (r.st == forward::status::answered && !upstream_servfail(r.answer)) {
      e = cache.insert(ik.cache_key(), r.answer, now);
    } else if (r.st != forward::status::cancelled) {
      // Every upstream failed: remembered briefly, and stale data served if allowed.
      e = cache.fail(ik.cache_key(), now);
      stale = e != cache::answer_cache::no_entry;
    }
    for (waiter& w : waiters) {
      std::size_t limit = w.tcp ? wire::max_message : w.q.udp_limit(lim().edns_udp_max);
      std::size_t size = 0;
      if (e != cache::answer_cache::no_entry)
        size = cache.render(e, w.q, w.pkt, tx, limit, lim().edns_udp_max, now, stale);
      if (size) {
        w.d.rc = static_cast<wire::rcode>(tx[3] & 0xf);
        if (stale) w.d.source = "stale";
      } else {
        size = finish_forward(r, w.q, w.pkt, w.tcp != nullptr, w.d);
      }
      reply(w, size);
    }
  }

  static bool upstream_servfail(const std::vector<uint8_t>& answer) {
    return answer.size() >= wire::header_size &&
           static_cast<wire::rcode>(answer[3] & 0xf) == wire::rcode::servfail;
  }

  void reply(waiter& w, std::size_t size) {
    if (w.tcp) --w.tcp->pending;
    if (size == 0) return;
    if (w.tcp) {
      w.tcp->send(tx.data(), size);
    } else {
      boost::system::error_code ignored;
      w.udp->sock.send_to(asio::buffer(tx.data(), size), w.remote, 0, ignored);
    }
    log_query(w.rec, w.q, w.d, w.d.rc, size);
  }

  // Copies the cache's counters where other threads can read them.
  void publish_stats() {
    std::lock_guard lock(stats_mu);
    published = cache.counters();
  }

  void publish_every_second() {
    publish_stats();
    stats_timer.expires_after(std::chrono::seconds(1));
    stats_timer.async_wait([this](boost::system::error_code ec) {
      if (!ec && !stopped) publish_every_second();
    });
  }

  // Turns an upstream result into the client's answer in `tx`. Returns its size.
  std::size_t finish_forward(const forward::result& r, const wire::query& q,
                             const std::vector<uint8_t>& client, bool tcp, decision& d) {
    upstream_failure why = upstream_failure::none;
    switch (r.st) {
      case forward::status::cancelled:
        if (!shutting_down) return 0;
        why = upstream_failure::timeout;  // stopping before the upstream answered
        break;
      case forward::status::answered:
        break;
      case forward::status::timeout:
        why = upstream_failure::timeout;
        break;
      case forward::status::unreachable:
        why = upstream_failure::unreachable;
        break;
      default:
        why = upstream_failure::bad_answer;
        break;
    }
    relayed out = relay_answer(r.answer, why, q, client, tcp, lim(), tx);
    if (why == upstream_failure::none && std::string_view(out.source) == "bad_answer")
      log->warn("upstream answer unusable, answering SERVFAIL id={}", q.id);
    d.source = out.source;
    d.rc = out.rc;
    return out.size;
  }

  // ---- CNAME chains leaving our zones ----
  // The chain begun in `tx` by the handler is kept; the target is asked
  // upstream; the upstream's records are appended (wire::splice_chain).
  // `reply(size)` sends tx[0..size); it gets 0 when the query was cancelled.
  void forward_chain(std::span<const uint8_t> pkt, const wire::query& q, decision d,
                     const query_record& rec, bool tcp, std::function<void(std::size_t)> reply) {
    auto prefix = std::make_shared<std::vector<uint8_t>>(tx.begin(), tx.begin() + d.size);
    auto client = std::make_shared<std::vector<uint8_t>>(pkt.begin(), pkt.end());
    std::array<uint8_t, wire::max_name_wire + 64> question;
    auto target = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(d.target.data()),
                                           d.target.size());
    std::size_t n =
        wire::write_query(question, target, q.qtype, q.edns, q.edns_do, lim().edns_udp_max);
    d.target = {};  // points into the snapshot; not needed past this point
    fwd->send(std::span<const uint8_t>(question.data(), n),
              [this, prefix, client, q, d, rec, tcp, reply](forward::result r) mutable {
                if (r.st == forward::status::cancelled && !shutting_down) return reply(0);
                std::size_t size = 0;
                if (r.st == forward::status::answered) {
                  std::size_t limit = tcp ? wire::max_message : q.udp_limit(lim().edns_udp_max);
                  size = wire::splice_chain(tx, *prefix, d.prefix_answers, r.answer, q, limit,
                                            lim().edns_udp_max);
                  if (size == 0) r = {forward::status::bad_answer, {}};
                }
                // Upstream trouble: SERVFAIL with its EDE, as for any forwarded query.
                if (size == 0) size = finish_forward(r, q, *client, tcp, d);
                reply(size);
                log_query(rec, q, d, static_cast<wire::rcode>(tx[3] & 0xf), size);
              });
  }

  // ---- TCP (RFC 7766) ----
  asio::awaitable<void> accept_loop(tcp::acceptor& acc) {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket sock = co_await acc.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::operation_aborted || stopped) co_return;
      if (ec) {
        // EMFILE and friends: back off instead of spinning.
        log->warn("accept failed: {}", ec.message());
        asio::steady_timer t(io, std::chrono::milliseconds(100));
        co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      const auto& settings = *current().settings;
      if (live_conns >= settings.max_tcp_connections) {
        // RFC 7766 6.2.2: better to refuse a connection than to starve those we have.
        ++counts.tcp_over_limit;
        log->debug("tcp connection limit ({}) reached, closing new connection",
                   settings.max_tcp_connections);
        sock.close(ec);
        continue;
      }
      auto c = std::make_shared<tcp_conn>(std::move(sock),
                                          std::chrono::milliseconds(settings.tcp_idle_timeout_ms));
      conns.remove_if([](const auto& w) { return w.expired(); });
      conns.push_back(c);
      asio::co_spawn(io, tcp_session(c), asio::detached);
    }
  }

  asio::awaitable<void> tcp_session(std::shared_ptr<tcp_conn> c) {
    ++live_conns;
    boost::system::error_code ec;
    auto peer = c->sock.remote_endpoint(ec);
    std::vector<uint8_t> msg(wire::max_message);
    c->arm_idle();
    while (!ec && c->sock.is_open()) {
      uint8_t len_buf[2];
      co_await asio::async_read(c->sock, asio::buffer(len_buf),
                                asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      std::size_t len = wire::get16(len_buf);
      if (len < wire::header_size) {  // cannot be a DNS message: give up on the stream
        ++counts.tcp_closed;
        break;
      }
      co_await asio::async_read(c->sock, asio::buffer(msg.data(), len),
                                asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      c->arm_idle();
      on_tcp(c, peer, std::span<const uint8_t>(msg.data(), len));
      if (c->out.size() + c->pending >= max_tcp_backlog) co_await wait_for_reader(c);
    }
    --live_conns;
    if (c->pending == 0 && !c->writing) c->close();
  }

  // RFC 7766 6.2.3: a client that pipelines queries but does not read the
  // answers must not make us queue them without bound. Stop reading its
  // queries until it has taken half of the backlog; give up on it after the
  // idle timeout.
  asio::awaitable<void> wait_for_reader(std::shared_ptr<tcp_conn> c) {
    auto give_up = clock_type::now() + c->idle_timeout;
    asio::steady_timer t(io);
    boost::system::error_code ec;
    while (c->sock.is_open() && c->out.size() + c->pending > max_tcp_backlog / 2) {
      if (clock_type::now() >= give_up) {
        ++counts.tcp_closed;
        c->close();
        break;
      }
      t.expires_after(std::chrono::milliseconds(5));
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }

  void on_tcp(const std::shared_ptr<tcp_conn>& c, const tcp::endpoint& peer,
              std::span<const uint8_t> pkt) {
    query_record rec{clock_type::now(), to_ip(peer.address()), peer.port(), "tcp"};
    wire::query q;
    const snapshot& s = current();
    decision d = handle(*s.data, limits_from(*s.settings), pkt, rec.client, true, tx, q);
    count(d);
    if (d.what == decision::action::drop) {
      // Not a query (a response, or no header): this stream is not a DNS client's.
      ++counts.tcp_closed;
      c->close();
      return;
    }
    if (d.what == decision::action::respond) {
      c->send(tx.data(), d.size);
      log_query(rec, q, d, d.rc, d.size);
      return;
    }
    if (d.what == decision::action::forward_target) {
      ++c->pending;
      auto reply = [this, c](std::size_t size) {
        --c->pending;
        if (size) c->send(tx.data(), size);
      };
      return forward_chain(pkt, q, d, rec, true, reply);
    }
    cache::key k(d.view, q);
    d.size = from_cache(k, q, pkt, wire::max_message, rec.start, d);
    if (d.size == 0) return forward(k, {{pkt.begin(), pkt.end()}, q, d, rec, nullptr, {}, c});
    c->send(tx.data(), d.size);
    log_query(rec, q, d, d.rc, d.size);
  }

  // Runs on the worker's thread (posted by server::stop).
  void stop(std::chrono::milliseconds drain) {
    if (stopped) return;
    stopped = true;
    boost::system::error_code ignored;
    for (auto& l : udp) l.sock.cancel(ignored);
    for (auto& a : acceptors) a.close(ignored);
    // Idle TCP connections close now; busy ones once their answers are written.
    for (auto& w : conns)
      if (auto c = w.lock(); c && c->pending == 0 && !c->writing) c->close();
    drain_until(clock_type::now() + drain);
  }

  // Polls until every forwarded query is answered or the deadline passes.
  void drain_until(clock_type::time_point deadline) {
    if (in_flight() == 0 || clock_type::now() >= deadline) {
      if (in_flight() > 0) log->warn("stopping with {} forwarded queries unanswered", in_flight());
      finish();
      return;
    }
    drain_timer.expires_after(std::chrono::milliseconds(10));
    drain_timer.async_wait([this, deadline](boost::system::error_code ec) {
      if (!ec) drain_until(deadline);
    });
  }

  void finish() {
    log->info(
        "worker stopped index={} dropped={} formerr={} refused={} tcp_closed={} "
        "tcp_over_limit={}",
        index, counts.dropped, counts.formerr, counts.refused, counts.tcp_closed,
        counts.tcp_over_limit);
    // Queries still waiting on an upstream are cancelled; with shutting_down
    // set, their completions (queued behind this handler) answer SERVFAIL, so
    // no client is left without a reply. Sockets close once those are out.
    shutting_down = true;
    fwd->shutdown();
    for (auto& f : retired) f->shutdown();
    stats_timer.cancel();
    publish_stats();
    drain_timer.expires_after(std::chrono::milliseconds(50));  // lets TCP writes leave
    drain_timer.async_wait([this](boost::system::error_code) {
      boost::system::error_code ignored;
      for (auto& l : udp) l.sock.close(ignored);
      for (auto& w : conns)
        if (auto c = w.lock()) c->close();
      io.stop();
    });
  }
};

void query_counters::note(const decision& d, wire::rcode rc) {
  ++queries;
  if (rc == wire::rcode::servfail) ++servfail;
  std::string_view source = d.source;
  if (d.what == decision::action::forward || d.what == decision::action::forward_target)
    ++forwarded;
  else if (source != "error" && source != "badvers" && source != "refused")
    ++local;
}

std::vector<worker_status> server::status(std::chrono::milliseconds timeout) {
  std::vector<std::future<worker_status>> pending;
  for (auto& w : workers_) {
    auto done = std::make_shared<std::promise<worker_status>>();
    pending.push_back(done->get_future());
    asio::post(w->io, [w = w.get(), done] {
      worker_status ws;
      ws.index = w->index;
      ws.queries = w->served;
      ws.upstream = w->fwd->stats();
      ws.health = forward::to_string(w->fwd->health());
      ws.upstreams = w->fwd->upstreams();
      ws.in_flight = w->in_flight();
      ws.retired = w->retired.size();
      done->set_value(std::move(ws));
    });
  }
  std::vector<worker_status> out;
  auto deadline = clock_type::now() + timeout;
  for (auto& f : pending)
    if (f.wait_until(deadline) == std::future_status::ready) out.push_back(f.get());
  return out;
}

server::server(state& st) : state_(st) {}

server::~server() {
  stop(std::chrono::milliseconds(0));
  join();
}

namespace {

// SO_REUSEPORT would let us share a port with another process of the same
// user (a second vpcedns, an unbound with so-reuseport) and split its
// traffic silently. Binding once without it first makes such a clash the
// "address already in use" it is.
void check_port_free(const view::socket_address& a) {
  asio::io_context io(1);
  auto addr = to_asio(a.addr);
  boost::system::error_code ec;
  udp::socket u(io);
  u.open(addr.is_v4() ? udp::v4() : udp::v6(), ec);
  if (!ec && addr.is_v6()) u.set_option(asio::ip::v6_only(true), ec);
  if (!ec) u.bind(udp::endpoint(addr, a.port), ec);
  if (!ec) {
    tcp::acceptor t(io);
    t.open(addr.is_v4() ? tcp::v4() : tcp::v6(), ec);
    if (!ec) t.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec && addr.is_v6()) t.set_option(asio::ip::v6_only(true), ec);
    if (!ec) t.bind(tcp::endpoint(addr, a.port), ec);
  }
  if (ec)
    throw std::runtime_error("cannot listen on " + a.to_string() + ": " + ec.message() +
                             (ec == asio::error::address_in_use
                                  ? " (is another vpcedns or DNS server running there?)"
                                  : ""));
}

}  // namespace

void server::start() {
  for (const auto& a : state_.current()->settings->listen) check_port_free(a);
  unsigned n = std::max(1u, state_.current()->settings->threads);
  for (unsigned i = 0; i < n; ++i) {
    workers_.push_back(std::make_unique<worker>(state_, i));
    workers_.back()->bind_all();
  }
}

const std::vector<view::socket_address>& server::upstreams() const {
  return workers_.front()->fwd->upstreams();
}

void server::run() {
  for (auto& w : workers_) {
    w->start_serving();
    w->thread = std::thread([&io = w->io] { io.run(); });
  }
}

void server::stop(std::chrono::milliseconds drain) {
  for (auto& w : workers_) asio::post(w->io, [w = w.get(), drain] { w->stop(drain); });
}

void server::flush_cache() {
  for (auto& w : workers_)
    asio::post(w->io, [w = w.get()] {
      w->cache.flush();
      w->publish_stats();
    });
}

cache::stats server::cache_stats() const {
  cache::stats sum;
  for (const auto& w : workers_) {
    std::lock_guard lock(w->stats_mu);
    const cache::stats& s = w->published;
    sum.entries += s.entries;
    sum.hits += s.hits;
    sum.stale_hits += s.stale_hits;
    sum.failed_hits += s.failed_hits;
    sum.misses += s.misses;
    sum.inserts += s.inserts;
    sum.evictions += s.evictions;
    sum.uncacheable += s.uncacheable;
  }
  return sum;
}

void server::join() {
  for (auto& w : workers_)
    if (w->thread.joinable()) w->thread.join();
}

}  // namespace vpcedns::server

// The bridge between c-ares and Asio: one c-ares channel per forwarder, its
// sockets watched with Asio, its timeouts driven by a steady_timer.
//
// What c-ares 1.18.1 (Debian 12) does with a query given to ares_send, read in
// c-ares's ares_send.c and ares_process.c of that era (before the 1.20 rewrite)
// and checked against the installed library by tests/forward/forwarder_test.cpp:
// - ares_send does NOT randomise the query ID. It keeps the ID in the buffer
//   (query->qid = DNS_HEADER_QID(qbuf)); only ares_query picks a random one. So
//   this file puts a fresh random ID (getrandom) into every query itself,
//   unique among the queries in flight, and the caller restores the client's.
// - It does check answers before calling back: a UDP datagram must come from
//   the server's address (same_address; the socket is also connect()ed, so the
//   kernel filters on port too), and an answer is matched to a query only when
//   both the ID and the question section (names case-insensitively, type,
//   class, same QDCOUNT) equal what was sent. This lookup runs whatever the
//   flags, ARES_FLAG_NOCHECKRESP included (that flag only stops c-ares from
//   swallowing SERVFAIL, NOTIMP and REFUSED). It does not check the QR bit.
// - A UDP answer with TC set, or longer than 512 bytes (the limit without
//   ARES_FLAG_EDNS), is dropped and the query is sent again over TCP.
// - One UDP socket per upstream is shared by every query in flight to it and
//   closed when the channel goes idle, so the source port is not randomised
//   per query (see README.md, Limitations).
#include "forward/forwarder.hpp"

#include "forward/health.hpp"
#include "log/log.hpp"

#include <ares.h>
#include <sys/random.h>

#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <unordered_map>

namespace vpcedns::forward {

namespace {

using clock_type = std::chrono::steady_clock;
using boost::asio::posix::stream_descriptor;

constexpr std::size_t header_size = 12;     // RFC 1035 4.1.1
constexpr std::size_t max_message = 65535;  // TCP length field, RFC 1035 4.2.2
constexpr uint16_t default_port = 53;

struct channel_deleter {
  void operator()(ares_channel c) const { ares_destroy(c); }
};
using channel_ptr = std::unique_ptr<std::remove_pointer_t<ares_channel>, channel_deleter>;

struct ares_data_deleter {
  void operator()(void* p) const { ares_free_data(p); }
};

void library_init_once() {
  static std::once_flag once;
  static int rc = ARES_SUCCESS;
  std::call_once(once, [] { rc = ares_library_init(ARES_LIB_INIT_ALL); });
  if (rc != ARES_SUCCESS)
    throw std::runtime_error(std::string("forward: c-ares library init failed: ") +
                             ares_strerror(rc));
}

status map_status(int ares_status) {
  switch (ares_status) {
    case ARES_SUCCESS:
      return status::answered;  // any rcode: ARES_FLAG_NOCHECKRESP
    case ARES_ETIMEOUT:
      return status::timeout;
    case ARES_EBADRESP:
      return status::bad_answer;
    case ARES_EBADQUERY:
      return status::bad_query;
    case ARES_ECANCELLED:
    case ARES_EDESTRUCTION:
      return status::cancelled;
    default:
      return status::unreachable;  // ECONNREFUSED, ESERVFAIL (no server), ENOMEM...
  }
}

std::string join(const std::vector<view::socket_address>& addrs) {
  std::string out;
  for (const auto& a : addrs) out += (out.empty() ? "" : ",") + a.to_string();
  return out;
}

// c-ares 1.18 quietly falls back to 127.0.0.1:53 when resolv.conf names no
// server, which would hide a broken resolv.conf (or loop back to us). Only the
// presence of a "nameserver" line is checked here; c-ares parses the addresses.
bool names_a_server(const std::string& resolv_conf) {
  std::ifstream in(resolv_conf);
  std::string line;
  while (std::getline(in, line)) {
    auto start = line.find_first_not_of(" \t");
    if (start != std::string::npos && line.compare(start, 10, "nameserver") == 0) return true;
  }
  return false;
}

std::vector<view::socket_address> servers_of(ares_channel channel) {
  ares_addr_port_node* head = nullptr;
  int rc = ares_get_servers_ports(channel, &head);
  std::unique_ptr<ares_addr_port_node, ares_data_deleter> guard(head);
  if (rc != ARES_SUCCESS)
    throw std::runtime_error(std::string("forward: cannot read the upstream list back: ") +
                             ares_strerror(rc));
  std::vector<view::socket_address> out;
  for (auto* n = head; n; n = n->next) {
    view::socket_address a;
    if (n->family == AF_INET) {
      std::memcpy(a.addr.bytes.data(), &n->addr.addr4, 4);
    } else if (n->family == AF_INET6) {
      a.addr.fam = view::ip_address::family::v6;
      std::memcpy(a.addr.bytes.data(), &n->addr.addr6, 16);
    } else {
      continue;
    }
    // Port 0 means "the channel's default", which we leave at 53.
    a.port = n->udp_port > 0 ? static_cast<uint16_t>(n->udp_port) : default_port;
    out.push_back(a);
  }
  return out;
}

// Query IDs from the kernel's CSPRNG, fetched in batches.
class id_source {
 public:
  id_source() { refill(); }

  uint16_t next() {
    if (pos_ == buf_.size()) refill();
    return buf_[pos_++];
  }

 private:
  void refill() {
    auto* p = reinterpret_cast<char*>(buf_.data());
    std::size_t want = sizeof buf_;
    while (want > 0) {
      ssize_t n = getrandom(p, want, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw std::system_error(errno, std::generic_category(), "forward: getrandom");
      p += n;
      want -= static_cast<std::size_t>(n);
    }
    pos_ = 0;
  }

  std::array<uint16_t, 256> buf_{};
  std::size_t pos_ = 0;
};

}  // namespace

const char* to_string(status s) {
  switch (s) {
    case status::answered:
      return "answered";
    case status::timeout:
      return "timeout";
    case status::unreachable:
      return "unreachable";
    case status::bad_answer:
      return "bad_answer";
    case status::cancelled:
      return "cancelled";
    case status::bad_query:
      return "bad_query";
  }
  return "unknown";
}

struct forwarder::impl {
  // One socket c-ares asked us to watch. The descriptor never owns the fd:
  // c-ares closes it, after telling us (readable = writable = 0) so we can
  // release() it first.
  struct watch {
    watch(boost::asio::io_context& io, int fd) : fd(fd), sd(io, fd) {}
    int fd;
    stream_descriptor sd;
    bool want_read = false, want_write = false;  // as c-ares last said
    bool reading = false, writing = false;       // a wait is outstanding
    bool closed = false;                         // released; `impl` may be gone
  };

  // One ares_send in flight; owned by c-ares until its callback runs.
  struct pending {
    impl* owner;
    completion done;
    uint16_t id;
    clock_type::time_point start;
  };

  impl(boost::asio::io_context& io, const config::forward_settings& s,
       const std::string& resolv_conf);
  ~impl() { shutdown(); }

  void send(std::span<const uint8_t> query, completion done);
  void shutdown();

  // What c-ares calls: plain functions, with `this` or a `pending` as data.
  static void on_socket_state(void* data, ares_socket_t fd, int readable, int writable);
  static void on_answer(void* arg, int st, int timeouts, unsigned char* abuf, int alen);

  void init_channel(const config::forward_settings& s, const std::string& resolv_conf);
  void socket_state(int fd, bool readable, bool writable);
  void close_watch(watch& w);
  void wait(const std::shared_ptr<watch>& w, bool write);
  void process(int read_fd, int write_fd);
  void arm_timer_within(clock_type::duration d);
  void on_timer();
  void finish(pending& p, int ares_status, int timeouts, const uint8_t* abuf, int alen);
  void complete_later(completion done, result r);
  uint16_t take_id();
  void release_id(uint16_t id);
  void count(status st);
  void note_health(status st, int timeouts);
  void report(const health_line& line);

  boost::asio::io_context& io_;
  std::shared_ptr<spdlog::logger> log_ = log::get("forward");
  // Expires with the impl: timer handlers already queued check it first.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  clock_type::duration attempt_timeout_;
  channel_ptr channel_;
  std::vector<view::socket_address> upstreams_;
  std::unordered_map<int, std::shared_ptr<watch>> watches_;
  boost::asio::steady_timer timer_;
  bool timer_armed_ = false;
  clock_type::time_point timer_at_{};
  boost::asio::steady_timer log_timer_;
  bool log_timer_armed_ = false;
  id_source ids_;
  std::unordered_map<uint16_t, unsigned> ids_in_use_;
  std::size_t in_flight_ = 0;
  counters stats_;
  health_log health_;
};

forwarder::impl::impl(boost::asio::io_context& io, const config::forward_settings& s,
                      const std::string& resolv_conf)
    : io_(io),
      attempt_timeout_(std::chrono::milliseconds(s.timeout_ms)),
      timer_(io),
      log_timer_(io) {
  init_channel(s, resolv_conf);
  log_->debug("forwarder ready upstreams={} source={} timeout_ms={} attempts={}", join(upstreams_),
              s.use_resolv_conf ? resolv_conf : "config", s.timeout_ms, s.attempts);
}

void forwarder::impl::init_channel(const config::forward_settings& s,
                                   const std::string& resolv_conf) {
  library_init_once();
  if (!s.use_resolv_conf && s.upstreams.empty())
    throw std::runtime_error(
        "forward: no upstreams: list resolvers in [forward] upstreams, "
        "or leave it empty to use the nameservers of /etc/resolv.conf");
  if (s.use_resolv_conf && !names_a_server(resolv_conf))
    throw std::runtime_error("forward: " + resolv_conf +
                             " has no nameserver line (or cannot "
                             "be read): add one, or set [forward] upstreams");

  // Servers strictly in order, our timeouts, rcodes passed through; no EDNS
  // flag, so ares_send leaves the query as given.
  ares_options opts{};
  int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_NOROTATE |
             ARES_OPT_SOCK_STATE_CB;
  opts.flags = ARES_FLAG_NOCHECKRESP;
  opts.timeout = static_cast<int>(s.timeout_ms);
  opts.tries = static_cast<int>(s.attempts);
  opts.sock_state_cb = &impl::on_socket_state;
  opts.sock_state_cb_data = this;
  if (s.use_resolv_conf) {
    mask |= ARES_OPT_RESOLVCONF;
    opts.resolvconf_path = const_cast<char*>(resolv_conf.c_str());  // c-ares copies it
  }
  ares_channel raw = nullptr;
  int rc = ares_init_options(&raw, &opts, mask);
  if (rc != ARES_SUCCESS)
    throw std::runtime_error(std::string("forward: c-ares init failed: ") + ares_strerror(rc));
  channel_.reset(raw);

  // Explicit upstreams replace whatever c-ares found in /etc/resolv.conf.
  if (!s.use_resolv_conf) {
    std::string csv = join(s.upstreams);  // "a.b.c.d:port,[v6]:port"
    rc = ares_set_servers_ports_csv(channel_.get(), csv.c_str());
    if (rc != ARES_SUCCESS)
      throw std::runtime_error("forward: c-ares rejected upstreams " + csv + ": " +
                               ares_strerror(rc));
  }
  upstreams_ = servers_of(channel_.get());
  if (upstreams_.empty())
    throw std::runtime_error("forward: no usable upstream (" +
                             (s.use_resolv_conf ? resolv_conf : std::string("config")) + ")");
}

void forwarder::impl::send(std::span<const uint8_t> query, completion done) {
  ++stats_.sent;
  if (!channel_) return complete_later(std::move(done), {status::cancelled, {}});
  if (query.size() < header_size || query.size() > max_message)
    return complete_later(std::move(done), {status::bad_query, {}});

  // A fresh ID per query: c-ares 1.18 would send the client's (see the top).
  std::vector<uint8_t> wire(query.begin(), query.end());
  uint16_t id = take_id();
  wire[0] = static_cast<uint8_t>(id >> 8);
  wire[1] = static_cast<uint8_t>(id & 0xff);

  // c-ares owns `p` until on_answer, which it calls exactly once, possibly
  // right here (bad query, no memory); on_answer only posts the completion.
  auto* p = new pending{this, std::move(done), id, clock_type::now()};
  ++in_flight_;
  ares_send(channel_.get(), wire.data(), static_cast<int>(wire.size()), &impl::on_answer, p);
  if (in_flight_ > 0) arm_timer_within(attempt_timeout_);
}

void forwarder::impl::shutdown() {
  if (!channel_) return;
  // Cancel first so every query completes with ARES_ECANCELLED; destroying
  // the channel then closes its sockets, telling socket_state() each time.
  ares_cancel(channel_.get());
  channel_.reset();
  // c-ares reports every socket it closes, so none should be left. If one is,
  // release it anyway: destroying the descriptor unreleased would close an fd
  // number that may already belong to someone else.
  for (auto& [fd, w] : watches_) {
    log_->error("c-ares left a socket watched after shutdown fd={}", fd);
    close_watch(*w);
  }
  watches_.clear();
  timer_.cancel();
  timer_armed_ = false;
  if (auto line = health_.flush(clock_type::time_point::max())) report(*line);
  log_timer_.cancel();
  log_timer_armed_ = false;
}

// ---- sockets ----

void forwarder::impl::on_socket_state(void* data, ares_socket_t fd, int readable, int writable) {
  auto* self = static_cast<impl*>(data);
  // Never let an exception unwind through c-ares.
  try {
    self->socket_state(fd, readable != 0, writable != 0);
  } catch (const std::exception& e) {
    self->log_->error("cannot watch a c-ares socket fd={} error={}; its queries will time out", fd,
                      e.what());
  }
}

void forwarder::impl::socket_state(int fd, bool readable, bool writable) {
  auto it = watches_.find(fd);
  if (!readable && !writable) {
    // c-ares closes fd right after this returns.
    if (it != watches_.end()) {
      close_watch(*it->second);
      watches_.erase(it);
    }
    return;
  }
  if (it == watches_.end()) it = watches_.emplace(fd, std::make_shared<watch>(io_, fd)).first;
  auto w = it->second;
  w->want_read = readable;
  w->want_write = writable;
  wait(w, false);
  wait(w, true);
}

void forwarder::impl::close_watch(watch& w) {
  w.closed = true;
  // release(), not close(): the fd is c-ares's. Pending waits end with
  // operation_aborted and see `closed`.
  w.sd.release();
}

void forwarder::impl::wait(const std::shared_ptr<watch>& w, bool write) {
  bool& busy = write ? w->writing : w->reading;
  bool want = write ? w->want_write : w->want_read;
  if (busy || !want || w->closed) return;
  busy = true;
  auto what = write ? stream_descriptor::wait_write : stream_descriptor::wait_read;
  w->sd.async_wait(what, [this, w, write](const boost::system::error_code& ec) {
    (write ? w->writing : w->reading) = false;
    if (w->closed) return;  // released: do not touch `this`, it may be gone
    if (ec) {
      log_->error("waiting on a c-ares socket failed fd={} error={}; its queries will time out",
                  w->fd, ec.message());
      return;
    }
    process(write ? ARES_SOCKET_BAD : w->fd, write ? w->fd : ARES_SOCKET_BAD);
    // c-ares 1.18 reads a TCP answer piecewise (length word, then message)
    // and may leave bytes in the socket. That is fine: Asio 1.74 starts each
    // wait with EPOLL_CTL_MOD, which reports a socket that is already ready
    // even though its epoll registration is edge-triggered.
    wait(w, write);
  });
}

void forwarder::impl::process(int read_fd, int write_fd) {
  if (!channel_) return;
  ares_process_fd(channel_.get(), read_fd, write_fd);
  // A retry (timeout, TC, socket error) may have set a deadline earlier than
  // the timer's; none is earlier than one attempt timeout from now.
  if (in_flight_ > 0) arm_timer_within(attempt_timeout_);
}

// ---- timeouts ----

// Makes sure the timer fires within `d`. Firing early is harmless: on_timer
// asks c-ares for the real next deadline. ares_timeout() walks every query in
// c-ares 1.18, so it is called only when the timer fires, not per packet.
void forwarder::impl::arm_timer_within(clock_type::duration d) {
  auto at = clock_type::now() + d;
  if (timer_armed_ && timer_at_ <= at) return;
  timer_armed_ = true;
  timer_at_ = at;
  timer_.expires_at(at);
  timer_.async_wait([this, alive = std::weak_ptr<int>(alive_)](boost::system::error_code ec) {
    if (ec || alive.expired()) return;
    on_timer();
  });
}

void forwarder::impl::on_timer() {
  timer_armed_ = false;
  if (!channel_) return;
  ares_process_fd(channel_.get(), ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // timeouts only
  timeval tv{};
  if (!channel_ || !ares_timeout(channel_.get(), nullptr, &tv)) return;  // nothing in flight
  arm_timer_within(std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec));
}

// ---- completions ----

void forwarder::impl::on_answer(void* arg, int st, int timeouts, unsigned char* abuf, int alen) {
  std::unique_ptr<pending> p(static_cast<pending*>(arg));
  try {
    p->owner->finish(*p, st, timeouts, abuf, alen);
  } catch (...) {
    // Out of memory copying the answer: still complete, without it.
    try {
      p->owner->complete_later(std::move(p->done), {status::unreachable, {}});
    } catch (...) {
    }
  }
}

// Runs inside c-ares (ares_send, ares_process_fd, ares_cancel or ares_destroy):
// copy the answer, book-keep, and post the user's completion. Nothing here
// calls back into c-ares.
void forwarder::impl::finish(pending& p, int ares_status, int timeouts, const uint8_t* abuf,
                             int alen) {
  --in_flight_;
  release_id(p.id);
  result r{map_status(ares_status), {}};
  if (r.st == status::answered) {
    if (abuf && alen >= static_cast<int>(header_size))
      r.answer.assign(abuf, abuf + alen);
    else
      r.st = status::bad_answer;
  }
  if (log_->should_log(spdlog::level::debug)) {
    std::chrono::duration<double> dur = clock_type::now() - p.start;
    log_->debug("forward done upstream_id={} status={} cares={} timeouts={} size={} dur={:.6f}",
                p.id, to_string(r.st), ares_strerror(ares_status), timeouts, r.answer.size(),
                dur.count());
  }
  note_health(r.st, timeouts);
  complete_later(std::move(p.done), std::move(r));
}

void forwarder::impl::complete_later(completion done, result r) {
  count(r.st);
  // The handler holds only the completion and result, never the forwarder, so
  // it is safe even when the forwarder is gone by the time it runs.
  boost::asio::post(io_, [done = std::move(done), r = std::move(r)]() mutable {
    if (done) done(std::move(r));
  });
}

void forwarder::impl::count(status st) {
  switch (st) {
    case status::answered:
      ++stats_.answered;
      break;
    case status::timeout:
      ++stats_.timeout;
      break;
    case status::unreachable:
      ++stats_.unreachable;
      break;
    case status::bad_answer:
      ++stats_.bad_answer;
      break;
    case status::cancelled:
      ++stats_.cancelled;
      break;
    case status::bad_query:
      ++stats_.bad_query;
      break;
  }
}

// ---- query IDs ----

uint16_t forwarder::impl::take_id() {
  // Avoid IDs in flight. A clash after a few draws (tens of thousands in
  // flight) is tolerated: c-ares matches on ID and question together.
  uint16_t id = ids_.next();
  for (int i = 0; i < 8 && ids_in_use_.count(id); ++i) id = ids_.next();
  ++ids_in_use_[id];
  return id;
}

void forwarder::impl::release_id(uint16_t id) {
  auto it = ids_in_use_.find(id);
  if (it != ids_in_use_.end() && --it->second == 0) ids_in_use_.erase(it);
}

// ---- health logging ----

void forwarder::impl::note_health(status st, int timeouts) {
  if (auto line = health_.note(st, timeouts, clock_type::now())) report(*line);
  auto held = health_.held_until();
  if (!held || log_timer_armed_ || !channel_) return;
  log_timer_armed_ = true;
  log_timer_.expires_at(*held);
  log_timer_.async_wait([this, alive = std::weak_ptr<int>(alive_)](boost::system::error_code ec) {
    if (ec || alive.expired()) return;
    log_timer_armed_ = false;
    if (auto line = health_.flush(clock_type::now())) report(*line);
  });
}

void forwarder::impl::report(const health_line& line) {
  if (line.state == upstream_state::ok) {
    log_->info("upstreams answering again was={} troubled={} suppressed={} upstreams={}",
               to_string(line.was), line.troubled, line.suppressed, join(upstreams_));
    return;
  }
  log_->warn("upstreams {} status={} was={} troubled={} suppressed={} upstreams={}",
             to_string(line.state), to_string(line.last), to_string(line.was), line.troubled,
             line.suppressed, join(upstreams_));
}

// ---- public face ----

forwarder::forwarder(boost::asio::io_context& io, const config::forward_settings& settings,
                     const std::string& resolv_conf)
    : impl_(std::make_unique<impl>(io, settings, resolv_conf)) {}

forwarder::~forwarder() = default;

void forwarder::send(std::span<const uint8_t> query, completion done) {
  impl_->send(query, std::move(done));
}

const std::vector<view::socket_address>& forwarder::upstreams() const {
  return impl_->upstreams_;
}

std::size_t forwarder::in_flight() const {
  return impl_->in_flight_;
}

const counters& forwarder::stats() const {
  return impl_->stats_;
}

upstream_state forwarder::health() const {
  return impl_->health_.state();
}

void forwarder::shutdown() {
  impl_->shutdown();
}

}  // namespace vpcedns::forward

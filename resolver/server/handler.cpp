#include "server/handler.hpp"

#include <algorithm>
#include <array>
#include <cstring>

namespace vpcedns::server {

namespace {

using sec = wire::response_writer::section;

decision error(wire::rcode rc, const wire::query& q, std::span<const uint8_t> pkt,
               std::span<uint8_t> out, const limits& lim, const char* source = "error") {
  return {decision::action::respond, zone::write_error(rc, q, pkt, out, lim.edns_udp_max),
          view::outside, rc, source};
}

bool allowed(const limits& lim, const view::ip_address& client) {
  return std::any_of(lim.allow.begin(), lim.allow.end(),
                     [&](const view::cidr& c) { return c.contains(client); });
}

// REFUSED for a client outside the allow list, with EDE 18 "Prohibited".
decision prohibited(const wire::query& q, std::span<const uint8_t> pkt, std::span<uint8_t> out,
                    const limits& lim) {
  wire::response_writer w(out, out.size());
  w.begin(q, pkt, wire::rcode::refused, false);
  w.set_ede(wire::ede::prohibited, "client not in server.allow");
  return {decision::action::respond, w.finish(q, lim.edns_udp_max), view::outside,
          wire::rcode::refused, "refused"};
}

decision badvers(const wire::query& q, std::span<const uint8_t> pkt, std::span<uint8_t> out,
                 const limits& lim) {
  // RFC 6891 6.1.3: extended rcode 16 in our OPT, version 0 (the one we speak).
  wire::response_writer w(out, out.size());
  w.begin(q, pkt, wire::rcode::noerror, false);
  w.set_extended_rcode(wire::badvers);
  return {decision::action::respond, w.finish(q, lim.edns_udp_max), view::outside,
          wire::rcode::noerror, "badvers"};
}

// The CHAOS names servers answer about themselves (BIND's and NSD's set).
std::string_view chaos_text(const wire::query& q, const limits& lim) {
  std::string_view name = q.lower_name();
  using namespace std::string_view_literals;
  // Wire form, octal escapes for the label lengths.
  if (name == "\7version\4bind\0"sv || name == "\7version\6server\0"sv) return chaos_version;
  if (name == "\2id\6server\0"sv || name == "\10hostname\4bind\0"sv) return lim.chaos_id;
  return {};
}

// CHAOS TXT about this server, owned by us (AA), or REFUSED.
decision chaos(const wire::query& q, std::span<const uint8_t> pkt, std::span<uint8_t> out,
               const limits& lim, bool tcp) {
  std::string_view text = chaos_text(q, lim);
  bool txt = q.qtype == wire::type::txt || q.qtype == wire::type::any;
  if (!lim.chaos_answer || text.empty() || !txt)
    return error(wire::rcode::refused, q, pkt, out, lim, "chaos");
  std::array<uint8_t, 256> rdata;
  std::size_t n = std::min<std::size_t>(text.size(), 255);
  rdata[0] = static_cast<uint8_t>(n);
  std::memcpy(rdata.data() + 1, text.data(), n);
  wire::response_writer w(out, tcp ? wire::max_message : q.udp_limit(lim.edns_udp_max));
  w.begin(q, pkt, wire::rcode::noerror, true);
  w.add_rr(sec::answer, wire::header_size, wire::type::txt, 0, {rdata.data(), n + 1},
           wire::klass::chaos);
  return {decision::action::respond, w.finish(q, lim.edns_udp_max), view::outside,
          wire::rcode::noerror, "chaos"};
}

// RFC 8482 4.2: ANY over UDP gets one small synthesized HINFO instead of
// everything upstream has, so vpcedns is never an amplifier. Not ours: no AA.
decision any_hinfo(const wire::query& q, std::span<const uint8_t> pkt, std::span<uint8_t> out,
                   const limits& lim, view::view_id v) {
  static constexpr uint8_t rdata[] = {7, 'R', 'F', 'C', '8', '4', '8', '2', 0};
  constexpr uint32_t hinfo_ttl = 3600;
  wire::response_writer w(out, q.udp_limit(lim.edns_udp_max));
  w.begin(q, pkt, wire::rcode::noerror, false);
  w.add_rr(sec::answer, wire::header_size, wire::type::hinfo, hinfo_ttl, rdata);
  return {decision::action::respond, w.finish(q, lim.edns_udp_max), v, wire::rcode::noerror,
          "rfc8482"};
}

}  // namespace

limits limits_from(const config::settings& s) {
  return {s.edns_udp_max, s.allow, s.chaos == config::settings::chaos_mode::answer, s.chaos_id};
}

decision handle(const zone::local_data& data, const limits& lim, std::span<const uint8_t> pkt,
                const view::ip_address& client, bool tcp, std::span<uint8_t> out, wire::query& q) {
  wire::parse_status st = wire::parse_query(pkt, q);
  if (st == wire::parse_status::drop) return {};
  // Before anything else: a client we do not serve learns nothing more.
  if (!allowed(lim, client)) return prohibited(q, pkt, out, lim);
  switch (st) {
    case wire::parse_status::formerr:
      return error(wire::rcode::formerr, q, pkt, out, lim);
    case wire::parse_status::notimp:
      return error(wire::rcode::notimp, q, pkt, out, lim);
    case wire::parse_status::badvers:
      return badvers(q, pkt, out, lim);
    default:
      break;
  }

  if (q.qclass == wire::klass::chaos) return chaos(q, pkt, out, lim, tcp);
  // We resolve class IN only (RFC 6895 3.2: other classes are not in use).
  if (q.qclass != wire::klass::in) return error(wire::rcode::refused, q, pkt, out, lim, "class");
  // Zone transfers are for authoritative servers, not for a resolver.
  if (q.qtype == wire::type::axfr || q.qtype == wire::type::ixfr)
    return error(wire::rcode::refused, q, pkt, out, lim, "xfr");

  view::view_id v = data.views().select(client);
  zone::match m = data.lookup(v, q.lower_name(), q.qtype);
  if (m.what == zone::match::kind::forward_target) {
    decision d{decision::action::forward_target, 0, v, wire::rcode::noerror, "chain"};
    d.size = zone::write_chain_prefix(m, q, pkt, out, &d.prefix_answers);
    d.target = m.target;
    return d;
  }
  if (m.what != zone::match::kind::none) {
    std::size_t limit = tcp ? wire::max_message : q.udp_limit(lim.edns_udp_max);
    auto rc = m.what == zone::match::kind::nxdomain ? wire::rcode::nxdomain : wire::rcode::noerror;
    return {decision::action::respond, zone::write_local(m, q, pkt, out, limit, lim.edns_udp_max),
            v, rc, m.why};
  }
  if (q.qtype == wire::type::any && !tcp) return any_hinfo(q, pkt, out, lim, v);
  return {decision::action::forward, 0, v, wire::rcode::noerror, "forward"};
}

namespace {

relayed servfail(upstream_failure why, const wire::query& q, std::span<const uint8_t> client_pkt,
                 const limits& lim, std::span<uint8_t> out) {
  uint16_t code = wire::ede::other;
  const char* text = "upstream answer malformed";
  const char* source = "bad_answer";
  if (why == upstream_failure::timeout) {
    code = wire::ede::no_reachable_authority;
    text = "upstream resolvers timed out";
    source = "timeout";
  } else if (why == upstream_failure::unreachable) {
    code = wire::ede::network_error;
    text = "upstream resolvers unreachable";
    source = "unreachable";
  }
  wire::response_writer w(out, out.size());
  w.begin(q, client_pkt, wire::rcode::servfail, false);
  w.set_ede(code, text);
  return {w.finish(q, lim.edns_udp_max), wire::rcode::servfail, source};
}

}  // namespace

relayed relay_answer(std::span<const uint8_t> answer, upstream_failure why, const wire::query& q,
                     std::span<const uint8_t> client_pkt, bool tcp, const limits& lim,
                     std::span<uint8_t> out) {
  if (why == upstream_failure::none) {
    std::size_t n = std::min(answer.size(), out.size());
    std::copy_n(answer.begin(), n, out.begin());
    std::size_t limit = tcp ? wire::max_message : q.udp_limit(lim.edns_udp_max);
    std::size_t size = wire::relay_upstream_answer(out, n, q, client_pkt, limit, lim.edns_udp_max);
    if (size) return {size, static_cast<wire::rcode>(out[3] & 0xf), "forward"};
    why = upstream_failure::bad_answer;
  }
  // Upstream trouble must never mean silence: the client gets SERVFAIL.
  return servfail(why, q, client_pkt, lim, out);
}

}  // namespace vpcedns::server

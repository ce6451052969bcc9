#include "server/handler.hpp"

namespace vpcedns::server {

namespace {

decision error(wire::rcode rc, const wire::query& q, std::span<const uint8_t> pkt,
               std::span<uint8_t> out, const limits& lim) {
  return {decision::action::respond, zone::write_error(rc, q, pkt, out, lim.edns_udp_max),
          view::outside, rc, "error"};
}

}  // namespace

decision handle(const zone::local_data& data, const limits& lim, std::span<const uint8_t> pkt,
                const view::ip_address& client, bool tcp, std::span<uint8_t> out, wire::query& q) {
  switch (wire::parse_query(pkt, q)) {
    case wire::parse_status::ok: break;
    case wire::parse_status::drop: return {};
    case wire::parse_status::formerr: return error(wire::rcode::formerr, q, pkt, out, lim);
    case wire::parse_status::notimp: return error(wire::rcode::notimp, q, pkt, out, lim);
    case wire::parse_status::badvers: {
      wire::response_writer w(out, out.size());
      w.begin(q, pkt, wire::rcode::noerror, false);
      w.set_extended_rcode(wire::badvers);
      return {decision::action::respond, w.finish(q, lim.edns_udp_max), view::outside,
              wire::rcode::noerror, "badvers"};
    }
  }

  view::view_id v = data.views().select(client);
  // Local data is class IN only; other classes (CHAOS version.bind...) are forwarded.
  if (q.qclass == wire::klass::in || q.qclass == wire::klass::any) {
    zone::match m = data.lookup(v, q.lower_name(), q.qtype);
    if (m.what != zone::match::kind::none) {
      std::size_t limit = tcp ? wire::max_message : q.udp_limit(lim.edns_udp_max);
      auto rc = m.what == zone::match::kind::nxdomain ? wire::rcode::nxdomain : wire::rcode::noerror;
      return {decision::action::respond,
              zone::write_local(m, q, pkt, out, limit, lim.edns_udp_max), v, rc, m.why};
    }
  }
  return {decision::action::forward, 0, v, wire::rcode::noerror, "forward"};
}

}  // namespace vpcedns::server

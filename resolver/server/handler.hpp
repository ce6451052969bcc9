// The decision core: one query in, one decision out. No sockets, no clocks.
#pragma once

#include "config/config.hpp"
#include "view/address.hpp"
#include "wire/message.hpp"
#include "zone/local_data.hpp"

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

namespace vpcedns::server {

struct decision {
  enum class action : uint8_t {
    respond,  // send out[0..size)
    forward,  // send the client's packet upstream, then relay_answer()
    // A CNAME chain that leaves our zones: out[0..size) is the answer begun
    // here (zone::write_chain_prefix, `prefix_answers` RRs); forward a query
    // for `target`, then complete it with wire::splice_chain().
    forward_target,
    drop,  // say nothing (unreadable or a response); over TCP, close the connection
  };
  action what = action::drop;
  std::size_t size = 0;
  view::view_id view = view::outside;
  wire::rcode rc = wire::rcode::noerror;
  const char* source = "";      // for the query log: "local", "forward", "error", "refused"...
  std::string_view target{};    // forward_target: lowercase wire name, valid with the snapshot
  uint16_t prefix_answers = 0;  // forward_target: answer RRs in out[0..size)
};

// Settings handle() needs, viewing into the config snapshot (which must outlive them).
struct limits {
  uint16_t edns_udp_max = 1232;           // largest UDP answer we send (server.edns_udp_max)
  std::span<const view::cidr> allow;      // clients answered; others REFUSED (server.allow)
  bool chaos_answer = false;              // server.chaos = "answer"
  std::string_view chaos_id = "vpcedns";  // server.chaos_id
};

// The limits of a config; `s` must outlive the result.
limits limits_from(const config::settings& s);

// The text vpcedns answers to CHAOS TXT version.bind / version.server.
inline constexpr std::string_view chaos_version = "vpcedns";

// Decides what to do with one client message and, for local answers and
// errors, writes the response into `out` (at least 65535 bytes).
// `q` receives the parsed query (needed later to relay a forwarded answer).
//
// In order: unreadable messages and responses (QR=1) are dropped; clients
// outside `lim.allow` get REFUSED; malformed queries FORMERR, other opcodes
// NOTIMP, EDNS version > 0 BADVERS; class CHAOS is answered or REFUSED per
// `lim.chaos_answer`, other classes than IN REFUSED, as are AXFR and IXFR;
// local data answers what it owns; ANY over UDP that is not ours gets the
// RFC 8482 HINFO; everything else is forwarded.
decision handle(const zone::local_data& data, const limits& lim, std::span<const uint8_t> pkt,
                const view::ip_address& client, bool tcp, std::span<uint8_t> out, wire::query& q);

// Why a forwarded query got no usable upstream answer.
enum class upstream_failure {
  none,         // answered: relay it
  timeout,      // every attempt timed out
  unreachable,  // every upstream refused the connection or the network failed
  bad_answer,   // the upstream's replies were malformed
};

struct relayed {
  std::size_t size = 0;
  wire::rcode rc = wire::rcode::noerror;  // the header's rcode, for the query log
  const char* source = "forward";
};

// Writes the client's answer to a forwarded query into `out` (at least 65535
// bytes): the upstream's `answer` relayed (wire::relay_upstream_answer) when
// `why` is none and it is usable, otherwise SERVFAIL with an Extended DNS
// Error (RFC 8914) saying why, when the client used EDNS.
relayed relay_answer(std::span<const uint8_t> answer, upstream_failure why, const wire::query& q,
                     std::span<const uint8_t> client_pkt, bool tcp, const limits& lim,
                     std::span<uint8_t> out);

}  // namespace vpcedns::server

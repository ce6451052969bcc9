// The decision core: one query in, one decision out. No sockets, no clocks.
#pragma once

#include "view/address.hpp"
#include "wire/message.hpp"
#include "zone/local_data.hpp"

#include <cstdint>
#include <memory>
#include <span>

namespace vpcedns::server {

struct decision {
  enum class action : uint8_t {
    respond,  // send out[0..size)
    forward,  // send the client's packet upstream, then relay_upstream_answer()
    drop,     // say nothing (unreadable or a response)
  };
  action what = action::drop;
  std::size_t size = 0;
  view::view_id view = view::outside;
  wire::rcode rc = wire::rcode::noerror;
  const char* source = "";  // for the query log: "local", "forward", "error"
};

struct limits {
  uint16_t edns_udp_max = 1232;  // largest UDP answer we send (config server.edns_udp_max)
};

// Decides what to do with one client message and, for local answers and
// errors, writes the response into `out` (at least 65535 bytes).
// `q` receives the parsed query (needed later to relay a forwarded answer).
decision handle(const zone::local_data& data, const limits& lim, std::span<const uint8_t> pkt,
                const view::ip_address& client, bool tcp, std::span<uint8_t> out, wire::query& q);

}  // namespace vpcedns::server

// Picks the view (VPC) a client belongs to from its source address.
#pragma once

#include "view/address.hpp"

#include <cstdint>
#include <vector>

namespace vpcedns::view {

// Index of a view: 0 is "outside" (no VPC matched); VPC i of the config is i+1.
using view_id = uint16_t;
inline constexpr view_id outside = 0;

// Longest-prefix match of a client address against every VPC's CIDRs.
// Immutable after construction; safe to share between threads.
class selector {
 public:
  void add(const cidr& prefix, view_id view);
  // The view whose CIDR holds addr with the longest prefix, or `outside`.
  // IPv4-mapped IPv6 clients are matched as IPv4.
  view_id select(const ip_address& addr) const;

 private:
  struct entry {
    cidr prefix;
    view_id view;
  };
  std::vector<entry> entries_;  // sorted by prefix length, longest first
};

}  // namespace vpcedns::view

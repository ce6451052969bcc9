#include "view/selector.hpp"

#include <algorithm>

namespace vpcedns::view {

void selector::add(const cidr& prefix, view_id view) {
  entry e{prefix, view};
  // Keep longest prefixes first so the first hit is the most specific one.
  auto pos = std::upper_bound(
      entries_.begin(), entries_.end(), e,
      [](const entry& a, const entry& b) { return a.prefix.length > b.prefix.length; });
  entries_.insert(pos, e);
}

view_id selector::select(const ip_address& addr) const {
  ip_address a = addr.unmapped();
  for (const auto& e : entries_)
    if (e.prefix.contains(a)) return e.view;
  return outside;
}

}  // namespace vpcedns::view

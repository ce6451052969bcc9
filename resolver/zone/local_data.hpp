// The names vpcedns answers itself, per view: the private DNS zones of
// interface endpoints (for the VPC they live in, when private DNS is on) and
// the endpoint-specific vpce names (for every view).
//
// Built once from the config, rendered to wire form up front, then immutable
// and shared by every worker thread. Answering is a hash lookup and a copy.
#pragma once

#include "config/config.hpp"
#include "view/selector.hpp"
#include "wire/message.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace vpcedns::zone {

// Route 53 answers interface-endpoint records with TTL 60.
inline constexpr uint32_t endpoint_ttl = 60;

// A zone we are authoritative for in some view: its apex and SOA.
struct zone_info {
  std::string apex;              // lowercase wire name
  uint8_t apex_labels = 0;       // labels in apex, root excluded
  std::vector<uint8_t> soa_rdata;
  uint32_t soa_ttl = 0;          // TTL of the SOA in negative answers (RFC 2308 3)
  std::string apex_text;         // for logs
};

// The records of one owner name, rendered: each RRset is a run of complete
// RRs whose owner is the pointer 0xC00C (the qname), so the same bytes serve
// any query for this name, whatever the client's letter case.
struct rrset {
  uint16_t rtype = 0;
  uint16_t count = 0;
  std::vector<uint8_t> wire;
};

struct node {
  const zone_info* zone = nullptr;  // for the SOA in NODATA answers
  std::vector<rrset> rrsets;
  const rrset* find(uint16_t rtype) const;
};

// The outcome of a lookup.
struct match {
  enum class kind : uint8_t {
    none,      // not ours: forward
    answer,    // NOERROR with `data` in the answer section
    nodata,    // NOERROR, empty answer, SOA of `zone` in authority
    nxdomain,  // NXDOMAIN, SOA of `zone` in authority
  };
  kind what = kind::none;
  const rrset* data = nullptr;
  const zone_info* zone = nullptr;
  const char* why = "";  // for the query log: "endpoint", "vpce", "wildcard", ...
};

class local_data {
 public:
  // Builds every view's tables from the config. View 0 is "outside"; view
  // i+1 is settings.vpcs[i]. Throws config::error on data that cannot be
  // rendered (it should have been caught by the config validation).
  static std::shared_ptr<const local_data> build(const config::settings& settings);

  // Looks up a lowercased wire qname for a client in `view`.
  match lookup(view::view_id view, std::string_view lname, uint16_t qtype) const;

  const view::selector& views() const { return selector_; }
  std::size_t view_count() const { return views_.size(); }
  const std::string& view_name(view::view_id v) const { return views_[v].name; }
  // Number of owner names answered in a view (for the startup summary).
  std::size_t names_in(view::view_id v) const { return views_[v].names.size(); }

 private:
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using name_map = std::unordered_map<std::string, node, string_hash, std::equal_to<>>;
  using zone_map = std::unordered_map<std::string, const zone_info*, string_hash, std::equal_to<>>;

  struct view_tables {
    std::string name;
    name_map names;   // exact owner names
    zone_map zones;   // apexes whose whole subtree is ours (private DNS zones)
  };

  std::vector<std::unique_ptr<zone_info>> zones_;  // owns every zone_info
  std::vector<view_tables> views_;
  view::selector selector_;

  friend class builder;
};

// Writes a complete response for a local match into `out`.
// Returns the message size (truncated with TC when over `limit`).
std::size_t write_local(const match& m, const wire::query& q, std::span<const uint8_t> pkt,
                        std::span<uint8_t> out, std::size_t limit, uint16_t our_udp_size);

// Writes a header-only (plus question when readable) error response.
std::size_t write_error(wire::rcode rc, const wire::query& q, std::span<const uint8_t> pkt,
                        std::span<uint8_t> out, uint16_t our_udp_size);

}  // namespace vpcedns::zone

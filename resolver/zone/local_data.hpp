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
#include "zone/zone_file.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace vpcedns::zone {

// Route 53 answers interface-endpoint records with TTL 60.
inline constexpr uint32_t endpoint_ttl = 60;

struct zone_info;

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
  std::vector<rrset> rrsets;        // empty: an empty non-terminal (NODATA)
  std::string cname_target;         // lowercase wire name, when there is a CNAME
  bool cut = false;                 // NS below the apex: a delegation (forwarded)
  const rrset* find(uint16_t rtype) const;
};

struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using name_map = std::unordered_map<std::string, node, string_hash, std::equal_to<>>;

// A zone we are authoritative for in some views: a private hosted zone from
// zones/, or the private DNS zone of an interface endpoint. It owns its whole
// subtree (Route 53 private hosted zone semantics): a name below the apex that
// is not in `names` is NXDOMAIN or matches a wildcard, never forwarded.
struct zone_info {
  std::string apex;         // lowercase wire name
  uint8_t apex_labels = 0;  // labels in apex, root excluded
  std::vector<uint8_t> soa_rdata;
  uint32_t soa_ttl = 0;      // TTL of the SOA in negative answers (RFC 2308 3)
  std::string apex_text;     // for logs
  std::string source;        // "zones/corp.internal.zone" or "endpoint vpce-..."
  const char* why = "zone";  // query log source: "zone" (a file) or "endpoint"
  name_map names;            // every owner, empty non-terminals and the apex included
};

// A CNAME target answered from local data (RFC 1034 4.3.2 step 3a).
struct chain_link {
  std::string_view owner;  // lowercase wire name
  const rrset* data = nullptr;
};
inline constexpr std::size_t max_chain = 8;  // CNAMEs followed before giving up

// The outcome of a lookup.
struct match {
  enum class kind : uint8_t {
    none,            // not ours: forward
    answer,          // NOERROR with `data` (and `chain`) in the answer section
    nodata,          // NOERROR, `data`/`chain` if a CNAME led here, SOA of `zone` in authority
    nxdomain,        // NXDOMAIN (RFC 6604: of the last name of a chain), SOA of `zone`
    forward_target,  // `data` and `chain` are ours; `target` (out of our zones) is forwarded
  };
  kind what = kind::none;
  const rrset* data = nullptr;  // the RRset at the qname (owner 0xC00C)
  const zone_info* zone = nullptr;
  const char* why = "";  // for the query log: "name", "vpce", "wildcard", "zone"...
  std::array<chain_link, max_chain> chain{};
  uint8_t chain_len = 0;
  std::string_view next;    // the CNAME target of the last RRset, if it is a CNAME
  std::string_view target;  // forward_target: the name to ask upstream
};

class local_data {
 public:
  // Builds every view's tables from the config and the zone files loaded for
  // it (`files[i]` is settings.zones[i]; may be empty when there are none).
  // View 0 is "outside"; view i+1 is settings.vpcs[i]. Throws config::error
  // on data that cannot be rendered or on two zones of one name in one VPC.
  static std::shared_ptr<const local_data> build(const config::settings& settings,
                                                 const std::vector<zone_file>& files = {});

  // Looks up a lowercased wire qname for a client in `view`, following CNAMEs
  // through local data. The most specific zone enclosing the name wins.
  match lookup(view::view_id view, std::string_view lname, uint16_t qtype) const;

  const view::selector& views() const { return selector_; }
  std::size_t view_count() const { return views_.size(); }
  const std::string& view_name(view::view_id v) const { return views_[v].name; }
  // Number of owner names answered in a view (for the startup summary).
  std::size_t names_in(view::view_id v) const;
  // The zones a view is authoritative for, for logs and `ctl status`.
  std::vector<const zone_info*> zones_in(view::view_id v) const;

 private:
  using zone_map = std::unordered_map<std::string, const zone_info*, string_hash, std::equal_to<>>;

  struct view_tables {
    std::string name;
    name_map names;  // public names answered here (the vpce names), outside any zone
    zone_map zones;  // apexes whose whole subtree is ours
  };

  match find(const view_tables& vt, std::string_view lname, uint16_t qtype) const;

  std::vector<std::unique_ptr<zone_info>> zones_;  // owns every zone_info
  std::vector<view_tables> views_;
  view::selector selector_;

  friend class builder;
};

// Writes a complete response for a local match into `out`.
// Returns the message size (truncated with TC when over `limit`).
std::size_t write_local(const match& m, const wire::query& q, std::span<const uint8_t> pkt,
                        std::span<uint8_t> out, std::size_t limit, uint16_t our_udp_size);

// For match::kind::forward_target: writes the header (AA set), the question
// and the local part of the answer (the CNAME chain), without OPT, and
// returns its size; `*answers` gets the number of answer RRs. The server
// completes it with wire::splice_chain() once the target's answer is in.
std::size_t write_chain_prefix(const match& m, const wire::query& q, std::span<const uint8_t> pkt,
                               std::span<uint8_t> out, uint16_t* answers);

// Writes a header-only (plus question when readable) error response.
std::size_t write_error(wire::rcode rc, const wire::query& q, std::span<const uint8_t> pkt,
                        std::span<uint8_t> out, uint16_t our_udp_size);

}  // namespace vpcedns::zone

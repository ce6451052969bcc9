#include "zone/local_data.hpp"

#include "wire/render.hpp"

#include <cstring>

namespace vpcedns::zone {

const rrset* node::find(uint16_t rtype) const {
  for (const auto& r : rrsets)
    if (r.rtype == rtype) return &r;
  return nullptr;
}

namespace {

// The SOA Route 53 puts in private hosted zones. Negative answers carry it
// with TTL min(SOA TTL, MINIMUM) = 900 (RFC 2308 3 and 5).
constexpr const char* soa_text =
    "ns-0.awsdns-00.com. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400";
constexpr uint32_t soa_ttl = 900;
constexpr uint32_t soa_minimum = 86400;

std::string wire_name(const std::string& text) {
  auto w = wire::name_from_text(text);
  if (!w) throw config::error("cannot render DNS name '" + text + "'");
  return *w;
}

uint8_t count_labels(std::string_view wire_name) {
  uint8_t n = 0;
  for (std::size_t pos = 0; pos < wire_name.size() && wire_name[pos] != 0; pos += uint8_t(wire_name[pos]) + 1)
    ++n;
  return n;
}

// Appends one RR owned by the qname (pointer 0xC00C) to an rrset.
void append_rr(rrset& set, const uint8_t* rdata, uint16_t rdlen) {
  uint8_t fixed[12];
  wire::put16(fixed, 0xc000 | wire::header_size);
  wire::put16(fixed + 2, set.rtype);
  wire::put16(fixed + 4, wire::klass::in);
  wire::put32(fixed + 6, endpoint_ttl);
  wire::put16(fixed + 10, rdlen);
  set.wire.insert(set.wire.end(), fixed, fixed + sizeof fixed);
  set.wire.insert(set.wire.end(), rdata, rdata + rdlen);
  ++set.count;
}

// A and AAAA rrsets for a set of ENIs.
std::vector<rrset> address_rrsets(const std::vector<const config::eni*>& enis) {
  rrset a{wire::type::a, 0, {}}, aaaa{wire::type::aaaa, 0, {}};
  for (const auto* e : enis) {
    append_rr(a, e->ipv4.bytes.data(), 4);
    if (e->ipv6) append_rr(aaaa, e->ipv6->bytes.data(), 16);
  }
  std::vector<rrset> out;
  if (a.count) out.push_back(std::move(a));
  if (aaaa.count) out.push_back(std::move(aaaa));
  return out;
}

}  // namespace

// Builds local_data; a friend so it can fill the private tables.
class builder {
 public:
  explicit builder(local_data& d) : d_(d) {}

  const zone_info* zone(const std::string& apex_text) {
    std::string apex = wire_name(apex_text);
    for (const auto& z : d_.zones_)
      if (z->apex == apex) return z.get();
    auto rdata = wire::rdata_from_text("SOA", soa_text);
    if (!rdata) throw config::error("cannot render the SOA of " + apex_text);
    auto z = std::make_unique<zone_info>();
    z->apex = apex;
    z->apex_labels = count_labels(apex);
    z->soa_rdata = std::move(*rdata);
    z->soa_ttl = std::min(soa_ttl, soa_minimum);
    z->apex_text = apex_text;
    d_.zones_.push_back(std::move(z));
    return d_.zones_.back().get();
  }

  void add_name(view::view_id v, const std::string& name_text, const zone_info* z,
                std::vector<rrset> sets) {
    node& n = d_.views_[v].names[wire_name(name_text)];
    n.zone = z;
    n.rrsets = std::move(sets);
  }

  void add_endpoint(const config::settings& s, const config::endpoint& e) {
    std::vector<const config::eni*> all;
    for (const auto& eni : e.enis) all.push_back(&eni);

    // Endpoint-specific names are public DNS in AWS: every view answers them.
    std::string vpce_zone = e.vpce_service + "." + e.region + ".vpce.amazonaws.com";
    const zone_info* vz = zone(vpce_zone);
    std::string base = e.id + "-" + e.suffix;
    for (view::view_id v = 0; v < d_.views_.size(); ++v) {
      add_name(v, base + "." + vpce_zone, vz, address_rrsets(all));
      for (const auto& eni : e.enis)
        add_name(v, base + "-" + eni.az + "." + vpce_zone, vz, address_rrsets({&eni}));
    }

    if (!e.private_dns) return;
    view::view_id v = vpc_view(s, e.vpc);
    for (const auto& name : e.private_dns_names) {
      bool wildcard = name.starts_with("*.");
      std::string apex = wildcard ? name.substr(2) : name;
      const zone_info* z = zone(apex);
      d_.views_[v].zones.emplace(z->apex, z);
      add_name(v, name, z, address_rrsets(all));
    }
  }

  static view::view_id vpc_view(const config::settings& s, const std::string& name) {
    for (std::size_t i = 0; i < s.vpcs.size(); ++i)
      if (s.vpcs[i].name == name) return static_cast<view::view_id>(i + 1);
    throw config::error("endpoint refers to unknown vpc '" + name + "'");
  }

 private:
  local_data& d_;
};

std::shared_ptr<const local_data> local_data::build(const config::settings& s) {
  auto d = std::make_shared<local_data>();
  d->views_.resize(s.vpcs.size() + 1);
  d->views_[view::outside].name = "outside";
  for (std::size_t i = 0; i < s.vpcs.size(); ++i) {
    auto v = static_cast<view::view_id>(i + 1);
    d->views_[v].name = s.vpcs[i].name;
    for (const auto& c : s.vpcs[i].cidrs) d->selector_.add(c, v);
  }
  builder b(*d);
  for (const auto& e : s.endpoints) b.add_endpoint(s, e);
  return d;
}

namespace {

match answer_from(const node& n, uint16_t qtype, const char* why) {
  const rrset* r = n.find(qtype);
  // RFC 8482 4.1: answer ANY with one RRset rather than everything.
  if (!r && qtype == wire::type::any && !n.rrsets.empty()) r = &n.rrsets.front();
  if (r) return {match::kind::answer, r, n.zone, why};
  return {match::kind::nodata, nullptr, n.zone, why};
}

}  // namespace

match local_data::lookup(view::view_id view, std::string_view lname, uint16_t qtype) const {
  const view_tables& vt = views_[view];
  if (auto it = vt.names.find(lname); it != vt.names.end()) return answer_from(it->second, qtype, "name");
  if (vt.zones.empty()) return {};

  // Closest enclosing private zone: the zone owns its whole subtree (as a
  // Route 53 private hosted zone does), so a miss below its apex is
  // answered here, by a wildcard (RFC 4592) or with NXDOMAIN.
  std::size_t pos = 0;
  while (pos < lname.size() && lname[pos] != 0) {
    pos += static_cast<uint8_t>(lname[pos]) + 1;
    auto z = vt.zones.find(lname.substr(pos));
    if (z == vt.zones.end()) continue;
    char key[wire::max_name_wire + 2];
    std::string_view apex = z->second->apex;
    key[0] = 1;
    key[1] = '*';
    std::memcpy(key + 2, apex.data(), apex.size());
    if (auto w = vt.names.find(std::string_view(key, apex.size() + 2)); w != vt.names.end())
      return answer_from(w->second, qtype, "wildcard");
    return {match::kind::nxdomain, nullptr, z->second, "zone"};
  }
  return {};
}

namespace {

// Offset in the response of the zone apex inside the qname, for the SOA
// owner pointer: skip the qname's labels above the apex.
uint16_t apex_offset(const wire::query& q, const zone_info& z) {
  std::size_t pos = 0;
  if (q.labels < z.apex_labels) return wire::header_size;  // not below the apex: cannot happen
  for (unsigned skip = q.labels - z.apex_labels; skip > 0; --skip) pos += q.lname[pos] + 1;
  return static_cast<uint16_t>(wire::header_size + pos);
}

}  // namespace

std::size_t write_local(const match& m, const wire::query& q, std::span<const uint8_t> pkt,
                        std::span<uint8_t> out, std::size_t limit, uint16_t our_udp_size) {
  using sec = wire::response_writer::section;
  wire::response_writer w(out, limit);
  auto rc = m.what == match::kind::nxdomain ? wire::rcode::nxdomain : wire::rcode::noerror;
  w.begin(q, pkt, rc, true);
  if (m.what == match::kind::answer) {
    w.add_raw(sec::answer, m.data->count, m.data->wire);
  } else if (m.zone) {
    w.add_rr(sec::authority, apex_offset(q, *m.zone), wire::type::soa, m.zone->soa_ttl,
             m.zone->soa_rdata);
  }
  return w.finish(q, our_udp_size);
}

std::size_t write_error(wire::rcode rc, const wire::query& q, std::span<const uint8_t> pkt,
                        std::span<uint8_t> out, uint16_t our_udp_size) {
  wire::response_writer w(out, out.size());
  w.begin(q, pkt, rc, false);
  return w.finish(q, our_udp_size);
}

}  // namespace vpcedns::zone

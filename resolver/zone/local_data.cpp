#include "zone/local_data.hpp"

#include "wire/render.hpp"

#include <algorithm>
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
// A private hosted zone's apex also holds the Route 53 NS record.
constexpr const char* ns_text = "ns-0.awsdns-00.com.";
constexpr uint32_t ns_ttl = 172800;

std::string wire_name(const std::string& text) {
  auto w = wire::name_from_text(text);
  if (!w) throw config::error("cannot render DNS name '" + text + "'");
  return *w;
}

uint8_t count_labels(std::string_view wire_name) {
  uint8_t n = 0;
  for (std::size_t pos = 0; pos < wire_name.size() && wire_name[pos] != 0;
       pos += uint8_t(wire_name[pos]) + 1)
    ++n;
  return n;
}

// Appends one RR owned by the qname (pointer 0xC00C) to an rrset.
void append_rr(rrset& set, const uint8_t* rdata, uint16_t rdlen, uint32_t ttl = endpoint_ttl) {
  uint8_t fixed[12];
  wire::put16(fixed, 0xc000 | wire::header_size);
  wire::put16(fixed + 2, set.rtype);
  wire::put16(fixed + 4, wire::klass::in);
  wire::put32(fixed + 6, ttl);
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

std::string_view parent(std::string_view wire_name) {
  return wire_name.substr(static_cast<uint8_t>(wire_name[0]) + 1);
}

std::string lowercase_wire(const std::vector<uint8_t>& rdata) {
  std::string out(rdata.begin(), rdata.end());
  for (std::size_t pos = 0; pos < out.size() && out[pos] != 0; pos += uint8_t(out[pos]) + 1)
    for (std::size_t i = pos + 1; i <= pos + uint8_t(out[pos]) && i < out.size(); ++i)
      if (out[i] >= 'A' && out[i] <= 'Z') out[i] = static_cast<char>(out[i] + 32);
  return out;
}

// Adds empty non-terminals between `owner` and the apex (RFC 4592 2.2.2:
// they exist, so they answer NODATA and block wildcards below the apex).
void add_ancestors(zone_info& z, std::string_view owner) {
  while (owner.size() > z.apex.size()) {
    owner = parent(owner);
    z.names.try_emplace(std::string(owner)).first->second.zone = &z;
  }
}

}  // namespace

// Builds local_data; a friend so it can fill the private tables.
class builder {
 public:
  explicit builder(local_data& d) : d_(d) {}

  zone_info& new_zone(const std::string& apex_text, const std::string& source) {
    auto z = std::make_unique<zone_info>();
    z->apex = wire_name(apex_text);
    z->apex_labels = count_labels(z->apex);
    z->apex_text = apex_text.ends_with('.') ? apex_text : apex_text + ".";
    z->source = source;
    z->names[z->apex].zone = z.get();
    d_.zones_.push_back(std::move(z));
    return *d_.zones_.back();
  }

  // The Route 53 SOA, for endpoint zones.
  zone_info& endpoint_zone(const std::string& apex_text, const std::string& source) {
    zone_info& z = new_zone(apex_text, source);
    auto rdata = wire::rdata_from_text("SOA", soa_text);
    if (!rdata) throw config::error("cannot render the SOA of " + apex_text);
    z.soa_rdata = std::move(*rdata);
    z.soa_ttl = std::min(soa_ttl, soa_minimum);
    z.why = "endpoint";
    return z;
  }

  void add_endpoint(const config::settings& s, const config::endpoint& e) {
    std::vector<const config::eni*> all;
    for (const auto& eni : e.enis) all.push_back(&eni);

    // Endpoint-specific names are public DNS in AWS: every view answers them.
    std::string vpce_zone = e.vpce_service + "." + e.region + ".vpce.amazonaws.com";
    const zone_info* vz = shared_vpce_zone(vpce_zone);
    std::string base = e.id + "-" + e.suffix;
    for (view::view_id v = 0; v < d_.views_.size(); ++v) {
      add_public(v, base + "." + vpce_zone, vz, address_rrsets(all));
      for (const auto& eni : e.enis)
        add_public(v, base + "-" + eni.az + "." + vpce_zone, vz, address_rrsets({&eni}));
    }

    if (!e.private_dns) return;
    view::view_id v = vpc_view(s, e.vpc);
    for (const auto& name : e.private_dns_names) {
      bool wildcard = name.starts_with("*.");
      std::string apex = wildcard ? name.substr(2) : name;
      zone_info* z = endpoint_zone_in(v, apex, e.id);
      node& n = z->names[wire_name(name)];
      n.zone = z;
      n.rrsets = address_rrsets(all);
      if (!wildcard) add_apex_records(*z, n);
    }
  }

  // SOA and NS at an endpoint zone's apex, so that asking for them gets them
  // rather than a NODATA that cites the very SOA it denies (RFC 2308 2.2).
  static void add_apex_records(const zone_info& z, node& apex) {
    if (apex.find(wire::type::soa)) return;
    rrset soa{wire::type::soa, 0, {}};
    append_rr(soa, z.soa_rdata.data(), static_cast<uint16_t>(z.soa_rdata.size()), soa_ttl);
    auto ns_rdata = wire::rdata_from_text("NS", ns_text);
    if (!ns_rdata) throw config::error("cannot render the NS of " + z.apex_text);
    rrset ns{wire::type::ns, 0, {}};
    append_rr(ns, ns_rdata->data(), static_cast<uint16_t>(ns_rdata->size()), ns_ttl);
    apex.rrsets.push_back(std::move(soa));
    apex.rrsets.push_back(std::move(ns));
  }

  void add_file_zone(const config::settings& s, const config::zone& cz, const zone_file& f) {
    zone_info& z = new_zone(f.apex_text, cz.file);
    z.soa_rdata = f.records.front().rdata;
    // RFC 2308 3: negative answers live min(SOA TTL, SOA MINIMUM).
    const auto& soa = z.soa_rdata;
    uint32_t minimum = soa.size() >= 4 ? wire::get32(soa.data() + soa.size() - 4) : 0;
    z.soa_ttl = std::min(f.records.front().ttl, minimum);
    for (const auto& r : f.records) add_record(z, r);
    for (const auto& vpc : cz.vpcs) {
      view::view_id v = vpc_view(s, vpc);
      auto [at, fresh] = d_.views_[v].zones.emplace(z.apex, &z);
      if (!fresh)
        throw config::error(cz.file + ": zone " + z.apex_text + " in vpc \"" + vpc +
                            "\" is also the private DNS zone of " + at->second->source +
                            "; a VPC takes one zone per name (turn that endpoint's " +
                            "private DNS off or drop the zone)");
    }
  }

  static view::view_id vpc_view(const config::settings& s, const std::string& name) {
    for (std::size_t i = 0; i < s.vpcs.size(); ++i)
      if (s.vpcs[i].name == name) return static_cast<view::view_id>(i + 1);
    throw config::error("refers to unknown vpc '" + name + "'");
  }

 private:
  const zone_info* shared_vpce_zone(const std::string& apex_text) {
    std::string apex = wire_name(apex_text);
    for (const auto& z : d_.zones_)
      if (z->apex == apex && z->source == "vpce") return z.get();
    return &endpoint_zone(apex_text, "vpce");
  }

  zone_info* endpoint_zone_in(view::view_id v, const std::string& apex_text,
                              const std::string& id) {
    auto& zones = d_.views_[v].zones;
    if (auto it = zones.find(wire_name(apex_text)); it != zones.end())
      return const_cast<zone_info*>(it->second);  // ours: built above, in this build
    zone_info& z = endpoint_zone(apex_text, "endpoint " + id);
    add_apex_records(z, z.names[z.apex]);
    zones.emplace(z.apex, &z);
    return &z;
  }

  void add_public(view::view_id v, const std::string& name_text, const zone_info* z,
                  std::vector<rrset> sets) {
    node& n = d_.views_[v].names[wire_name(name_text)];
    n.zone = z;
    n.rrsets = std::move(sets);
  }

  // TODO: RRsets keep each record's TTL; RFC 2181 5.2 wants one TTL per RRset,
  // so a file with differing TTLs is served as written; unify (minimum, with a
  // load warning) when zone_file reports warnings.
  void add_record(zone_info& z, const record& r) {
    node& n = z.names[r.owner];
    n.zone = &z;
    add_ancestors(z, r.owner);
    if (r.rtype == wire::type::ns && r.owner != z.apex) n.cut = true;
    if (r.rtype == wire::type::cname) n.cname_target = lowercase_wire(r.rdata);
    rrset* set = nullptr;
    for (auto& existing : n.rrsets)
      if (existing.rtype == r.rtype) set = &existing;
    if (!set) set = &n.rrsets.emplace_back(rrset{r.rtype, 0, {}});
    append_rr(*set, r.rdata.data(), static_cast<uint16_t>(r.rdata.size()), r.ttl);
  }

  local_data& d_;
};

std::shared_ptr<const local_data> local_data::build(const config::settings& s,
                                                    const std::vector<zone_file>& files) {
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
  if (files.size() != s.zones.size() && !files.empty())
    throw config::error("internal: zone files do not match the config's [[zone]] tables");
  for (std::size_t i = 0; i < files.size(); ++i) b.add_file_zone(s, s.zones[i], files[i]);
  return d;
}

std::size_t local_data::names_in(view::view_id v) const {
  std::size_t n = views_[v].names.size();
  for (const auto& [apex, z] : views_[v].zones) n += z->names.size();
  return n;
}

std::vector<const zone_info*> local_data::zones_in(view::view_id v) const {
  std::vector<const zone_info*> out;
  for (const auto& [apex, z] : views_[v].zones) out.push_back(z);
  std::sort(out.begin(), out.end(),
            [](const zone_info* a, const zone_info* b) { return a->apex_text < b->apex_text; });
  return out;
}

namespace {

match make(match::kind what, const rrset* data, const zone_info* z, const char* why) {
  match m;
  m.what = what;
  m.data = data;
  m.zone = z;
  m.why = why;
  return m;
}

match answer_from(const node& n, uint16_t qtype, const char* why) {
  const rrset* r = n.find(qtype);
  // RFC 1034 3.6.2: a CNAME answers every type but CNAME itself (which find() got).
  if (!r && !n.cname_target.empty()) r = n.find(wire::type::cname);
  // RFC 8482 4.1: answer ANY with one RRset rather than everything.
  if (!r && qtype == wire::type::any && !n.rrsets.empty()) r = &n.rrsets.front();
  if (!r) return make(match::kind::nodata, nullptr, n.zone, why);
  match m = make(match::kind::answer, r, n.zone, why);
  if (r->rtype == wire::type::cname && qtype != wire::type::cname && qtype != wire::type::any)
    m.next = n.cname_target;
  return m;
}

// Inside zone `z` (whose apex is lname.substr(apex_pos)): the exact node, a
// wildcard from the closest encloser (RFC 4592 3.3.1), or NXDOMAIN.
match find_in_zone(const zone_info& z, std::string_view lname, std::size_t apex_pos,
                   uint16_t qtype) {
  const node* encloser = nullptr;
  std::size_t encloser_pos = apex_pos;
  for (std::size_t pos = 0; pos < apex_pos; pos += static_cast<uint8_t>(lname[pos]) + 1) {
    auto it = z.names.find(lname.substr(pos));
    if (it == z.names.end()) continue;
    // A delegation at or above the name: forwarded (see resolver/zone/README.md).
    if (it->second.cut) return {};
    if (!encloser) encloser = &it->second, encloser_pos = pos;
  }
  if (encloser && encloser_pos == 0) return answer_from(*encloser, qtype, z.why);
  if (apex_pos == 0) return answer_from(z.names.find(z.apex)->second, qtype, z.why);

  char key[wire::max_name_wire + 2];
  std::string_view closest = lname.substr(encloser_pos);
  key[0] = 1;
  key[1] = '*';
  std::memcpy(key + 2, closest.data(), closest.size());
  if (auto w = z.names.find(std::string_view(key, closest.size() + 2)); w != z.names.end())
    return answer_from(w->second, qtype, "wildcard");
  return make(match::kind::nxdomain, nullptr, &z, z.why);
}

}  // namespace

match local_data::find(const view_tables& vt, std::string_view lname, uint16_t qtype) const {
  // The most specific zone enclosing the name wins, as in Route 53.
  if (!vt.zones.empty()) {
    for (std::size_t pos = 0;; pos += static_cast<uint8_t>(lname[pos]) + 1) {
      if (auto z = vt.zones.find(lname.substr(pos)); z != vt.zones.end())
        return find_in_zone(*z->second, lname, pos, qtype);
      if (pos >= lname.size() || lname[pos] == 0) break;
    }
  }
  if (auto it = vt.names.find(lname); it != vt.names.end())
    return answer_from(it->second, qtype, "vpce");
  return {};
}

match local_data::lookup(view::view_id view, std::string_view lname, uint16_t qtype) const {
  const view_tables& vt = views_[view];
  match m = find(vt, lname, qtype);
  // RFC 1034 4.3.2 step 3a: follow CNAMEs through our own data.
  while (!m.next.empty() && m.what == match::kind::answer) {
    std::string_view next = m.next;
    m.next = {};
    // A loop or a long chain: answer the links so far, each once.
    bool seen = next == lname;
    for (std::size_t i = 0; i < m.chain_len && !seen; ++i) seen = m.chain[i].owner == next;
    if (seen || m.chain_len == max_chain) break;
    match t = find(vt, next, qtype);
    switch (t.what) {
      case match::kind::none:
        m.what = match::kind::forward_target;
        m.target = next;
        break;
      case match::kind::answer:
        m.chain[m.chain_len++] = {next, t.data};
        m.next = t.next;
        break;
      default:  // nodata or nxdomain: the SOA is that of the target's zone
        m.what = t.what;
        m.zone = t.zone;
        break;
    }
  }
  return m;
}

namespace {

// Offset in the response of the zone apex inside the qname, for the SOA
// owner pointer (keeping the client's letter case), or 0 when the apex is not
// the qname's tail (the end of a CNAME chain in another zone).
uint16_t apex_offset(const wire::query& q, const zone_info& z) {
  if (q.labels < z.apex_labels) return 0;
  std::size_t pos = 0;
  for (unsigned skip = q.labels - z.apex_labels; skip > 0; --skip) pos += q.lname[pos] + 1;
  if (q.lower_name().substr(pos) != z.apex) return 0;
  return static_cast<uint16_t>(wire::header_size + pos);
}

std::span<const uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// The answer section: the RRset at the qname, then the CNAME chain.
void write_answers(wire::response_writer& w, const match& m) {
  using sec = wire::response_writer::section;
  if (m.data) w.add_raw(sec::answer, m.data->count, m.data->wire);
  for (uint8_t i = 0; i < m.chain_len; ++i)
    w.add_raw_owned(sec::answer, bytes(m.chain[i].owner), m.chain[i].data->count,
                    m.chain[i].data->wire);
}

}  // namespace

std::size_t write_local(const match& m, const wire::query& q, std::span<const uint8_t> pkt,
                        std::span<uint8_t> out, std::size_t limit, uint16_t our_udp_size) {
  using sec = wire::response_writer::section;
  wire::response_writer w(out, limit);
  auto rc = m.what == match::kind::nxdomain ? wire::rcode::nxdomain : wire::rcode::noerror;
  w.begin(q, pkt, rc, true);
  write_answers(w, m);
  bool negative = m.what == match::kind::nodata || m.what == match::kind::nxdomain;
  if (negative && m.zone) {
    // RFC 2308 3: the SOA of the zone that said no, with the negative TTL.
    if (uint16_t at = apex_offset(q, *m.zone))
      w.add_rr(sec::authority, at, wire::type::soa, m.zone->soa_ttl, m.zone->soa_rdata);
    else
      w.add_rr_owned(sec::authority, bytes(m.zone->apex), wire::type::soa, m.zone->soa_ttl,
                     m.zone->soa_rdata);
  }
  return w.finish(q, our_udp_size);
}

std::size_t write_chain_prefix(const match& m, const wire::query& q, std::span<const uint8_t> pkt,
                               std::span<uint8_t> out, uint16_t* answers) {
  wire::response_writer w(out, out.size());
  w.begin(q, pkt, wire::rcode::noerror, true);
  write_answers(w, m);
  *answers = w.count(wire::response_writer::section::answer);
  return w.size();
}

std::size_t write_error(wire::rcode rc, const wire::query& q, std::span<const uint8_t> pkt,
                        std::span<uint8_t> out, uint16_t our_udp_size) {
  wire::response_writer w(out, out.size());
  w.begin(q, pkt, rc, false);
  return w.finish(q, our_udp_size);
}

}  // namespace vpcedns::zone

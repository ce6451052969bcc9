// Test helpers: build queries and parse responses with ldns, an implementation
// independent of the code under test.
#pragma once

#include <ldns/ldns.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace vpcedns::test {

struct pkt_free {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using pkt_ptr = std::unique_ptr<ldns_pkt, pkt_free>;

struct query_opts {
  uint16_t id = 0x1234;
  bool rd = true;
  bool edns = false;
  uint16_t udp_size = 1232;
  bool do_bit = false;
};

inline std::vector<uint8_t> make_query(const std::string& name, ldns_rr_type type,
                                       query_opts o = {}, ldns_rr_class cls = LDNS_RR_CLASS_IN) {
  ldns_pkt* p = nullptr;
  ldns_pkt_query_new_frm_str(&p, name.c_str(), type, cls, o.rd ? LDNS_RD : 0);
  ldns_pkt_set_id(p, o.id);
  if (o.edns) {
    ldns_pkt_set_edns_udp_size(p, o.udp_size);
    ldns_pkt_set_edns_do(p, o.do_bit);
    // ldns only writes OPT when some EDNS field is non-default; udp size is enough.
  }
  uint8_t* wire = nullptr;
  size_t len = 0;
  ldns_pkt2wire(&wire, p, &len);
  std::vector<uint8_t> out(wire, wire + len);
  free(wire);
  ldns_pkt_free(p);
  return out;
}

inline pkt_ptr parse(const uint8_t* data, size_t len) {
  ldns_pkt* p = nullptr;
  if (ldns_wire2pkt(&p, data, len) != LDNS_STATUS_OK) return nullptr;
  return pkt_ptr(p);
}

// Sorted presentation-format rdata of every RR of `type` in a section list.
inline std::vector<std::string> rdata_of(ldns_rr_list* list, ldns_rr_type type) {
  std::vector<std::string> out;
  for (size_t i = 0; list && i < ldns_rr_list_rr_count(list); ++i) {
    ldns_rr* rr = ldns_rr_list_rr(list, i);
    if (ldns_rr_get_type(rr) != type) continue;
    char* s = ldns_rdf2str(ldns_rr_rdf(rr, 0));
    out.emplace_back(s);
    free(s);
  }
  std::sort(out.begin(), out.end());
  return out;
}

inline std::string owner_of(ldns_rr* rr) {
  char* s = ldns_rdf2str(ldns_rr_owner(rr));
  std::string out(s);
  free(s);
  return out;
}

}  // namespace vpcedns::test

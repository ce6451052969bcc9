// splice_chain(): a CNAME chain answered partly here, partly upstream. This is
// the forward path (one upstream round trip per query), so parsing the
// upstream answer with ldns, which allocates, is acceptable here.
#include "wire/message.hpp"

#include <ldns/ldns.h>

#include <memory>

namespace vpcedns::wire {

namespace {

struct pkt_free {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
struct buffer_free {
  void operator()(ldns_buffer* b) const { ldns_buffer_free(b); }
};

// Copies every RR of `list` into `s`, names uncompressed. False when full.
bool copy_rrs(response_writer& w, response_writer::section s, const ldns_rr_list* list) {
  std::unique_ptr<ldns_buffer, buffer_free> buf(ldns_buffer_new(512));
  for (std::size_t i = 0; i < ldns_rr_list_rr_count(list); ++i) {
    const ldns_rr* rr = ldns_rr_list_rr(list, i);
    if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_OPT) continue;
    ldns_buffer_clear(buf.get());
    if (ldns_rr_rdata2buffer_wire(buf.get(), rr) != LDNS_STATUS_OK) return false;
    const ldns_rdf* owner = ldns_rr_owner(rr);
    std::span<const uint8_t> name(ldns_rdf_data(owner), ldns_rdf_size(owner));
    std::span<const uint8_t> rdata(ldns_buffer_begin(buf.get()), ldns_buffer_position(buf.get()));
    if (!w.add_rr_owned(s, name, ldns_rr_get_type(rr), ldns_rr_ttl(rr), rdata)) return false;
  }
  return true;
}

}  // namespace

std::size_t splice_chain(std::span<uint8_t> out, std::span<const uint8_t> prefix,
                         uint16_t prefix_answers, std::span<const uint8_t> upstream, const query& q,
                         std::size_t limit, uint16_t our_udp_size) {
  if (prefix.size() < q.question_end || q.question_end == 0) return 0;
  ldns_pkt* raw = nullptr;
  if (ldns_wire2pkt(&raw, upstream.data(), upstream.size()) != LDNS_STATUS_OK) return 0;
  std::unique_ptr<ldns_pkt, pkt_free> pkt(raw);

  // RFC 6604 2.1: the rcode is that of the last name in the chain.
  auto rc = static_cast<rcode>(ldns_pkt_get_rcode(pkt.get()) & 0xf);
  bool aa = (get16(prefix.data() + 2) & flag::aa) != 0;
  response_writer w(out, limit);
  w.begin(q, prefix, rc, aa);
  using sec = response_writer::section;
  w.add_raw(sec::answer, prefix_answers, prefix.subspan(q.question_end));
  if (!copy_rrs(w, sec::answer, ldns_pkt_answer(pkt.get())) ||
      !copy_rrs(w, sec::authority, ldns_pkt_authority(pkt.get())))
    return 0;
  return w.finish(q, our_udp_size);
}

}  // namespace vpcedns::wire

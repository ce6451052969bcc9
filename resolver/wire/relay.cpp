// relay_upstream_answer(): an upstream's answer made fit for our client.
#include "wire/message.hpp"

#include <cstring>

namespace vpcedns::wire {

namespace {

// One pass over the records of a message: where each starts and ends.
struct rr_walk {
  std::span<const uint8_t> pkt;
  std::size_t pos;     // start of the next record
  unsigned index = 0;  // records passed so far
  unsigned counts[3];  // records per section, from the header

  unsigned total() const { return counts[0] + counts[1] + counts[2]; }
  int section() const { return index < counts[0] ? 0 : index < counts[0] + counts[1] ? 1 : 2; }
  // The record at `pos`: its owner end, type, class and end. False when it
  // runs past the end of the message.
  bool next(std::size_t& owner_end, std::size_t& end) const {
    owner_end = skip_name(pkt, pos);
    if (owner_end == 0 || owner_end + 10 > pkt.size()) return false;
    end = owner_end + 10 + get16(pkt.data() + owner_end + 8);
    return end <= pkt.size();
  }
};

rr_walk walk_from(std::span<const uint8_t> pkt, std::size_t pos) {
  const uint8_t* h = pkt.data();
  return {pkt, pos, 0, {get16(h + 6), get16(h + 8), get16(h + 10)}};
}

// What relay needs to know about the upstream's OPT.
struct upstream_opt {
  std::size_t start = 0;  // 0: none
  unsigned index = 0;     // records before it
  uint8_t ext_rcode = 0;
  std::array<uint8_t, 4 + max_ede_bytes> ede{};  // its EDE options, in option form
  std::size_t ede_len = 0;
};

// Copies the EDE options out of an OPT's RDATA (they are small and few).
void keep_ede(std::span<const uint8_t> rdata, upstream_opt& opt) {
  std::size_t pos = 0;
  while (pos + 4 <= rdata.size()) {
    uint16_t code = get16(rdata.data() + pos), len = get16(rdata.data() + pos + 2);
    if (pos + 4 + len > rdata.size()) return;
    if (code == edns_option_ede && opt.ede_len + 4 + len <= opt.ede.size()) {
      std::memcpy(opt.ede.data() + opt.ede_len, rdata.data() + pos, 4 + len);
      opt.ede_len += 4 + len;
    }
    pos += 4 + len;
  }
}

// Checks every record and finds the OPT. Returns the end of the last record,
// or 0 when a record runs past the end.
std::size_t scan(std::span<const uint8_t> pkt, std::size_t question_end, upstream_opt& opt) {
  rr_walk w = walk_from(pkt, question_end);
  for (; w.index < w.total(); ++w.index) {
    std::size_t owner_end, end;
    if (!w.next(owner_end, end)) return 0;
    const uint8_t* rr = pkt.data() + owner_end;
    if (get16(rr) == type::opt && w.section() == 2 && opt.start == 0) {
      opt.start = w.pos;
      opt.index = w.index;
      opt.ext_rcode = rr[4];
      keep_ede(pkt.subspan(owner_end + 10, end - owner_end - 10), opt);
    }
    w.pos = end;
  }
  return w.pos;
}

// Whether the record at `b` belongs to the same RRset as the one at `a`:
// same owner (ignoring case and compression), type and class.
bool same_rrset(std::span<const uint8_t> pkt, std::size_t a, std::size_t a_owner_end, std::size_t b,
                std::size_t b_owner_end) {
  if (std::memcmp(pkt.data() + a_owner_end, pkt.data() + b_owner_end, 4) != 0) return false;
  std::array<uint8_t, max_name_wire> na, nb;
  std::size_t la = read_name_lower(pkt, a, na), lb = read_name_lower(pkt, b, nb);
  return la != 0 && la == lb && std::memcmp(na.data(), nb.data(), la) == 0;
}

struct cut {
  std::size_t end;     // bytes kept
  unsigned counts[3];  // records kept per section
};

// The longest run of whole RRsets, from the first record, that ends within
// `budget` bytes. `records` is how many records to consider.
cut whole_rrsets(std::span<const uint8_t> pkt, std::size_t question_end, unsigned records,
                 std::size_t budget) {
  rr_walk w = walk_from(pkt, question_end);
  cut best{question_end, {0, 0, 0}};
  unsigned kept[3] = {0, 0, 0};
  std::size_t set_start = 0, set_owner_end = 0;
  int set_section = -1;
  for (; w.index < records; ++w.index) {
    std::size_t owner_end = 0, end = 0;
    if (!w.next(owner_end, end)) break;  // cannot happen: scan() checked every record
    int s = w.section();
    bool same = s == set_section && same_rrset(pkt, set_start, set_owner_end, w.pos, owner_end);
    if (!same) {
      // The previous RRset is complete here.
      if (w.pos > budget) return best;
      best = {w.pos, {kept[0], kept[1], kept[2]}};
      set_start = w.pos;
      set_owner_end = owner_end;
      set_section = s;
    }
    ++kept[s];
    w.pos = end;
  }
  if (w.pos <= budget) best = {w.pos, {kept[0], kept[1], kept[2]}};
  return best;
}

}  // namespace

std::size_t relay_upstream_answer(std::span<uint8_t> answer, std::size_t answer_len, const query& q,
                                  std::span<const uint8_t> client_pkt, std::size_t limit,
                                  uint16_t our_udp_size) {
  if (answer_len < header_size || answer_len > answer.size() || q.question_end == 0) return 0;
  uint8_t* h = answer.data();
  std::span<const uint8_t> pkt(h, answer_len);
  // A response (c-ares 1.18 does not check QR), whose question is the
  // client's, uncompressed, so offsets line up.
  if (!(h[2] & 0x80) || get16(h + 4) != 1 ||
      skip_name(pkt, header_size) != header_size + q.qname_len || answer_len < q.question_end)
    return 0;
  put16(h, q.id);
  // Restore the client's letter case (0x20 clients check it); c-ares already
  // matched the name case-insensitively.
  std::memcpy(h + header_size, client_pkt.data() + header_size, q.qname_len);

  upstream_opt opt;
  if (scan(pkt, q.question_end, opt) == 0) return 0;
  // Every record before the OPT (all of them when there is none).
  // TODO: records after a misplaced OPT are dropped; effect: a relayed answer
  // can lose additional records from an upstream that does not put OPT last;
  // closes when relay rewrites compression pointers past a removed OPT.
  unsigned records = opt.start ? opt.index : get16(h + 6) + get16(h + 8) + get16(h + 10);

  std::size_t opt_len = q.edns ? opt_fixed_size + opt.ede_len : 0;
  std::size_t room = std::min(limit, answer.size());
  cut c = whole_rrsets(pkt, q.question_end, records, room > opt_len ? room - opt_len : 0);
  bool all_answers = c.counts[0] == get16(h + 6) && c.counts[1] == get16(h + 8);
  if (!all_answers) put16(h + 2, get16(h + 2) | flag::tc);  // RFC 2181 9

  std::size_t len = c.end;
  unsigned additional = c.counts[2];
  if (q.edns) {
    len +=
        write_opt(h + len, our_udp_size, q.edns_do, opt.ext_rcode, {opt.ede.data(), opt.ede_len});
    ++additional;
  }
  put16(h + 6, static_cast<uint16_t>(c.counts[0]));
  put16(h + 8, static_cast<uint16_t>(c.counts[1]));
  put16(h + 10, static_cast<uint16_t>(additional));
  return len;
}

}  // namespace vpcedns::wire

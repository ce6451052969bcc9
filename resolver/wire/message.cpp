#include "wire/message.hpp"

#include <algorithm>
#include <cstring>

namespace vpcedns::wire {

const char* to_string(rcode r) {
  switch (r) {
    case rcode::noerror:
      return "NOERROR";
    case rcode::formerr:
      return "FORMERR";
    case rcode::servfail:
      return "SERVFAIL";
    case rcode::nxdomain:
      return "NXDOMAIN";
    case rcode::notimp:
      return "NOTIMP";
    case rcode::refused:
      return "REFUSED";
  }
  return "RCODE?";
}

uint16_t query::udp_limit(uint16_t our_max) const {
  if (!edns) return classic_udp_limit;
  // RFC 6891 6.2.5: values below 512 are treated as 512.
  uint16_t theirs = std::max<uint16_t>(edns_udp_size, classic_udp_limit);
  return std::min(theirs, our_max);
}

std::size_t skip_name(std::span<const uint8_t> pkt, std::size_t pos) {
  std::size_t total = 0;
  while (pos < pkt.size()) {
    uint8_t len = pkt[pos];
    if ((len & 0xc0) == 0xc0) return pos + 2 <= pkt.size() ? pos + 2 : 0;
    if (len & 0xc0) return 0;  // 0x40 / 0x80: extended label types, obsolete
    total += len + 1;
    if (total > max_name_wire) return 0;
    if (len == 0) return pos + 1;
    pos += len + 1;
  }
  return 0;
}

std::size_t read_name_lower(std::span<const uint8_t> pkt, std::size_t pos,
                            std::array<uint8_t, max_name_wire>& out) {
  std::size_t len = 0;
  std::size_t limit = pos;  // a pointer must point before every position read so far
  for (;;) {
    if (pos >= pkt.size()) return 0;
    uint8_t l = pkt[pos];
    if ((l & 0xc0) == 0xc0) {
      if (pos + 1 >= pkt.size()) return 0;
      std::size_t target = (std::size_t(l & 0x3f) << 8) | pkt[pos + 1];
      if (target >= limit) return 0;  // forward or self pointer: could loop
      pos = limit = target;
      continue;
    }
    if (l > max_label || pos + 1 + l > pkt.size() || len + 1 + l > max_name_wire) return 0;
    out[len++] = l;
    for (std::size_t i = 1; i <= l; ++i) {
      uint8_t c = pkt[pos + i];
      out[len++] = (c >= 'A' && c <= 'Z') ? c + 32 : c;
    }
    if (l == 0) return len;
    pos += l + 1;
  }
}

namespace {

// Reads the uncompressed qname at offset 12 into q (lowercased copy too).
// A compression pointer in the question of a query is malformed: there is
// nothing earlier in the message for it to point to but the header.
bool read_qname(std::span<const uint8_t> pkt, query& q) {
  std::size_t pos = header_size;
  uint8_t labels = 0;
  for (;;) {
    if (pos >= pkt.size()) return false;
    uint8_t len = pkt[pos];
    if (len > max_label) return false;  // also rejects pointers and 0x40/0x80 types
    std::size_t next = pos + 1 + len;
    if (next - header_size > max_name_wire || next > pkt.size()) return false;
    uint8_t* dst = q.lname.data() + (pos - header_size);
    dst[0] = len;
    for (std::size_t i = 1; i <= len; ++i) {
      uint8_t c = pkt[pos + i];
      dst[i] = (c >= 'A' && c <= 'Z') ? c + 32 : c;
    }
    pos = next;
    if (len == 0) break;
    ++labels;
  }
  q.qname_len = static_cast<uint16_t>(pos - header_size);
  q.labels = labels;
  return true;
}

// Walks the answer, authority and additional sections looking for OPT.
// Returns formerr for RRs that run past the end or for more than one OPT
// (RFC 6891 6.1.1), badvers for an EDNS version we do not speak.
parse_status read_edns(std::span<const uint8_t> pkt, std::size_t pos, query& q) {
  const uint8_t* h = pkt.data();
  unsigned an = get16(h + 6), ns = get16(h + 8), ar = get16(h + 10);
  unsigned total = an + ns + ar;
  for (unsigned i = 0; i < total; ++i) {
    std::size_t after_name = skip_name(pkt, pos);
    if (after_name == 0 || after_name + 10 > pkt.size()) return parse_status::formerr;
    const uint8_t* rr = pkt.data() + after_name;
    uint16_t rtype = get16(rr), rdlen = get16(rr + 8);
    std::size_t end = after_name + 10 + rdlen;
    if (end > pkt.size()) return parse_status::formerr;
    if (rtype == type::opt) {
      // OPT must be in the additional section, owned by the root, and alone.
      if (i < an + ns || q.edns || after_name != pos + 1 || pkt[pos] != 0)
        return parse_status::formerr;
      q.edns = true;
      q.edns_udp_size = get16(rr + 2);
      q.edns_version = rr[5];
      q.edns_do = (rr[6] & 0x80) != 0;
    }
    pos = end;
  }
  if (q.edns && q.edns_version > 0) return parse_status::badvers;
  return parse_status::ok;
}

}  // namespace

namespace {

// An error answer to an EDNS query carries an OPT too (RFC 6891 6.1.1, 7), so
// look for one past however many questions the header claims. Best effort:
// when the message cannot be walked, the error goes out without OPT.
void note_edns_of_error(std::span<const uint8_t> pkt, query& q) {
  std::size_t pos = header_size;
  for (unsigned i = get16(pkt.data() + 4); i > 0; --i) {
    pos = skip_name(pkt, pos);
    if (pos == 0 || pos + 4 > pkt.size()) return;
    pos += 4;
  }
  query scratch = q;
  if (read_edns(pkt, pos, scratch) == parse_status::formerr) return;
  q.edns = scratch.edns;
  q.edns_udp_size = scratch.edns_udp_size;
  q.edns_version = 0;  // an error answer uses version 0, whatever was asked
  q.edns_do = scratch.edns_do;
}

}  // namespace

parse_status parse_query(std::span<const uint8_t> pkt, query& q) {
  if (pkt.size() < header_size) return parse_status::drop;
  const uint8_t* h = pkt.data();
  q.id = get16(h);
  q.flags = get16(h + 2);
  q.question_end = 0;
  q.edns = false;
  // Never answer a response: two servers could bounce FORMERRs forever.
  if (q.flags & flag::qr) return parse_status::drop;

  uint16_t qdcount = get16(h + 4);
  if (qdcount == 1 && read_qname(pkt, q)) {
    std::size_t pos = header_size + q.qname_len;
    if (pos + 4 <= pkt.size()) {
      q.qtype = get16(h + pos);
      q.qclass = get16(h + pos + 2);
      q.question_end = static_cast<uint16_t>(pos + 4);
    }
  }

  unsigned opcode = (q.flags >> 11) & 0xf;
  if (opcode != 0) {
    note_edns_of_error(pkt, q);
    return parse_status::notimp;
  }
  if (qdcount != 1 || q.question_end == 0) {
    note_edns_of_error(pkt, q);
    q.question_end = 0;
    return parse_status::formerr;
  }
  return read_edns(pkt, q.question_end, q);
}

std::string name_to_text(std::span<const uint8_t> name) {
  std::string out;
  std::size_t pos = 0;
  while (pos < name.size() && name[pos] != 0) {
    uint8_t len = name[pos];
    if (pos + 1 + len > name.size()) break;
    for (std::size_t i = 1; i <= len; ++i) {
      uint8_t c = name[pos + i];
      if (c == '.' || c == '\\' || c == '"' || c == ';' || c == '(' || c == ')' || c == '@' ||
          c == '$') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c <= 0x20 || c >= 0x7f) {
        char esc[5];
        std::snprintf(esc, sizeof esc, "\\%03u", c);
        out += esc;
      } else {
        out += static_cast<char>(c);
      }
    }
    out += '.';
    pos += len + 1;
  }
  return out.empty() ? "." : out;
}

// ---------------------------------------------------------------- writer ---

void response_writer::begin(const query& q, std::span<const uint8_t> pkt, rcode rc, bool aa) {
  uint8_t* h = buf_.data();
  put16(h, q.id);
  // Keep OPCODE, RD and CD from the query (RFC 1035 4.1.1, RFC 4035 3.2.2).
  uint16_t f = (q.flags & (0x7800 | flag::rd | flag::cd)) | flag::qr | flag::ra;
  if (aa) f |= flag::aa;
  f |= static_cast<uint16_t>(rc) & 0xf;
  put16(h + 2, f);
  len_ = header_size;
  if (q.question_end != 0) {
    std::memcpy(h + header_size, pkt.data() + header_size, q.question_end - header_size);
    len_ = q.question_end;
  }
  put16(h + 4, q.question_end != 0 ? 1 : 0);
  question_end_ = len_;
  counts_[0] = counts_[1] = counts_[2] = 0;
  ext_rcode_ = 0;
  has_ede_ = false;
}

void response_writer::bump(section s, uint16_t n) {
  counts_[static_cast<int>(s)] += n;
}

bool response_writer::add_rr(section s, uint16_t owner_offset, uint16_t rtype, uint32_t ttl,
                             std::span<const uint8_t> rdata, uint16_t rclass) {
  std::size_t n = 12 + rdata.size();
  if (!room(n) || rdata.size() > 0xffff) return false;
  uint8_t* p = buf_.data() + len_;
  put16(p, 0xc000 | owner_offset);
  put16(p + 2, rtype);
  put16(p + 4, rclass);
  put32(p + 6, ttl);
  put16(p + 10, static_cast<uint16_t>(rdata.size()));
  if (!rdata.empty()) std::memcpy(p + 12, rdata.data(), rdata.size());
  len_ += n;
  bump(s, 1);
  return true;
}

bool response_writer::add_raw(section s, uint16_t count, std::span<const uint8_t> rrs) {
  if (!room(rrs.size())) return false;
  if (!rrs.empty()) std::memcpy(buf_.data() + len_, rrs.data(), rrs.size());
  len_ += rrs.size();
  bump(s, count);
  return true;
}

bool response_writer::add_raw_owned(section s, std::span<const uint8_t> owner, uint16_t count,
                                    std::span<const uint8_t> rrs) {
  std::size_t pos = 0, start = len_;
  uint16_t pointer = 0;  // to the owner once written, if it can be pointed to
  for (uint16_t i = 0; i < count; ++i) {
    if (pos + 12 > rrs.size()) break;
    std::size_t rr_len = 12 + get16(rrs.data() + pos + 10);
    std::size_t name_len = pointer ? 2 : owner.size();
    if (!room(name_len + rr_len - 2)) return len_ = start, false;
    uint8_t* p = buf_.data() + len_;
    if (pointer) {
      put16(p, pointer);
    } else {
      std::memcpy(p, owner.data(), owner.size());
      if (len_ < 0x4000) pointer = static_cast<uint16_t>(0xc000 | len_);
    }
    std::memcpy(p + name_len, rrs.data() + pos + 2, rr_len - 2);
    len_ += name_len + rr_len - 2;
    pos += rr_len;
  }
  bump(s, count);
  return true;
}

bool response_writer::add_rr_owned(section s, std::span<const uint8_t> owner, uint16_t rtype,
                                   uint32_t ttl, std::span<const uint8_t> rdata) {
  std::size_t n = owner.size() + 10 + rdata.size();
  if (!room(n) || rdata.size() > 0xffff) return false;
  uint8_t* p = buf_.data() + len_;
  std::memcpy(p, owner.data(), owner.size());
  p += owner.size();
  put16(p, rtype);
  put16(p + 2, klass::in);
  put32(p + 4, ttl);
  put16(p + 8, static_cast<uint16_t>(rdata.size()));
  if (!rdata.empty()) std::memcpy(p + 10, rdata.data(), rdata.size());
  len_ += n;
  bump(s, 1);
  return true;
}

std::size_t write_opt(uint8_t* p, uint16_t udp_size, bool do_bit, uint8_t ext_rcode,
                      std::span<const uint8_t> options) {
  p[0] = 0;  // root owner
  put16(p + 1, type::opt);
  put16(p + 3, udp_size);
  p[5] = ext_rcode;
  p[6] = 0;  // version
  put16(p + 7, do_bit ? 0x8000 : 0);
  put16(p + 9, static_cast<uint16_t>(options.size()));
  if (!options.empty()) std::memcpy(p + opt_fixed_size, options.data(), options.size());
  return opt_fixed_size + options.size();
}

std::size_t response_writer::finish(const query& q, uint16_t our_udp_size) {
  uint8_t* h = buf_.data();
  // EDE option: code 15, length, info-code, UTF-8 text (RFC 8914 2).
  std::array<uint8_t, 4 + max_ede_bytes> ede{};
  std::size_t ede_len = 0;
  if (q.edns && has_ede_) {
    put16(ede.data(), edns_option_ede);
    put16(ede.data() + 2, static_cast<uint16_t>(2 + ede_text_.size()));
    put16(ede.data() + 4, ede_code_);
    std::memcpy(ede.data() + 6, ede_text_.data(), ede_text_.size());
    ede_len = 6 + ede_text_.size();
  }
  std::size_t extra = q.edns ? opt_fixed_size + ede_len : 0;
  if (len_ + extra > limit_ || len_ + extra > buf_.size()) {
    // Too large: RFC 2181 9 says a partial RRset must not be used as if whole.
    // Local answers hold one RRset, so "every whole RRset that fits" is none:
    // the client retries over TCP.
    len_ = question_end_;
    counts_[0] = counts_[1] = counts_[2] = 0;
    put16(h + 2, get16(h + 2) | flag::tc);
  }
  if (q.edns) {
    len_ += write_opt(h + len_, our_udp_size, q.edns_do, ext_rcode_, {ede.data(), ede_len});
    ++counts_[2];
  }
  put16(h + 6, counts_[0]);
  put16(h + 8, counts_[1]);
  put16(h + 10, counts_[2]);
  return len_;
}

std::size_t write_query(std::span<uint8_t> out, std::span<const uint8_t> name, uint16_t qtype,
                        bool edns, bool do_bit, uint16_t udp_size) {
  std::size_t len = header_size + name.size() + 4 + (edns ? 11 : 0);
  if (len > out.size()) return 0;
  uint8_t* h = out.data();
  std::memset(h, 0, header_size);
  put16(h + 2, flag::rd);
  put16(h + 4, 1);
  put16(h + 10, edns ? 1 : 0);
  std::memcpy(h + header_size, name.data(), name.size());
  uint8_t* p = h + header_size + name.size();
  put16(p, qtype);
  put16(p + 2, klass::in);
  if (edns) write_opt(p + 4, udp_size, do_bit, 0);
  return len;
}

}  // namespace vpcedns::wire

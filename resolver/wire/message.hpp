// DNS message parsing and writing for the hot path.
//
// Every byte here comes from the network and is hostile: every count and
// length is checked against the bytes that remain. Pure code: no sockets.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace vpcedns::wire {

inline constexpr std::size_t header_size = 12;
inline constexpr std::size_t max_name_wire = 255;  // RFC 1035 2.3.4
inline constexpr std::size_t max_label = 63;
inline constexpr std::size_t max_message = 65535;   // TCP length field
inline constexpr uint16_t classic_udp_limit = 512;  // RFC 1035 4.2.1, no EDNS
inline constexpr uint16_t badvers = 16;             // extended rcode, RFC 6891
inline constexpr std::size_t opt_fixed_size = 11;   // OPT RR without options
inline constexpr uint16_t edns_option_ede = 15;     // Extended DNS Error, RFC 8914
// Longest EDE payload (code + text) we write or copy from an upstream; more is dropped.
inline constexpr std::size_t max_ede_bytes = 256;

// Extended DNS Error info-codes we use (RFC 8914 4).
namespace ede {
inline constexpr uint16_t other = 0, prohibited = 18, no_reachable_authority = 22,
                          network_error = 23;
}

namespace type {
inline constexpr uint16_t a = 1, ns = 2, cname = 5, soa = 6, ptr = 12, hinfo = 13, mx = 15,
                          txt = 16, aaaa = 28, srv = 33, opt = 41, ixfr = 251, axfr = 252,
                          any = 255;
}
namespace klass {
inline constexpr uint16_t in = 1, chaos = 3, any = 255;
}

enum class rcode : uint8_t {
  noerror = 0,
  formerr = 1,
  servfail = 2,
  nxdomain = 3,
  notimp = 4,
  refused = 5,
};
const char* to_string(rcode r);

// Header flag bits in the second 16-bit word.
namespace flag {
inline constexpr uint16_t qr = 0x8000, aa = 0x0400, tc = 0x0200, rd = 0x0100, ra = 0x0080,
                          ad = 0x0020, cd = 0x0010;
}

// What parse_query found wrong, and so what the caller should do.
enum class parse_status {
  ok,
  drop,     // not worth an answer: shorter than a header, or a response (QR=1)
  formerr,  // header readable but the message is malformed: answer FORMERR
  notimp,   // opcode other than QUERY: answer NOTIMP
  badvers,  // EDNS version > 0: answer BADVERS (RFC 6891 6.1.3)
};

// A client query, parsed. The question stays in the packet at offset 12 in the
// client's letter case; `lname` holds it lowercased for lookups.
struct query {
  uint16_t id = 0;
  uint16_t flags = 0;  // second header word as received
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  uint16_t qname_len = 0;                      // wire length of the qname, root label included
  uint16_t question_end = 0;                   // offset just past QTYPE/QCLASS
  uint8_t labels = 0;                          // number of labels, root excluded
  std::array<uint8_t, max_name_wire> lname{};  // lowercased wire qname

  // EDNS (RFC 6891): present when the query had an OPT record.
  bool edns = false;
  uint16_t edns_udp_size = 0;  // as the client advertised it
  uint8_t edns_version = 0;
  bool edns_do = false;

  std::string_view lower_name() const {
    return {reinterpret_cast<const char*>(lname.data()), qname_len};
  }
  // Largest UDP answer this client accepts, capped by our own limit.
  uint16_t udp_limit(uint16_t our_max) const;
};

// Parses a query. On formerr/notimp/badvers the fields needed to answer
// (id, flags, and the question if it was readable) are still filled in;
// question_end is 0 when the question could not be read.
parse_status parse_query(std::span<const uint8_t> pkt, query& out);

// Offset of the first byte after the name at `pos` (compression pointers
// allowed, not followed), or 0 when the name runs past the end or is invalid.
std::size_t skip_name(std::span<const uint8_t> pkt, std::size_t pos);

// Expands the (possibly compressed) name at `pos` into `out`, lowercased, in
// uncompressed wire form. Pointers must point strictly backwards (RFC 1035
// 4.1.4 "prior occurrence"), which also rules out loops. Returns the length
// written, or 0 when the name is invalid or runs past the end.
std::size_t read_name_lower(std::span<const uint8_t> pkt, std::size_t pos,
                            std::array<uint8_t, max_name_wire>& out);

// Text form of an uncompressed wire name, with escapes (RFC 4343), ending in '.'.
std::string name_to_text(std::span<const uint8_t> wire_name);

inline uint16_t get16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
inline uint32_t get32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}
inline void put16(uint8_t* p, uint16_t v) {
  p[0] = v >> 8;
  p[1] = v & 0xff;
}
inline void put32(uint8_t* p, uint32_t v) {
  p[0] = v >> 24;
  p[1] = (v >> 16) & 0xff;
  p[2] = (v >> 8) & 0xff;
  p[3] = v & 0xff;
}

// Builds a response into a caller-owned buffer; never allocates.
//
// Usage: begin(), then add RRs section by section (answer, authority,
// additional), then finish(). If the message would exceed `limit`, finish()
// truncates it per RFC 2181 9 / RFC 1035: TC set, every RR removed, question
// and OPT kept, so the client retries over TCP.
class response_writer {
 public:
  response_writer(std::span<uint8_t> buf, std::size_t limit) : buf_(buf), limit_(limit) {}

  // Header from the query (ID, opcode, RD, CD copied; QR and RA set) and the
  // question copied from the client's packet (its letter case preserved).
  // With question_end == 0 (unreadable question), QDCOUNT is 0.
  void begin(const query& q, std::span<const uint8_t> pkt, rcode rc, bool aa);
  // For extended rcodes (RFC 6891 6.1.3, e.g. BADVERS = 16): the upper 8 bits
  // go into the OPT record written by finish().
  void set_extended_rcode(uint16_t ext) { ext_rcode_ = static_cast<uint8_t>(ext >> 4); }
  // Adds an Extended DNS Error option (RFC 8914) to the OPT that finish()
  // writes; nothing when the query had no EDNS. `text` is cut to fit
  // max_ede_bytes; it must stay valid until finish().
  void set_ede(uint16_t info_code, std::string_view text) {
    ede_code_ = info_code;
    ede_text_ = text.substr(0, std::min(text.size(), max_ede_bytes - 2));
    has_ede_ = true;
  }

  enum class section { answer, authority, additional };
  // Appends one RR whose owner is a compression pointer to `owner_offset`
  // (12 = the qname) and whose RDATA is `rdata` verbatim, of class `rclass`.
  // Returns false (writing nothing) when the buffer is full.
  bool add_rr(section s, uint16_t owner_offset, uint16_t rtype, uint32_t ttl,
              std::span<const uint8_t> rdata, uint16_t rclass = klass::in);
  // Appends pre-rendered RRs (already in wire form) counted as `count` records.
  bool add_raw(section s, uint16_t count, std::span<const uint8_t> rrs);
  // Appends pre-rendered RRs whose owners are the pointer 0xC00C, re-owned by
  // `owner` (an uncompressed wire name): written once, then pointed to.
  bool add_raw_owned(section s, std::span<const uint8_t> owner, uint16_t count,
                     std::span<const uint8_t> rrs);
  // As add_rr, with `owner` written out (uncompressed wire name).
  bool add_rr_owned(section s, std::span<const uint8_t> owner, uint16_t rtype, uint32_t ttl,
                    std::span<const uint8_t> rdata);
  // The size so far (before finish()), and the RRs counted in a section.
  std::size_t size() const { return len_; }
  uint16_t count(section s) const { return counts_[static_cast<int>(s)]; }

  // Adds our OPT record when the query had one (RFC 6891 6.1.1: DO copied,
  // our payload size advertised), applies truncation, and returns the size.
  std::size_t finish(const query& q, uint16_t our_udp_size);

  uint8_t* data() { return buf_.data(); }

 private:
  bool room(std::size_t n) const { return len_ + n <= buf_.size(); }
  void bump(section s, uint16_t n);

  std::span<uint8_t> buf_;
  std::size_t limit_;
  std::size_t len_ = 0;
  std::size_t question_end_ = 0;
  uint16_t counts_[3] = {0, 0, 0};
  uint8_t ext_rcode_ = 0;
  bool has_ede_ = false;
  uint16_t ede_code_ = 0;
  std::string_view ede_text_;
};

// Makes an upstream answer fit for the client, in place:
// - the client's ID and question bytes (its letter case, for 0x20) restored;
//   flags, rcode, TTLs and every other record relayed unchanged;
// - the upstream's OPT replaced by ours (RFC 6891 6.1.1: EDNS is hop by hop):
//   our `our_udp_size`, the client's DO bit, the upstream's extended rcode
//   bits and its Extended DNS Error options kept (they say why it failed),
//   every other option dropped. No OPT when the client sent none. Records
//   after a misplaced (not last) OPT are dropped as extra data;
// - over `limit` (the client's UDP size, or 65535 over TCP): cut after the
//   last whole RRset that fits (RFC 2181 9). TC is set when answer or
//   authority records had to go; dropping only additional records sets no TC.
// Returns the new size, or 0 when the answer is unusable: shorter than a
// header, QR not set, records running past the end, or a question other than one
// uncompressed name of the client's length (c-ares checked the name itself).
// `answer` must be at least answer_len + max_ede_bytes + 11 bytes, or 65535.
std::size_t relay_upstream_answer(std::span<uint8_t> answer, std::size_t answer_len, const query& q,
                                  std::span<const uint8_t> client_pkt, std::size_t limit,
                                  uint16_t our_udp_size);

// Writes an OPT RR at `p` (RFC 6891 6.1.2) with `options` as its RDATA
// (already in option wire form). Returns its size (11 + options).
std::size_t write_opt(uint8_t* p, uint16_t udp_size, bool do_bit, uint8_t ext_rcode,
                      std::span<const uint8_t> options = {});

// Writes a query for `name` (uncompressed wire) / `qtype` / IN with RD set,
// and an OPT record (our UDP size, DO copied) when `edns`. ID 0: the
// forwarder sets its own. Returns the size, 0 when `out` is too small.
std::size_t write_query(std::span<uint8_t> out, std::span<const uint8_t> name, uint16_t qtype,
                        bool edns, bool do_bit, uint16_t udp_size);

// Completes a CNAME chain whose end was forwarded: `prefix` is a response
// begun for the client (header, question, `prefix_answers` answer RRs, no
// OPT), `upstream` the upstream's answer to the query for the chain's target.
// Writes into `out` the client's response: the prefix, then the upstream's
// answer and authority records (names decompressed), its rcode (RFC 6604),
// AA as in the prefix, OPT when the client used EDNS, truncated to `limit`.
// Returns the size, or 0 when the upstream answer cannot be parsed.
std::size_t splice_chain(std::span<uint8_t> out, std::span<const uint8_t> prefix,
                         uint16_t prefix_answers, std::span<const uint8_t> upstream, const query& q,
                         std::size_t limit, uint16_t our_udp_size);

}  // namespace vpcedns::wire

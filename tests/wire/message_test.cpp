#include "support/dns.hpp"
#include "wire/message.hpp"

#include <doctest/doctest.h>

#include <array>

using namespace vpcedns;
using vpcedns::test::make_query;
using vpcedns::test::parse;

namespace {

std::vector<uint8_t> raw(std::initializer_list<int> bytes) {
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

// header: id 0xabcd, flags, counts
std::vector<uint8_t> header(uint16_t flags, uint16_t qd, uint16_t an = 0, uint16_t ns = 0,
                            uint16_t ar = 0) {
  return raw({0xab, 0xcd, flags >> 8, flags & 0xff, qd >> 8, qd & 0xff, an >> 8, an & 0xff, ns >> 8,
              ns & 0xff, ar >> 8, ar & 0xff});
}

void append(std::vector<uint8_t>& v, std::initializer_list<int> bytes) {
  v.insert(v.end(), bytes.begin(), bytes.end());
}

}  // namespace

TEST_CASE("parse_query: a plain query yields id, question and lowercased name") {
  // Mixed-case qname: the lookup key is lowercase, the packet keeps the case.
  auto pkt = make_query("SqS.Us-East-1.AmazonAWS.com.", LDNS_RR_TYPE_A);
  wire::query q;
  REQUIRE(wire::parse_query(pkt, q) == wire::parse_status::ok);
  CHECK(q.id == 0x1234);
  CHECK(q.qtype == wire::type::a);
  CHECK(q.qclass == wire::klass::in);
  CHECK(q.labels == 4);
  CHECK(q.qname_len == 29);
  CHECK(q.question_end == 12 + 29 + 4);
  CHECK(q.lower_name() == std::string_view("\x03sqs\x09us-east-1\x09"
                                           "amazonaws\x03"
                                           "com\x00",
                                           29));
  CHECK(!q.edns);
  CHECK(pkt[13] == 'S');
}

TEST_CASE("parse_query: EDNS OPT is found with its size, version and DO bit") {
  // ldns writes an OPT in the additional section.
  auto pkt =
      make_query("example.com.", LDNS_RR_TYPE_A, {.edns = true, .udp_size = 4096, .do_bit = true});
  wire::query q;
  REQUIRE(wire::parse_query(pkt, q) == wire::parse_status::ok);
  CHECK(q.edns);
  CHECK(q.edns_udp_size == 4096);
  CHECK(q.edns_do);
  CHECK(q.udp_limit(1232) == 1232);
  CHECK(q.udp_limit(8192) == 4096);
}

TEST_CASE("parse_query: without EDNS the UDP limit is 512; tiny EDNS sizes count as 512") {
  wire::query q;
  CHECK(q.udp_limit(1232) == 512);
  q.edns = true;
  q.edns_udp_size = 100;
  CHECK(q.udp_limit(1232) == 512);
}

TEST_CASE("parse_query: malformed input is dropped or FORMERR, never read past the end") {
  wire::query q;
  // Shorter than a header: nothing to answer with.
  CHECK(wire::parse_query(raw({1, 2, 3}), q) == wire::parse_status::drop);
  // A response (QR=1) is never answered.
  auto resp = header(0x8000, 1);
  append(resp, {0, 0, 1, 0, 1});
  CHECK(wire::parse_query(resp, q) == wire::parse_status::drop);
  // QDCOUNT 0 and 2 are FORMERR.
  CHECK(wire::parse_query(header(0x0100, 0), q) == wire::parse_status::formerr);
  auto two = header(0x0100, 2);
  append(two, {0, 0, 1, 0, 1, 0, 0, 1, 0, 1});
  CHECK(wire::parse_query(two, q) == wire::parse_status::formerr);
  // A label that runs past the end.
  auto cut = header(0x0100, 1);
  append(cut, {5, 'a', 'b'});
  CHECK(wire::parse_query(cut, q) == wire::parse_status::formerr);
  // A compression pointer in the question (here pointing at itself: a loop).
  auto ptr = header(0x0100, 1);
  append(ptr, {0xc0, 12, 0, 1, 0, 1});
  CHECK(wire::parse_query(ptr, q) == wire::parse_status::formerr);
  // Question without QTYPE/QCLASS.
  auto noq = header(0x0100, 1);
  append(noq, {0, 0, 1});
  CHECK(wire::parse_query(noq, q) == wire::parse_status::formerr);
  // ARCOUNT says 1 but there is no record.
  auto lie = header(0x0100, 1, 0, 0, 1);
  append(lie, {0, 0, 1, 0, 1});
  CHECK(wire::parse_query(lie, q) == wire::parse_status::formerr);
  // Two OPT records (RFC 6891 6.1.1).
  auto opt2 = header(0x0100, 1, 0, 0, 2);
  append(opt2, {0, 0, 1, 0, 1});
  for (int i = 0; i < 2; ++i) append(opt2, {0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0});
  CHECK(wire::parse_query(opt2, q) == wire::parse_status::formerr);
}

TEST_CASE("parse_query: label and name length limits") {
  wire::query q;
  // A 64-octet label is not a label (RFC 1035 2.3.4).
  auto long_label = header(0x0100, 1);
  long_label.push_back(64);
  long_label.insert(long_label.end(), 64, 'a');
  append(long_label, {0, 0, 1, 0, 1});
  CHECK(wire::parse_query(long_label, q) == wire::parse_status::formerr);
  // 255 octets is the longest name: 4 labels of 63 + root = 4*64+1 = 257 > 255.
  auto too_long = header(0x0100, 1);
  for (int i = 0; i < 4; ++i) {
    too_long.push_back(63);
    too_long.insert(too_long.end(), 63, 'a');
  }
  append(too_long, {0, 0, 1, 0, 1});
  CHECK(wire::parse_query(too_long, q) == wire::parse_status::formerr);
  // 3 labels of 63 + one of 61 + root = 255: accepted.
  auto max = header(0x0100, 1);
  for (int i = 0; i < 3; ++i) {
    max.push_back(63);
    max.insert(max.end(), 63, 'a');
  }
  max.push_back(61);
  max.insert(max.end(), 61, 'b');
  append(max, {0, 0, 1, 0, 1});
  CHECK(wire::parse_query(max, q) == wire::parse_status::ok);
  CHECK(q.qname_len == 255);
  // The root name.
  auto root = header(0x0100, 1);
  append(root, {0, 0, 2, 0, 1});
  REQUIRE(wire::parse_query(root, q) == wire::parse_status::ok);
  CHECK(q.labels == 0);
  CHECK(wire::name_to_text({q.lname.data(), q.qname_len}) == ".");
}

TEST_CASE("parse_query: other opcodes are NOTIMP, EDNS version 1 is BADVERS") {
  wire::query q;
  auto notify = header(0x2000 /* opcode 4 */, 1);
  append(notify, {0, 0, 6, 0, 1});
  CHECK(wire::parse_query(notify, q) == wire::parse_status::notimp);
  CHECK(q.question_end != 0);  // the question is still echoed
  auto v1 = header(0x0100, 1, 0, 0, 1);
  append(v1, {0, 0, 1, 0, 1});
  append(v1, {0, 0, 41, 0x04, 0xd0, 0, 1 /* version */, 0, 0, 0, 0});
  CHECK(wire::parse_query(v1, q) == wire::parse_status::badvers);
}

TEST_CASE("response_writer: header, question echo, records and OPT, parsed back by ldns") {
  // A query with EDNS and DO gets an answer with our OPT and DO copied.
  auto pkt = make_query("Example.COM.", LDNS_RR_TYPE_A, {.id = 777, .edns = true, .do_bit = true});
  wire::query q;
  REQUIRE(wire::parse_query(pkt, q) == wire::parse_status::ok);
  std::array<uint8_t, 1024> buf;
  wire::response_writer w(buf, 512);
  w.begin(q, pkt, wire::rcode::noerror, true);
  const uint8_t a[] = {10, 0, 1, 10};
  REQUIRE(w.add_rr(wire::response_writer::section::answer, 12, wire::type::a, 60, a));
  std::size_t n = w.finish(q, 1232);
  auto p = parse(buf.data(), n);
  REQUIRE(p);
  CHECK(ldns_pkt_id(p.get()) == 777);
  CHECK(ldns_pkt_qr(p.get()));
  CHECK(ldns_pkt_aa(p.get()));
  CHECK(ldns_pkt_rd(p.get()));
  CHECK(ldns_pkt_ra(p.get()));
  CHECK(!ldns_pkt_tc(p.get()));
  CHECK(ldns_pkt_get_rcode(p.get()) == LDNS_RCODE_NOERROR);
  CHECK(ldns_pkt_edns(p.get()));
  CHECK(ldns_pkt_edns_udp_size(p.get()) == 1232);
  CHECK(ldns_pkt_edns_do(p.get()));
  ldns_rr* question = ldns_rr_list_rr(ldns_pkt_question(p.get()), 0);
  CHECK(test::owner_of(question) == "Example.COM.");
  ldns_rr* ans = ldns_rr_list_rr(ldns_pkt_answer(p.get()), 0);
  CHECK(test::owner_of(ans) == "Example.COM.");
  CHECK(ldns_rr_ttl(ans) == 60);
  CHECK(test::rdata_of(ldns_pkt_answer(p.get()), LDNS_RR_TYPE_A) ==
        std::vector<std::string>{"10.0.1.10"});
}

TEST_CASE("response_writer: an answer over the limit is sent empty with TC, OPT kept") {
  // 40 A records (40*16 bytes) cannot fit into 512 bytes.
  auto pkt = make_query("big.example.", LDNS_RR_TYPE_A, {.edns = true, .udp_size = 512});
  wire::query q;
  REQUIRE(wire::parse_query(pkt, q) == wire::parse_status::ok);
  std::array<uint8_t, 4096> buf;
  wire::response_writer w(buf, q.udp_limit(1232));
  w.begin(q, pkt, wire::rcode::noerror, true);
  for (uint8_t i = 0; i < 40; ++i) {
    const uint8_t a[] = {10, 0, 0, i};
    w.add_rr(wire::response_writer::section::answer, 12, wire::type::a, 60, a);
  }
  std::size_t n = w.finish(q, 1232);
  CHECK(n <= 512);
  auto p = parse(buf.data(), n);
  REQUIRE(p);
  CHECK(ldns_pkt_tc(p.get()));
  CHECK(ldns_pkt_ancount(p.get()) == 0);
  CHECK(ldns_pkt_qdcount(p.get()) == 1);
  CHECK(ldns_pkt_edns(p.get()));
}

TEST_CASE("response_writer: BADVERS goes into the OPT's extended rcode") {
  auto v1 = header(0x0100, 1, 0, 0, 1);
  append(v1, {0, 0, 1, 0, 1});
  append(v1, {0, 0, 41, 0x04, 0xd0, 0, 1, 0, 0, 0, 0});
  wire::query q;
  REQUIRE(wire::parse_query(v1, q) == wire::parse_status::badvers);
  std::array<uint8_t, 512> buf;
  wire::response_writer w(buf, 512);
  w.begin(q, v1, wire::rcode::noerror, false);
  w.set_extended_rcode(wire::badvers);
  std::size_t n = w.finish(q, 1232);
  auto p = parse(buf.data(), n);
  REQUIRE(p);
  // ldns folds the extended rcode into ldns_pkt_edns_extended_rcode.
  CHECK(ldns_pkt_edns_extended_rcode(p.get()) == 1);
  CHECK((buf[3] & 0xf) == 0);
}

TEST_CASE("relay_upstream_answer: client ID and letter case restored; oversize is cut with TC") {
  auto client = make_query("MiXeD.example.", LDNS_RR_TYPE_TXT, {.id = 4242});
  wire::query q;
  REQUIRE(wire::parse_query(client, q) == wire::parse_status::ok);
  // The "upstream" answer: other ID, lowercased question, one big TXT.
  ldns_pkt* up = nullptr;
  ldns_pkt_query_new_frm_str(&up, "mixed.example.", LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_IN, LDNS_RD);
  ldns_pkt_set_id(up, 99);
  ldns_pkt_set_qr(up, true);
  ldns_rr* txt = nullptr;
  std::string big = "mixed.example. 300 IN TXT \"" + std::string(200, 'x') + "\" \"" +
                    std::string(200, 'y') + "\" \"" + std::string(200, 'z') + "\"";
  REQUIRE(ldns_rr_new_frm_str(&txt, big.c_str(), 0, nullptr, nullptr) == LDNS_STATUS_OK);
  ldns_pkt_push_rr(up, LDNS_SECTION_ANSWER, txt);
  uint8_t* w = nullptr;
  size_t len = 0;
  ldns_pkt2wire(&w, up, &len);
  std::vector<uint8_t> answer(w, w + len);
  free(w);
  ldns_pkt_free(up);

  // Over TCP (no limit) it is relayed whole.
  std::vector<uint8_t> copy = answer;
  std::size_t n = wire::relay_upstream_answer(copy, copy.size(), q, client, 65535, 1232);
  REQUIRE(n == answer.size());
  auto p = parse(copy.data(), n);
  REQUIRE(p);
  CHECK(ldns_pkt_id(p.get()) == 4242);
  CHECK(test::owner_of(ldns_rr_list_rr(ldns_pkt_question(p.get()), 0)) == "MiXeD.example.");
  CHECK(ldns_pkt_ancount(p.get()) == 1);
  CHECK(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p.get()), 0)) == 300);

  // Over UDP without EDNS (512) it is cut to the question, with TC.
  copy = answer;
  n = wire::relay_upstream_answer(copy, copy.size(), q, client, 512, 1232);
  p = parse(copy.data(), n);
  REQUIRE(p);
  CHECK(ldns_pkt_tc(p.get()));
  CHECK(ldns_pkt_ancount(p.get()) == 0);
  CHECK(ldns_pkt_id(p.get()) == 4242);
}

TEST_CASE("skip_name: pointers end a name, overruns return 0") {
  auto v = raw({3, 'a', 'b', 'c', 0xc0, 12, 7});
  CHECK(wire::skip_name(v, 0) == 6);
  CHECK(wire::skip_name(raw({3, 'a'}), 0) == 0);
  CHECK(wire::skip_name(raw({0xc0}), 0) == 0);
  CHECK(wire::skip_name(raw({0}), 0) == 1);
}

TEST_CASE("name_to_text: escapes special and non-printable octets") {
  auto v = raw({3, 'a', '.', 'b', 2, 0x01, ' ', 0});
  CHECK(wire::name_to_text(v) == "a\\.b.\\001\\032.");
}

namespace {

// An upstream answer for "mixed.example." A built with ldns: `answers` A
// records, `extra` additional A records, and an OPT with the given options.
std::vector<uint8_t> upstream_answer(int answers, int extra, bool opt,
                                     const std::vector<uint8_t>& opt_rdata = {}) {
  std::vector<uint8_t> m = header(0x8180, 1, answers, 0, extra + (opt ? 1 : 0));
  m[0] = 0x00;
  m[1] = 0x63;
  append(m, {5, 'm', 'i', 'x', 'e', 'd', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 1, 0, 1});
  for (int i = 0; i < answers; ++i)
    append(m, {0xc0, 12, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 10, 0, 0, i});
  for (int i = 0; i < extra; ++i)
    append(m,
           {1, 0x30 + i, 0xc0, 18, 0, 1, 0, 1, 0, 0, 0, 17, 0, 4, 10, 1, 0, i});  // distinct owners
  if (opt) {
    append(m, {0, 0, 41, 0x10, 0, 0, 0, 0x80, 0});
    m.push_back(static_cast<uint8_t>(opt_rdata.size() >> 8));
    m.push_back(static_cast<uint8_t>(opt_rdata.size()));
    m.insert(m.end(), opt_rdata.begin(), opt_rdata.end());
  }
  return m;
}

}  // namespace

TEST_CASE("relay_upstream_answer: the upstream's OPT is replaced by ours, EDE kept") {
  // Upstream OPT: size 4096, DO, a cookie (10) and an EDE 22 "down": only the EDE survives.
  std::vector<uint8_t> opts = {0, 10, 0, 2, 'c', 'k', 0, 15, 0, 6, 0, 22, 'd', 'o', 'w', 'n'};
  auto client = make_query("MiXeD.example.", LDNS_RR_TYPE_A,
                           {.id = 4242, .edns = true, .udp_size = 4096, .do_bit = false});
  wire::query q;
  REQUIRE(wire::parse_query(client, q) == wire::parse_status::ok);
  auto up = upstream_answer(2, 0, true, opts);
  std::vector<uint8_t> buf(65535);
  std::copy(up.begin(), up.end(), buf.begin());
  std::size_t n = wire::relay_upstream_answer(buf, up.size(), q, client, 1232, 1232);
  auto p = parse(buf.data(), n);
  REQUIRE(p);
  CHECK(ldns_pkt_id(p.get()) == 4242);
  CHECK(ldns_pkt_ancount(p.get()) == 2);
  CHECK(ldns_pkt_edns_udp_size(p.get()) == 1232);
  CHECK_FALSE(ldns_pkt_edns_do(p.get()));  // the client's DO, not the upstream's
  ldns_rdf* data = ldns_pkt_edns_data(p.get());
  REQUIRE(data);
  std::vector<uint8_t> got(ldns_rdf_data(data), ldns_rdf_data(data) + ldns_rdf_size(data));
  CHECK(got == std::vector<uint8_t>{0, 15, 0, 6, 0, 22, 'd', 'o', 'w', 'n'});

  // A client without EDNS gets no OPT at all.
  auto plain = make_query("MiXeD.example.", LDNS_RR_TYPE_A, {.id = 4242});
  REQUIRE(wire::parse_query(plain, q) == wire::parse_status::ok);
  std::copy(up.begin(), up.end(), buf.begin());
  n = wire::relay_upstream_answer(buf, up.size(), q, plain, 512, 1232);
  p = parse(buf.data(), n);
  REQUIRE(p);
  CHECK_FALSE(ldns_pkt_edns(p.get()));
  CHECK(ldns_pkt_arcount(p.get()) == 0);
}

TEST_CASE("relay_upstream_answer: dropping only additional records sets no TC (RFC 2181 9)") {
  auto client = make_query("MiXeD.example.", LDNS_RR_TYPE_A, {.id = 4242});
  wire::query q;
  REQUIRE(wire::parse_query(client, q) == wire::parse_status::ok);
  auto up = upstream_answer(3, 40, false);  // 40 * 18 bytes of glue: over 512
  REQUIRE(up.size() > 512);
  std::vector<uint8_t> buf(65535);
  std::copy(up.begin(), up.end(), buf.begin());
  std::size_t n = wire::relay_upstream_answer(buf, up.size(), q, client, 512, 1232);
  CHECK(n <= 512);
  auto p = parse(buf.data(), n);
  REQUIRE(p);
  CHECK_FALSE(ldns_pkt_tc(p.get()));
  CHECK(ldns_pkt_ancount(p.get()) == 3);
  // The additional RRsets have one owner each: as many whole ones as fit.
  CHECK(ldns_pkt_arcount(p.get()) == (512 - (12 + 19 + 3 * 16)) / 18);
}

TEST_CASE("relay_upstream_answer: an RRset that does not fit is left out whole, with TC") {
  auto client = make_query("MiXeD.example.", LDNS_RR_TYPE_A, {.id = 4242});
  wire::query q;
  REQUIRE(wire::parse_query(client, q) == wire::parse_status::ok);
  auto up = upstream_answer(40, 0, false);  // one RRset of 40 A: 671 bytes
  std::vector<uint8_t> buf(65535);
  std::copy(up.begin(), up.end(), buf.begin());
  std::size_t n = wire::relay_upstream_answer(buf, up.size(), q, client, 512, 1232);
  auto p = parse(buf.data(), n);
  REQUIRE(p);
  CHECK(ldns_pkt_tc(p.get()));
  CHECK(ldns_pkt_ancount(p.get()) == 0);  // never a part of the RRset
}

TEST_CASE("relay_upstream_answer: unusable answers are refused, never read past the end") {
  auto client = make_query("MiXeD.example.", LDNS_RR_TYPE_A, {.id = 4242});
  wire::query q;
  REQUIRE(wire::parse_query(client, q) == wire::parse_status::ok);
  std::vector<uint8_t> buf(65535);
  auto relay = [&](std::vector<uint8_t> up) {
    std::copy(up.begin(), up.end(), buf.begin());
    return wire::relay_upstream_answer(buf, up.size(), q, client, 512, 1232);
  };
  auto good = upstream_answer(2, 0, false);
  CHECK(relay(good) == good.size());
  auto cut = good;
  cut.resize(cut.size() - 3);  // last record runs past the end
  CHECK(relay(cut) == 0);
  auto lie = good;
  lie[7] = 5;  // ANCOUNT 5, two records
  CHECK(relay(lie) == 0);
  auto other = good;
  other[12] = 4;  // question "mixe" + garbage: another length
  CHECK(relay(other) == 0);
  CHECK(relay({1, 2, 3}) == 0);
}

TEST_CASE("read_name_lower: follows backward pointers, refuses loops and forward pointers") {
  std::array<uint8_t, wire::max_name_wire> out;
  auto m = raw({3, 'W', 'w', 'W', 0, 1, 'a', 0xc0, 0});
  CHECK(wire::read_name_lower(m, 5, out) == 7);
  CHECK(std::string(out.begin(), out.begin() + 7) == std::string("\x01"
                                                                 "a\x03www\x00",
                                                                 7));
  CHECK(wire::read_name_lower(raw({0xc0, 0}), 0, out) == 0);              // points at itself
  CHECK(wire::read_name_lower(raw({0xc0, 2, 0}), 0, out) == 0);           // forward
  CHECK(wire::read_name_lower(raw({0, 0xc0, 1, 0xc0, 1}), 3, out) == 0);  // loop via 1
  CHECK(wire::read_name_lower(raw({3, 'a'}), 0, out) == 0);
}

TEST_CASE("response_writer: an EDE option goes into the OPT, only when the query had EDNS") {
  auto pkt = make_query("example.com.", LDNS_RR_TYPE_A, {.edns = true});
  wire::query q;
  REQUIRE(wire::parse_query(pkt, q) == wire::parse_status::ok);
  std::array<uint8_t, 512> buf;
  wire::response_writer w(buf, 512);
  w.begin(q, pkt, wire::rcode::servfail, false);
  w.set_ede(wire::ede::network_error, "down");
  std::size_t n = w.finish(q, 1232);
  auto p = parse(buf.data(), n);
  REQUIRE(p);
  ldns_rdf* data = ldns_pkt_edns_data(p.get());
  REQUIRE(data);
  std::vector<uint8_t> got(ldns_rdf_data(data), ldns_rdf_data(data) + ldns_rdf_size(data));
  CHECK(got == std::vector<uint8_t>{0, 15, 0, 6, 0, 23, 'd', 'o', 'w', 'n'});

  auto plain = make_query("example.com.", LDNS_RR_TYPE_A);
  REQUIRE(wire::parse_query(plain, q) == wire::parse_status::ok);
  w.begin(q, plain, wire::rcode::servfail, false);
  w.set_ede(wire::ede::network_error, "down");
  n = w.finish(q, 1232);
  CHECK(n == plain.size());  // header and question only
}

TEST_CASE("parse_query: NOTIMP and FORMERR still note the query's OPT, so the error carries one") {
  // RFC 6891 7: an EDNS query gets an OPT in the answer, errors included.
  wire::query q;
  auto notify = header(0x2000, 1, 0, 0, 1);
  append(notify, {0, 0, 6, 0, 1});
  append(notify, {0, 0, 41, 0x10, 0x00, 0, 0, 0x80, 0, 0, 0});
  REQUIRE(wire::parse_query(notify, q) == wire::parse_status::notimp);
  CHECK(q.edns);
  CHECK(q.edns_udp_size == 4096);
  CHECK(q.edns_do);
  auto none = header(0x0100, 0, 0, 0, 1);
  append(none, {0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0});
  REQUIRE(wire::parse_query(none, q) == wire::parse_status::formerr);
  CHECK(q.edns);
  auto plain = header(0x2000, 1);
  append(plain, {0, 0, 6, 0, 1});
  REQUIRE(wire::parse_query(plain, q) == wire::parse_status::notimp);
  CHECK(!q.edns);
}

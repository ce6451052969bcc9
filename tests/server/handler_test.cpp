// The decision core: who is answered, which classes and types, and what a
// client gets when the upstream fails. Responses are parsed back with ldns.
#include "server/handler.hpp"
#include "support/dns.hpp"

#include <doctest/doctest.h>

#include <array>

using namespace vpcedns;

namespace {

config::settings test_settings(const std::string& server_table) {
  return config::load_string(R"(
[listen]
addresses = ["127.0.0.1:5300"]
[forward]
upstreams = ["127.0.0.1:5301"]
)" + server_table + R"(
[[vpc]]
name = "app"
cidrs = ["10.0.0.0/16"]
[[endpoint]]
id = "vpce-0a1b2c3d4e5f60718"
suffix = "abcd1234"
service = "com.amazonaws.us-east-1.sqs"
vpc = "app"
enis = [{ az = "us-east-1a", ipv4 = "10.0.1.10" }]
)",
                             "t.toml");
}

view::ip_address ip(const char* text) {
  return *view::ip_address::parse(text);
}

// One query through handle() with the given [server] table.
struct run {
  config::settings settings;
  std::shared_ptr<const zone::local_data> data;
  std::array<uint8_t, 65535> out{};
  wire::query q;

  explicit run(const std::string& server_table = "")
      : settings(test_settings(server_table)), data(zone::local_data::build(settings)) {}

  std::pair<server::decision, test::pkt_ptr> ask(const std::vector<uint8_t>& pkt,
                                                 const char* client, bool tcp = false) {
    auto d = server::handle(*data, server::limits_from(settings), pkt, ip(client), tcp, out, q);
    if (d.what != server::decision::action::respond) return {d, nullptr};
    return {d, test::parse(out.data(), d.size)};
  }
};

std::vector<uint8_t> ede_of(ldns_pkt* p) {
  ldns_rdf* data = ldns_pkt_edns_data(p);
  if (!data) return {};
  return {ldns_rdf_data(data), ldns_rdf_data(data) + ldns_rdf_size(data)};
}

}  // namespace

TEST_CASE("handle: by default loopback and the VPCs are answered, others REFUSED with EDE 18") {
  run r;
  auto q = test::make_query("www.example.com.", LDNS_RR_TYPE_A, {.edns = true});
  CHECK(r.ask(q, "10.0.3.4").first.what == server::decision::action::forward);
  CHECK(r.ask(q, "127.0.0.9").first.what == server::decision::action::forward);
  CHECK(r.ask(q, "::1").first.what == server::decision::action::forward);
  auto [d, p] = r.ask(q, "192.0.2.1");
  REQUIRE(p);
  CHECK(ldns_pkt_get_rcode(p.get()) == LDNS_RCODE_REFUSED);
  CHECK(ldns_pkt_ancount(p.get()) == 0);
  CHECK(ede_of(p.get()) == std::vector<uint8_t>{0,   15,  0,   28,  0,   18,  'c', 'l',
                                                'i', 'e', 'n', 't', ' ', 'n', 'o', 't',
                                                ' ', 'i', 'n', ' ', 's', 'e', 'r', 'v',
                                                'e', 'r', '.', 'a', 'l', 'l', 'o', 'w'});
  // Even names vpcedns owns are refused to outsiders.
  auto vpce = test::make_query("vpce-0a1b2c3d4e5f60718-abcd1234.sqs.us-east-1.vpce.amazonaws.com.",
                               LDNS_RR_TYPE_A);
  CHECK(r.ask(vpce, "192.0.2.1").first.rc == wire::rcode::refused);
  // Responses are still dropped, allowed or not (no reflection loops).
  auto resp = q;
  resp[2] |= 0x80;
  CHECK(r.ask(resp, "192.0.2.1").first.what == server::decision::action::drop);
}

TEST_CASE("handle: an explicit allow list replaces the default") {
  run r("[server]\nallow = [\"192.0.2.0/24\"]\n");
  auto q = test::make_query("www.example.com.", LDNS_RR_TYPE_A);
  CHECK(r.ask(q, "192.0.2.1").first.what == server::decision::action::forward);
  CHECK(r.ask(q, "127.0.0.1").first.rc == wire::rcode::refused);
  CHECK(r.ask(q, "10.0.0.1").first.rc == wire::rcode::refused);
}

TEST_CASE("handle: CHAOS TXT answered (AA, class CH) or REFUSED by server.chaos") {
  auto q = test::make_query("id.server.", LDNS_RR_TYPE_TXT, {}, LDNS_RR_CLASS_CH);
  run on("[server]\nchaos = \"answer\"\nchaos_id = \"ns-7\"\n");
  auto [d, p] = on.ask(q, "127.0.0.1");
  REQUIRE(p);
  CHECK(ldns_pkt_get_rcode(p.get()) == LDNS_RCODE_NOERROR);
  CHECK(ldns_pkt_aa(p.get()));
  REQUIRE(ldns_pkt_ancount(p.get()) == 1);
  ldns_rr* txt = ldns_rr_list_rr(ldns_pkt_answer(p.get()), 0);
  CHECK(ldns_rr_get_class(txt) == LDNS_RR_CLASS_CH);
  CHECK(test::rdata_of(ldns_pkt_answer(p.get()), LDNS_RR_TYPE_TXT) ==
        std::vector<std::string>{"\"ns-7\""});
  auto version = test::make_query("version.bind.", LDNS_RR_TYPE_TXT, {}, LDNS_RR_CLASS_CH);
  std::tie(d, p) = on.ask(version, "127.0.0.1");
  REQUIRE(p);
  CHECK(test::rdata_of(ldns_pkt_answer(p.get()), LDNS_RR_TYPE_TXT) ==
        std::vector<std::string>{"\"vpcedns\""});
  auto other = test::make_query("authors.bind.", LDNS_RR_TYPE_TXT, {}, LDNS_RR_CLASS_CH);
  CHECK(on.ask(other, "127.0.0.1").first.rc == wire::rcode::refused);

  run off;  // the default: refuse
  CHECK(off.ask(q, "127.0.0.1").first.rc == wire::rcode::refused);
}

TEST_CASE("handle: classes other than IN and CH, and zone transfers, are REFUSED") {
  run r;
  for (auto cls : {LDNS_RR_CLASS_HS, LDNS_RR_CLASS_ANY, LDNS_RR_CLASS_NONE}) {
    auto q = test::make_query("www.example.com.", LDNS_RR_TYPE_A, {}, cls);
    CHECK(r.ask(q, "127.0.0.1").first.rc == wire::rcode::refused);
  }
  for (auto t : {LDNS_RR_TYPE_AXFR, LDNS_RR_TYPE_IXFR}) {
    auto q = test::make_query("example.com.", t);
    CHECK(r.ask(q, "127.0.0.1", true).first.rc == wire::rcode::refused);
  }
}

TEST_CASE("handle: ANY over UDP gets one HINFO (RFC 8482), over TCP it is forwarded") {
  run r;
  auto q = test::make_query("www.example.com.", LDNS_RR_TYPE_ANY);
  auto [d, p] = r.ask(q, "127.0.0.1");
  REQUIRE(p);
  CHECK_FALSE(ldns_pkt_aa(p.get()));
  REQUIRE(ldns_pkt_ancount(p.get()) == 1);
  CHECK(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_answer(p.get()), 0)) == LDNS_RR_TYPE_HINFO);
  CHECK(d.size < 100);
  CHECK(r.ask(q, "127.0.0.1", true).first.what == server::decision::action::forward);
  // A name vpcedns owns answers ANY itself, with one RRset.
  auto local = test::make_query("sqs.us-east-1.amazonaws.com.", LDNS_RR_TYPE_ANY);
  std::tie(d, p) = r.ask(local, "10.0.0.1");
  REQUIRE(p);
  CHECK(ldns_pkt_aa(p.get()));
  CHECK(test::rdata_of(ldns_pkt_answer(p.get()), LDNS_RR_TYPE_A) ==
        std::vector<std::string>{"10.0.1.10"});
}

TEST_CASE("relay_answer: upstream failures are SERVFAIL with the EDE saying why") {
  run r;
  auto pkt = test::make_query("www.example.com.", LDNS_RR_TYPE_A, {.edns = true});
  wire::query q;
  REQUIRE(wire::parse_query(pkt, q) == wire::parse_status::ok);
  auto lim = server::limits_from(r.settings);
  struct row {
    server::upstream_failure why;
    uint8_t code;
  };
  for (auto [why, code] :
       {row{server::upstream_failure::timeout, 22}, row{server::upstream_failure::unreachable, 23},
        row{server::upstream_failure::bad_answer, 0}}) {
    auto out = server::relay_answer({}, why, q, pkt, false, lim, r.out);
    auto p = test::parse(r.out.data(), out.size);
    REQUIRE(p);
    CHECK(ldns_pkt_get_rcode(p.get()) == LDNS_RCODE_SERVFAIL);
    CHECK(out.rc == wire::rcode::servfail);
    auto ede = ede_of(p.get());
    REQUIRE(ede.size() > 6);
    CHECK(ede[1] == 15);
    CHECK(ede[5] == code);
  }
  // An upstream answer that cannot be used is SERVFAIL too, never relayed.
  const uint8_t junk[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13};
  auto out = server::relay_answer(junk, server::upstream_failure::none, q, pkt, false, lim, r.out);
  CHECK(out.rc == wire::rcode::servfail);
  CHECK(std::string(out.source) == "bad_answer");
}

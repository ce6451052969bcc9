// Tests for file zones in resolver/zone/local_data.cpp (and the handler's
// forward_target decision, and wire::splice_chain): answers per view, CNAME
// chains, delegations, and which zone wins when zones overlap.
#include "server/handler.hpp"
#include "support/dns.hpp"
#include "wire/message.hpp"
#include "zone/local_data.hpp"
#include "zone/zone_file.hpp"

#include <doctest/doctest.h>

#include <unistd.h>
#include <array>
#include <cstdlib>
#include <fstream>

using namespace vpcedns;

namespace {

view::ip_address ip(const char* s) {
  return *view::ip_address::parse(s);
}

zone::zone_file load_text(const std::string& origin, const std::string& text) {
  char tmpl[] = "/tmp/vpcedns-zones-test.XXXXXX";
  int fd = ::mkstemp(tmpl);
  ::close(fd);
  std::ofstream(tmpl) << text;
  auto z = zone::load_zone_file(tmpl, origin);
  ::unlink(tmpl);
  return z;
}

const char* corp =
    "$TTL 300\n"
    "@ SOA ns1 hostmaster 1 3600 600 86400 60\n"
    "  NS ns1\n"
    "ns1 A 10.1.0.1\n"
    "db A 10.1.0.5\n"
    "api CNAME db\n"
    "ext CNAME www.example.com.\n"
    "shop CNAME x.other.internal.\n"
    "loop1 CNAME loop2\n"
    "loop2 CNAME loop1\n"
    "*.dev A 10.1.9.9\n"
    "sub NS ns.sub\n"
    "ns.sub A 10.1.7.7\n";

const char* other =
    "$TTL 60\n"
    "@ SOA ns1 hostmaster 1 3600 600 86400 30\n"
    "y A 10.2.0.1\n";

// VPC "a" (127.0.10.0/24) has corp.internal and other.internal; "b" has none.
struct fixture {
  config::settings s;
  std::vector<zone::zone_file> files;
  std::shared_ptr<const zone::local_data> data;
  fixture() {
    s.vpcs = {{"a", {*view::cidr::parse("127.0.10.0/24", nullptr)}},
              {"b", {*view::cidr::parse("127.0.20.0/24", nullptr)}}};
    s.zones = {{"corp.zone", "corp.zone", "corp.internal", {"a"}, 1},
               {"other.zone", "other.zone", "other.internal", {"a"}, 2}};
    files = {load_text("corp.internal", corp), load_text("other.internal", other)};
    data = zone::local_data::build(s, files);
  }
};

struct answer {
  test::pkt_ptr pkt;
  server::decision d;
  std::array<uint8_t, 65535> out;
};

std::unique_ptr<answer> ask(const zone::local_data& data, const std::string& name,
                            ldns_rr_type type, const char* src) {
  auto a = std::make_unique<answer>();
  auto pkt = test::make_query(name, type);
  wire::query q;
  static const std::vector<view::cidr> everyone = {*view::cidr::parse("0.0.0.0/0", nullptr),
                                                   *view::cidr::parse("::/0", nullptr)};
  server::limits lim;
  lim.allow = everyone;
  a->d = server::handle(data, lim, pkt, ip(src), false, a->out, q);
  if (a->d.what == server::decision::action::respond)
    a->pkt = test::parse(a->out.data(), a->d.size);
  return a;
}

std::vector<std::string> answers(const answer& a) {
  std::vector<std::string> out;
  ldns_rr_list* list = ldns_pkt_answer(a.pkt.get());
  for (size_t i = 0; i < ldns_rr_list_rr_count(list); ++i) {
    char* text = ldns_rr2str(ldns_rr_list_rr(list, i));
    std::string line = text;
    free(text);
    out.push_back(line.substr(0, line.size() - 1));
  }
  return out;
}

}  // namespace

TEST_CASE("zones: a CNAME inside the zone is chased, target owned by its own name") {
  fixture f;
  auto a = ask(*f.data, "API.corp.internal.", LDNS_RR_TYPE_A, "127.0.10.5");
  REQUIRE(a->pkt);
  CHECK(ldns_pkt_aa(a->pkt.get()));
  CHECK(answers(*a) ==
        std::vector<std::string>{"API.corp.internal.\t300\tIN\tCNAME\tdb.corp.internal.",
                                 "db.corp.internal.\t300\tIN\tA\t10.1.0.5"});
}

TEST_CASE("zones: a chain ending in NXDOMAIN in another zone carries that zone's SOA (RFC 6604)") {
  fixture f;
  auto a = ask(*f.data, "shop.corp.internal.", LDNS_RR_TYPE_A, "127.0.10.5");
  REQUIRE(a->pkt);
  CHECK(ldns_pkt_get_rcode(a->pkt.get()) == LDNS_RCODE_NXDOMAIN);
  CHECK(ldns_pkt_ancount(a->pkt.get()) == 1);
  REQUIRE(ldns_pkt_nscount(a->pkt.get()) == 1);
  ldns_rr* soa = ldns_rr_list_rr(ldns_pkt_authority(a->pkt.get()), 0);
  CHECK(test::owner_of(soa) == "other.internal.");
  CHECK(ldns_rr_ttl(soa) == 30);  // min(SOA TTL 60, MINIMUM 30)
}

TEST_CASE("zones: a CNAME leaving our zones asks the server to forward the target") {
  fixture f;
  auto a = ask(*f.data, "ext.corp.internal.", LDNS_RR_TYPE_A, "127.0.10.5");
  REQUIRE(a->d.what == server::decision::action::forward_target);
  CHECK(a->d.target == std::string_view("\3www\7example\3com\0", 17));
  CHECK(a->d.prefix_answers == 1);

  // The upstream's answer for the target is appended after the chain.
  auto client = test::make_query("ext.corp.internal.", LDNS_RR_TYPE_A);
  wire::query q;
  REQUIRE(wire::parse_query(client, q) == wire::parse_status::ok);
  ldns_pkt* up = nullptr;
  ldns_pkt_query_new_frm_str(&up, "www.example.com.", LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, LDNS_RD);
  ldns_pkt_set_qr(up, true);
  ldns_rr* rr = nullptr;
  ldns_rr_new_frm_str(&rr, "www.example.com. 120 IN A 192.0.2.10", 0, nullptr, nullptr);
  ldns_pkt_push_rr(up, LDNS_SECTION_ANSWER, rr);
  uint8_t* wire_up = nullptr;
  size_t up_len = 0;
  ldns_pkt2wire(&wire_up, up, &up_len);
  std::array<uint8_t, 65535> out;
  std::size_t n = wire::splice_chain(out, {a->out.data(), a->d.size}, a->d.prefix_answers,
                                     {wire_up, up_len}, q, 512, 1232);
  free(wire_up);
  ldns_pkt_free(up);
  auto spliced = test::parse(out.data(), n);
  REQUIRE(spliced);
  CHECK(ldns_pkt_id(spliced.get()) == ldns_pkt_id(test::parse(client.data(), client.size()).get()));
  answer view_of{std::move(spliced), {}, {}};
  CHECK(answers(view_of) ==
        std::vector<std::string>{"ext.corp.internal.\t300\tIN\tCNAME\twww.example.com.",
                                 "www.example.com.\t120\tIN\tA\t192.0.2.10"});
}

TEST_CASE("zones: a CNAME loop ends where it closes, each link answered once") {
  // loop1 -> loop2 -> loop1: the two CNAMEs, not the loop unrolled max_chain times.
  fixture f;
  auto a = ask(*f.data, "loop1.corp.internal.", LDNS_RR_TYPE_A, "127.0.10.5");
  REQUIRE(a->pkt);
  CHECK(ldns_pkt_get_rcode(a->pkt.get()) == LDNS_RCODE_NOERROR);
  CHECK(ldns_pkt_ancount(a->pkt.get()) == 2);
  auto owners = std::vector<std::string>{};
  for (size_t i = 0; i < ldns_pkt_ancount(a->pkt.get()); ++i)
    owners.push_back(test::owner_of(ldns_rr_list_rr(ldns_pkt_answer(a->pkt.get()), i)));
  CHECK(owners == std::vector<std::string>{"loop1.corp.internal.", "loop2.corp.internal."});
}

TEST_CASE("zones: names at and below a delegation are forwarded, glue is not served") {
  fixture f;
  for (const char* name : {"sub.corp.internal.", "x.sub.corp.internal.", "ns.sub.corp.internal."}) {
    CAPTURE(name);
    CHECK(ask(*f.data, name, LDNS_RR_TYPE_A, "127.0.10.5")->d.what ==
          server::decision::action::forward);
  }
}

TEST_CASE("zones: wildcards synthesize below their closest encloser only (RFC 4592)") {
  fixture f;
  auto a = ask(*f.data, "a.b.dev.corp.internal.", LDNS_RR_TYPE_A, "127.0.10.5");
  REQUIRE(a->pkt);
  CHECK(answers(*a) == std::vector<std::string>{"a.b.dev.corp.internal.\t300\tIN\tA\t10.1.9.9"});
  // db exists, so x.db is NXDOMAIN: the wildcard is under dev only.
  auto nx = ask(*f.data, "x.db.corp.internal.", LDNS_RR_TYPE_A, "127.0.10.5");
  CHECK(ldns_pkt_get_rcode(nx->pkt.get()) == LDNS_RCODE_NXDOMAIN);
}

TEST_CASE("zones: clients outside the associated VPCs are forwarded") {
  fixture f;
  for (const char* src : {"127.0.20.5", "127.0.30.5"})
    CHECK(ask(*f.data, "db.corp.internal.", LDNS_RR_TYPE_A, src)->d.what ==
          server::decision::action::forward);
}

TEST_CASE("zones: the most specific zone wins; a zone and an endpoint of one name clash") {
  // amazonaws.com as a private zone, and the SQS endpoint's zone below it.
  config::settings s;
  s.vpcs = {{"a", {*view::cidr::parse("127.0.10.0/24", nullptr)}}};
  config::endpoint e;
  e.id = "vpce-0a1b2c3d4e5f60718";
  e.suffix = "abcd1234";
  e.region = "us-east-1";
  e.vpce_service = "sqs";
  e.vpc = "a";
  e.private_dns_names = {"sqs.us-east-1.amazonaws.com"};
  e.enis = {{"us-east-1a", ip("10.0.1.10"), std::nullopt}};
  s.endpoints = {e};
  s.zones = {{"aws.zone", "aws.zone", "amazonaws.com", {"a"}, 1}};
  std::vector<zone::zone_file> files = {
      load_text("amazonaws.com",
                "$TTL 60\n@ SOA ns hm 1 2 3 4 5\nsqs.us-east-1 A 10.9.9.9\n"
                "s3.us-east-1 A 10.9.3.3\n")};
  auto data = zone::local_data::build(s, files);
  auto sqs = ask(*data, "sqs.us-east-1.amazonaws.com.", LDNS_RR_TYPE_A, "127.0.10.5");
  CHECK(test::rdata_of(ldns_pkt_answer(sqs->pkt.get()), LDNS_RR_TYPE_A) ==
        std::vector<std::string>{"10.0.1.10"});
  auto s3 = ask(*data, "s3.us-east-1.amazonaws.com.", LDNS_RR_TYPE_A, "127.0.10.5");
  CHECK(test::rdata_of(ldns_pkt_answer(s3->pkt.get()), LDNS_RR_TYPE_A) ==
        std::vector<std::string>{"10.9.3.3"});

  // A file zone whose apex is the endpoint's private DNS name: refused.
  s.zones[0].origin = "sqs.us-east-1.amazonaws.com";
  files = {load_text("sqs.us-east-1.amazonaws.com", "$TTL 60\n@ SOA ns hm 1 2 3 4 5\n")};
  CHECK_THROWS_WITH_AS(zone::local_data::build(s, files),
                       doctest::Contains("is also the private DNS zone of endpoint "
                                         "vpce-0a1b2c3d4e5f60718"),
                       config::error);
}

#include "server/handler.hpp"
#include "support/dns.hpp"
#include "wire/message.hpp"
#include "zone/local_data.hpp"

#include <doctest/doctest.h>

#include <array>

using namespace vpcedns;

namespace {

view::cidr cidr(const char* s) {
  return *view::cidr::parse(s, nullptr);
}
view::ip_address ip(const char* s) {
  return *view::ip_address::parse(s);
}

config::endpoint endpoint(std::string id, std::string key, std::string vpc, bool private_dns,
                          std::vector<std::string> names, std::string vpce_service) {
  config::endpoint e;
  e.id = std::move(id);
  e.suffix = "abcd1234";
  e.region = "us-east-1";
  e.service_key = key;
  e.service = "com.amazonaws.us-east-1." + key;
  e.vpc = std::move(vpc);
  e.private_dns = private_dns;
  e.private_dns_names = std::move(names);
  e.vpce_service = std::move(vpce_service);
  return e;
}

// VPC "a" (127.0.10.0/24) has SQS with private DNS on and SNS with it off;
// VPC "b" (127.0.20.0/24, fd00:20::/64) has ECR dkr with its wildcard.
config::settings sample() {
  config::settings s;
  s.vpcs = {{"a", {cidr("127.0.10.0/24")}}, {"b", {cidr("127.0.20.0/24"), cidr("fd00:20::/64")}}};
  auto sqs =
      endpoint("vpce-0a1b2c3d4e5f60718", "sqs", "a", true, {"sqs.us-east-1.amazonaws.com"}, "sqs");
  sqs.enis = {{"us-east-1a", ip("10.0.1.10"), std::nullopt},
              {"us-east-1b", ip("10.0.2.10"), std::nullopt}};
  auto sns =
      endpoint("vpce-0fedcba987654321a", "sns", "a", false, {"sns.us-east-1.amazonaws.com"}, "sns");
  sns.enis = {{"us-east-1a", ip("10.0.1.20"), ip("fd00::20")}};
  auto dkr =
      endpoint("vpce-0123456789abcdef0", "ecr.dkr", "b", true,
               {"dkr.ecr.us-east-1.amazonaws.com", "*.dkr.ecr.us-east-1.amazonaws.com"}, "dkr.ecr");
  dkr.enis = {{"us-east-1a", ip("10.0.3.10"), ip("fd00::310")}};
  s.endpoints = {sqs, sns, dkr};
  return s;
}

struct answer {
  test::pkt_ptr pkt;
  server::decision d;
};

// Runs one query through the decision core, as a client at `src`.
answer ask(const zone::local_data& data, const std::string& name, ldns_rr_type type,
           const char* src, test::query_opts o = {}, bool tcp = false) {
  static std::array<uint8_t, 65535> out;
  auto pkt = test::make_query(name, type, o);
  wire::query q;
  static const std::vector<view::cidr> everyone = {*view::cidr::parse("0.0.0.0/0", nullptr),
                                                   *view::cidr::parse("::/0", nullptr)};
  server::limits lim;
  lim.allow = everyone;
  auto d = server::handle(data, lim, pkt, ip(src), tcp, out, q);
  if (d.what != server::decision::action::respond) return {nullptr, d};
  return {test::parse(out.data(), d.size), d};
}

std::vector<std::string> rdata(const answer& a, ldns_rr_type t) {
  return test::rdata_of(ldns_pkt_answer(a.pkt.get()), t);
}

}  // namespace

TEST_CASE("local_data: inside client gets every ENI IPv4 for the private name, TTL 60, AA") {
  auto data = zone::local_data::build(sample());
  auto a = ask(*data, "sqs.us-east-1.amazonaws.com.", LDNS_RR_TYPE_A, "127.0.10.5");
  REQUIRE(a.pkt);
  CHECK(ldns_pkt_get_rcode(a.pkt.get()) == LDNS_RCODE_NOERROR);
  CHECK(ldns_pkt_aa(a.pkt.get()));
  CHECK(rdata(a, LDNS_RR_TYPE_A) == std::vector<std::string>{"10.0.1.10", "10.0.2.10"});
  for (size_t i = 0; i < ldns_pkt_ancount(a.pkt.get()); ++i)
    CHECK(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(a.pkt.get()), i)) == 60);
  CHECK(data->view_name(a.d.view) == "a");
}

TEST_CASE("local_data: outside and other-VPC clients are forwarded for the private name") {
  auto data = zone::local_data::build(sample());
  CHECK(ask(*data, "sqs.us-east-1.amazonaws.com.", LDNS_RR_TYPE_A, "127.0.30.5").d.what ==
        server::decision::action::forward);
  // 127.0.100.5 is not in 127.0.10.0/24 although the text starts alike.
  CHECK(ask(*data, "sqs.us-east-1.amazonaws.com.", LDNS_RR_TYPE_A, "127.0.100.5").d.what ==
        server::decision::action::forward);
  // VPC b has no SQS endpoint.
  CHECK(ask(*data, "sqs.us-east-1.amazonaws.com.", LDNS_RR_TYPE_A, "127.0.20.5").d.what ==
        server::decision::action::forward);
  // An IPv4 client on a dual-stack socket is matched as IPv4.
  CHECK(ask(*data, "sqs.us-east-1.amazonaws.com.", LDNS_RR_TYPE_A, "::ffff:127.0.10.5").d.what ==
        server::decision::action::respond);
}

TEST_CASE(
    "local_data: inside AAAA without IPv6 ENIs is NODATA with the zone SOA, never forwarded") {
  auto data = zone::local_data::build(sample());
  auto a = ask(*data, "sqs.us-east-1.amazonaws.com.", LDNS_RR_TYPE_AAAA, "127.0.10.5");
  REQUIRE(a.pkt);
  CHECK(ldns_pkt_get_rcode(a.pkt.get()) == LDNS_RCODE_NOERROR);
  CHECK(ldns_pkt_ancount(a.pkt.get()) == 0);
  REQUIRE(ldns_pkt_nscount(a.pkt.get()) == 1);
  ldns_rr* soa = ldns_rr_list_rr(ldns_pkt_authority(a.pkt.get()), 0);
  CHECK(ldns_rr_get_type(soa) == LDNS_RR_TYPE_SOA);
  CHECK(test::owner_of(soa) == "sqs.us-east-1.amazonaws.com.");
  // RFC 2308: TTL of the SOA in a negative answer is min(SOA TTL, MINIMUM).
  uint32_t minimum = ldns_rdf2native_int32(ldns_rr_rdf(soa, 6));
  CHECK(ldns_rr_ttl(soa) <= minimum);
  CHECK(ldns_rr_ttl(soa) == 900);
  // Any other type too.
  auto mx = ask(*data, "sqs.us-east-1.amazonaws.com.", LDNS_RR_TYPE_MX, "127.0.10.5");
  CHECK(ldns_pkt_get_rcode(mx.pkt.get()) == LDNS_RCODE_NOERROR);
  CHECK(ldns_pkt_ancount(mx.pkt.get()) == 0);
  CHECK(ldns_pkt_nscount(mx.pkt.get()) == 1);
}

TEST_CASE("local_data: a name below the private name is NXDOMAIN with the SOA owned by the apex") {
  auto data = zone::local_data::build(sample());
  auto a = ask(*data, "Deep.Nothing.SQS.us-east-1.amazonaws.com.", LDNS_RR_TYPE_A, "127.0.10.5");
  REQUIRE(a.pkt);
  CHECK(ldns_pkt_get_rcode(a.pkt.get()) == LDNS_RCODE_NXDOMAIN);
  CHECK(ldns_pkt_aa(a.pkt.get()));
  REQUIRE(ldns_pkt_nscount(a.pkt.get()) == 1);
  // The owner is a pointer into the client's qname: the client's letter case.
  CHECK(test::owner_of(ldns_rr_list_rr(ldns_pkt_authority(a.pkt.get()), 0)) ==
        "SQS.us-east-1.amazonaws.com.");
}

TEST_CASE("local_data: near misses are not the endpoint's name") {
  auto data = zone::local_data::build(sample());
  for (const char* name :
       {"sqs.us-east-1.amazonaws.com.default.svc.cluster.local.", "xsqs.us-east-1.amazonaws.com.",
        "queue.amazonaws.com.", "us-east-1.queue.amazonaws.com.", "us-east-1.amazonaws.com.",
        "sqs.us-east-2.amazonaws.com."}) {
    CAPTURE(name);
    CHECK(ask(*data, name, LDNS_RR_TYPE_A, "127.0.10.5").d.what ==
          server::decision::action::forward);
  }
}

TEST_CASE("local_data: letter case in the question is echoed, matching ignores it") {
  auto data = zone::local_data::build(sample());
  auto a = ask(*data, "SqS.uS-EaSt-1.AmAzOnAwS.CoM.", LDNS_RR_TYPE_A, "127.0.10.5");
  REQUIRE(a.pkt);
  CHECK(test::owner_of(ldns_rr_list_rr(ldns_pkt_question(a.pkt.get()), 0)) ==
        "SqS.uS-EaSt-1.AmAzOnAwS.CoM.");
  CHECK(rdata(a, LDNS_RR_TYPE_A).size() == 2);
}

TEST_CASE("local_data: vpce names answer everyone, whatever private DNS says") {
  auto data = zone::local_data::build(sample());
  const std::string regional = "vpce-0fedcba987654321a-abcd1234.sns.us-east-1.vpce.amazonaws.com.";
  for (const char* src : {"127.0.10.5", "127.0.30.5", "127.0.20.5"}) {
    CAPTURE(src);
    auto a = ask(*data, regional, LDNS_RR_TYPE_A, src);
    REQUIRE(a.pkt);
    CHECK(rdata(a, LDNS_RR_TYPE_A) == std::vector<std::string>{"10.0.1.20"});
    auto aaaa = ask(*data, regional, LDNS_RR_TYPE_AAAA, src);
    CHECK(rdata(aaaa, LDNS_RR_TYPE_AAAA) == std::vector<std::string>{"fd00::20"});
  }
  // Private DNS off: the public name is forwarded even from inside.
  CHECK(ask(*data, "sns.us-east-1.amazonaws.com.", LDNS_RR_TYPE_A, "127.0.10.5").d.what ==
        server::decision::action::forward);
  // Zonal names give that AZ's ENI only.
  auto z =
      ask(*data, "vpce-0a1b2c3d4e5f60718-abcd1234-us-east-1b.sqs.us-east-1.vpce.amazonaws.com.",
          LDNS_RR_TYPE_A, "127.0.30.5");
  REQUIRE(z.pkt);
  CHECK(rdata(z, LDNS_RR_TYPE_A) == std::vector<std::string>{"10.0.2.10"});
  // Names below a vpce name are not ours (the public vpce zone is AWS's).
  CHECK(ask(*data, "x.vpce-0a1b2c3d4e5f60718-abcd1234.sqs.us-east-1.vpce.amazonaws.com.",
            LDNS_RR_TYPE_A, "127.0.30.5")
            .d.what == server::decision::action::forward);
}

TEST_CASE("local_data: wildcard private names answer any name below the apex (RFC 4592)") {
  auto data = zone::local_data::build(sample());
  auto a =
      ask(*data, "123456789012.dkr.ecr.us-east-1.amazonaws.com.", LDNS_RR_TYPE_A, "127.0.20.9");
  REQUIRE(a.pkt);
  CHECK(rdata(a, LDNS_RR_TYPE_A) == std::vector<std::string>{"10.0.3.10"});
  CHECK(test::owner_of(ldns_rr_list_rr(ldns_pkt_answer(a.pkt.get()), 0)) ==
        "123456789012.dkr.ecr.us-east-1.amazonaws.com.");
  auto deep = ask(*data, "a.b.dkr.ecr.us-east-1.amazonaws.com.", LDNS_RR_TYPE_AAAA, "fd00:20::1");
  REQUIRE(deep.pkt);
  CHECK(rdata(deep, LDNS_RR_TYPE_AAAA) == std::vector<std::string>{"fd00::310"});
  auto txt = ask(*data, "x.dkr.ecr.us-east-1.amazonaws.com.", LDNS_RR_TYPE_TXT, "127.0.20.9");
  CHECK(ldns_pkt_get_rcode(txt.pkt.get()) == LDNS_RCODE_NOERROR);
  CHECK(ldns_pkt_ancount(txt.pkt.get()) == 0);
  CHECK(ldns_pkt_nscount(txt.pkt.get()) == 1);
}

TEST_CASE("local_data: EDNS is echoed with our size and the DO bit on local answers") {
  auto data = zone::local_data::build(sample());
  auto a = ask(*data, "sqs.us-east-1.amazonaws.com.", LDNS_RR_TYPE_A, "127.0.10.5",
               {.id = 9, .edns = true, .udp_size = 4096, .do_bit = true});
  REQUIRE(a.pkt);
  CHECK(ldns_pkt_id(a.pkt.get()) == 9);
  CHECK(ldns_pkt_edns(a.pkt.get()));
  CHECK(ldns_pkt_edns_udp_size(a.pkt.get()) == 1232);
  CHECK(ldns_pkt_edns_do(a.pkt.get()));
  auto plain = ask(*data, "sqs.us-east-1.amazonaws.com.", LDNS_RR_TYPE_A, "127.0.10.5");
  CHECK(!ldns_pkt_edns(plain.pkt.get()));
}

TEST_CASE("local_data: SOA and NS at an endpoint zone's apex are answered, not denied") {
  // Asking for the SOA must not get a NODATA that cites that same SOA (RFC 2308 2.2).
  auto data = zone::local_data::build(sample());
  auto soa = ask(*data, "sqs.us-east-1.amazonaws.com.", LDNS_RR_TYPE_SOA, "127.0.10.5");
  REQUIRE(soa.pkt);
  CHECK(ldns_pkt_get_rcode(soa.pkt.get()) == LDNS_RCODE_NOERROR);
  CHECK(ldns_pkt_ancount(soa.pkt.get()) == 1);
  CHECK(ldns_pkt_nscount(soa.pkt.get()) == 0);
  CHECK(rdata(soa, LDNS_RR_TYPE_SOA) == std::vector<std::string>{"ns-0.awsdns-00.com."});
  auto ns = ask(*data, "sqs.us-east-1.amazonaws.com.", LDNS_RR_TYPE_NS, "127.0.10.5");
  REQUIRE(ns.pkt);
  CHECK(rdata(ns, LDNS_RR_TYPE_NS) == std::vector<std::string>{"ns-0.awsdns-00.com."});
  // The wildcard-only ECR zone has them at its apex too; names below do not.
  auto dkr = ask(*data, "dkr.ecr.us-east-1.amazonaws.com.", LDNS_RR_TYPE_SOA, "127.0.20.9");
  CHECK(ldns_pkt_ancount(dkr.pkt.get()) == 1);
  auto below = ask(*data, "x.dkr.ecr.us-east-1.amazonaws.com.", LDNS_RR_TYPE_SOA, "127.0.20.9");
  CHECK(ldns_pkt_ancount(below.pkt.get()) == 0);
  CHECK(ldns_pkt_nscount(below.pkt.get()) == 1);
}

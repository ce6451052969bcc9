// The hot paths never touch the heap: a local answer (parse, view, lookup,
// copy) and a cache hit (lookup, render). Checked by counting every
// operator new of this test program while they run.
#include "cache/cache.hpp"
#include "config/config.hpp"
#include "server/handler.hpp"
#include "support/dns.hpp"
#include "zone/local_data.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

namespace {
std::atomic<long> allocations{0};
}

// The replacements pair malloc with free on purpose; GCC cannot see that.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(std::size_t n) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

using namespace vpcedns;

namespace {

constexpr const char* config_text = R"(
[listen]
addresses = ["127.0.0.1:5300"]
[forward]
upstreams = ["127.0.0.1:5353"]
[[vpc]]
name = "v"
cidrs = ["10.0.0.0/16"]
[[endpoint]]
id = "vpce-0a1b2c3d4e5f60718"
suffix = "abcd1234"
service = "com.amazonaws.us-east-1.sqs"
vpc = "v"
enis = [{ az = "us-east-1a", ipv4 = "10.0.1.10" }]
)";

}  // namespace

TEST_CASE("hot path: a local answer allocates nothing") {
  auto s = config::load_string(config_text, "t.toml");
  auto data = zone::local_data::build(s);
  auto pkt = test::make_query("SQS.us-east-1.amazonaws.com.", LDNS_RR_TYPE_A, {.edns = true});
  auto inside = *view::ip_address::parse("10.0.0.5");
  std::vector<uint8_t> out(wire::max_message);
  wire::query q;

  long before = allocations.load();
  std::size_t size = 0;
  for (int i = 0; i < 1000; ++i) {
    auto d = server::handle(*data, server::limits_from(s), pkt, inside, false, out, q);
    REQUIRE(d.what == server::decision::action::respond);
    size = d.size;
  }
  CHECK(allocations.load() - before == 0);
  auto r = test::parse(out.data(), size);
  REQUIRE(r);
  CHECK(test::rdata_of(ldns_pkt_answer(r.get()), LDNS_RR_TYPE_A) ==
        std::vector<std::string>{"10.0.1.10"});
}

TEST_CASE("hot path: a cache hit allocates nothing") {
  cache::settings cs;
  cache::answer_cache c(cs);
  auto query = test::make_query("www.example.test.", LDNS_RR_TYPE_A);
  wire::query q;
  REQUIRE(wire::parse_query(query, q) == wire::parse_status::ok);
  // The upstream's answer: the query turned into a response with one A record.
  std::vector<uint8_t> answer = query;
  wire::put16(answer.data() + 2, wire::flag::qr | wire::flag::rd | wire::flag::ra);
  wire::put16(answer.data() + 6, 1);
  const uint8_t rr[] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 198, 51, 100, 7};
  answer.insert(answer.end(), std::begin(rr), std::end(rr));
  REQUIRE(c.insert(cache::key(view::outside, q), answer, 0) != cache::answer_cache::no_entry);

  std::vector<uint8_t> out(wire::max_message);
  long before = allocations.load();
  std::size_t size = 0;
  for (int i = 0; i < 1000; ++i) {
    uint32_t e = 0;
    REQUIRE(c.lookup(cache::key(view::outside, q), 1000 + i, &e) == cache::outcome::fresh);
    size = c.render(e, q, query, out, 512, 1232, 1000 + i, false);
  }
  CHECK(allocations.load() - before == 0);
  auto r = test::parse(out.data(), size);
  REQUIRE(r);
  CHECK(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(r.get()), 0)) == 299);
}

// libFuzzer target over everything that reads network bytes: parse_query,
// the decision core handle() with every response it writes (local answers,
// errors, CHAOS, RFC 8482 HINFO), and relay_answer() over upstream answers.
//
// Input: one mode byte, then the message.
//   bit 0-1  client: inside the VPC, outside, not in the allow list
//   bit 2    TCP (no UDP size limit)
//   bit 3    the message is an upstream answer to a fixed client query
//   bit 4    that client query used EDNS (DO set)
// Crashes, sanitizer reports and the invariants below (__builtin_trap) are
// findings: every response must be a well-formed message within its limit.
#include "config/config.hpp"
#include "server/handler.hpp"
#include "wire/message.hpp"
#include "zone/local_data.hpp"

#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

using namespace vpcedns;

namespace {

constexpr const char* config_text = R"(
[listen]
addresses = ["127.0.0.1:5300"]
[forward]
upstreams = ["127.0.0.1:5301"]
[server]
allow = ["127.0.10.0/24", "127.0.20.0/24"]
chaos = "answer"
chaos_id = "fuzz"
[[vpc]]
name = "app"
cidrs = ["127.0.10.0/24"]
[[endpoint]]
id = "vpce-0a1b2c3d4e5f60718"
suffix = "abcd1234"
service = "com.amazonaws.us-east-1.sqs"
vpc = "app"
enis = [{ az = "us-east-1a", ipv4 = "10.0.1.10", ipv6 = "fd00::a" },
        { az = "us-east-1b", ipv4 = "10.0.2.10" }]
[[endpoint]]
id = "vpce-0123456789abcdef0"
suffix = "efgh5678"
service = "com.amazonaws.us-east-1.ecr.dkr"
vpc = "app"
enis = [{ az = "us-east-1a", ipv4 = "10.0.3.10" }]
)";

struct fixture {
  config::settings settings = config::load_string(config_text, "fuzz.toml");
  std::shared_ptr<const zone::local_data> data = zone::local_data::build(settings);
  server::limits lim = server::limits_from(settings);
};

void require(bool ok) {
  if (!ok) __builtin_trap();
}

// Header counts match the records, which end exactly at `n`.
void require_well_formed(const uint8_t* p, std::size_t n) {
  require(n >= wire::header_size);
  std::span<const uint8_t> m(p, n);
  require(m[2] & 0x80);  // QR
  std::size_t pos = wire::header_size;
  for (unsigned i = 0; i < wire::get16(p + 4); ++i) {
    pos = wire::skip_name(m, pos);
    require(pos != 0 && pos + 4 <= n);
    pos += 4;
  }
  unsigned rrs = wire::get16(p + 6) + wire::get16(p + 8) + wire::get16(p + 10);
  for (unsigned i = 0; i < rrs; ++i) {
    pos = wire::skip_name(m, pos);
    require(pos != 0 && pos + 10 <= n);
    pos += 10 + wire::get16(p + pos + 8);
    require(pos <= n);
  }
  require(pos == n);
}

view::ip_address client_of(uint8_t mode) {
  static const uint8_t last[] = {10, 20, 30, 10};
  return view::ip_address::v4(0x7f000005u | (uint32_t(last[mode & 3]) << 8));
}

std::vector<uint8_t> client_query(bool edns) {
  // www.Example.test A, RD, optionally EDNS 1232 with DO.
  std::vector<uint8_t> q = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, uint8_t(edns ? 1 : 0)};
  const uint8_t name[] = {3,   'w', 'w', 'w', 7,   'E', 'x', 'a', 'm', 'p', 'l',
                          'e', 4,   't', 'e', 's', 't', 0,   0,   1,   0,   1};
  q.insert(q.end(), name, name + sizeof name);
  if (edns) q.insert(q.end(), {0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0});
  return q;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  static fixture f;
  static std::array<uint8_t, wire::max_message> out;
  if (size < 1) return 0;
  uint8_t mode = data[0];
  std::span<const uint8_t> msg(data + 1, std::min<std::size_t>(size - 1, wire::max_message));
  bool tcp = mode & 4;

  if (!(mode & 8)) {
    wire::query q;
    server::decision d = server::handle(*f.data, f.lim, msg, client_of(mode), tcp, out, q);
    if (d.what != server::decision::action::respond) return 0;
    require_well_formed(out.data(), d.size);
    require(wire::get16(out.data()) == q.id);
    if (!tcp) require(d.size <= f.lim.edns_udp_max);
    return 0;
  }

  std::vector<uint8_t> client = client_query(mode & 16);
  wire::query q;
  require(wire::parse_query(client, q) == wire::parse_status::ok);
  server::relayed r =
      server::relay_answer(msg, server::upstream_failure::none, q, client, tcp, f.lim, out);
  require_well_formed(out.data(), r.size);
  require(wire::get16(out.data()) == 0x1234);
  require(tcp || r.size <= q.udp_limit(f.lim.edns_udp_max));
  return 0;
}

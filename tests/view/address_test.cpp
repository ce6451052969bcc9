// Tests for resolver/view/address.cpp and selector.cpp: addresses as numbers,
// prefixes, "ip:port" text, and longest-prefix view selection.
#include "view/address.hpp"
#include "view/selector.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>

using namespace vpcedns::view;

namespace {

ip_address ip(std::string_view text) {
  auto a = ip_address::parse(text);
  REQUIRE_MESSAGE(a, "not an address: " << std::string(text));
  return *a;
}

cidr prefix(std::string_view text) {
  std::string why;
  auto c = cidr::parse(text, &why);
  REQUIRE_MESSAGE(c, std::string(text) << ": " << why);
  return *c;
}

// The error text cidr::parse gives for `text`, or "" if it parses.
std::string cidr_error(std::string_view text) {
  std::string why;
  return cidr::parse(text, &why) ? "" : why;
}

std::string socket_error(std::string_view text, uint16_t default_port = 53) {
  std::string why;
  return socket_address::parse(text, default_port, &why) ? "" : why;
}

// `a` with its first `n` bits kept and the rest cleared.
ip_address masked(ip_address a, unsigned n) {
  for (unsigned bit = n; bit < a.bits(); ++bit)
    a.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
  return a;
}

ip_address flipped(ip_address a, unsigned bit) {
  a.bytes[bit / 8] ^= static_cast<uint8_t>(0x80 >> (bit % 8));
  return a;
}

}  // namespace

TEST_CASE("ip_address: parses IPv4 and IPv6 text and rejects anything else") {
  // Dotted quads and RFC 4291 text parse; names, ports, zone ids and junk do not.
  CHECK(ip("10.1.2.3").is_v4());
  CHECK(ip("10.1.2.3").to_string() == "10.1.2.3");
  CHECK(ip("10.1.2.3") == ip_address::v4(0x0a010203));
  CHECK_FALSE(ip("fd00::1").is_v4());
  CHECK(ip("FD00:0:0::1").to_string() == "fd00::1");
  CHECK(ip("::").bits() == 128);
  CHECK(ip("0.0.0.0").bits() == 32);
  for (std::string_view bad :
       {"", "1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", " 1.2.3.4", "1.2.3.4 ", "1.2.3.4:53",
        "[::1]", "fe80::1%lo", "::1::2", "localhost", "0x7f.0.0.1"}) {
    INFO(std::string(bad));
    CHECK_FALSE(ip_address::parse(bad));
  }
  CHECK_FALSE(ip_address::parse(std::string(100, '1')));
}

TEST_CASE("ip_address: an embedded NUL is rejected, not cut off") {
  // Regression: "1.2.3.4\0junk" parsed as 1.2.3.4 because inet_pton stops at the NUL.
  CHECK_FALSE(ip_address::parse(std::string_view("1.2.3.4\0junk", 12)));
  CHECK_FALSE(ip_address::parse(std::string_view("::1\0", 4)));
}

TEST_CASE("ip_address: unmapped turns ::ffff:a.b.c.d into IPv4 and leaves others alone") {
  // Dual-stack sockets report IPv4 clients as mapped IPv6; view selection unmaps them.
  CHECK(ip("::ffff:127.0.10.5").unmapped() == ip("127.0.10.5"));
  CHECK(ip("::ffff:127.0.10.5").unmapped().is_v4());
  CHECK(ip("::1").unmapped() == ip("::1"));
  CHECK(ip("::127.0.10.5").unmapped() == ip("::127.0.10.5"));  // deprecated compatible form
  CHECK(ip("10.0.0.1").unmapped() == ip("10.0.0.1"));
}

TEST_CASE("cidr: parses prefixes and explains bad ones") {
  // Valid prefixes round-trip; errors say what is wrong in words a user can act on.
  CHECK(prefix("10.0.0.0/16").to_string() == "10.0.0.0/16");
  CHECK(prefix("0.0.0.0/0").length == 0);
  CHECK(prefix("10.1.2.3/32").length == 32);
  CHECK(prefix("fd00:10::/64").to_string() == "fd00:10::/64");
  CHECK(prefix("::/0").length == 0);
  CHECK(prefix("::1/128").length == 128);

  CHECK(cidr_error("10.0.0.0") == "missing /prefix-length (e.g. 10.0.0.0/16)");
  CHECK(cidr_error("10.0.0.0/33") == "IPv4 prefix length must be 0-32");
  CHECK(cidr_error("fd00::/129") == "IPv6 prefix length must be 0-128");
  CHECK(cidr_error("10.0.0.0/") == "IPv4 prefix length must be 0-32");
  CHECK(cidr_error("10.0.0.0/-1") == "IPv4 prefix length must be 0-32");
  CHECK(cidr_error("10.0.0.0/+8") == "IPv4 prefix length must be 0-32");
  CHECK(cidr_error("10.0.0.0/8x") == "IPv4 prefix length must be 0-32");
  CHECK(cidr_error("10.0.0.0/99999999999") == "IPv4 prefix length must be 0-32");
  CHECK(cidr_error("ten/8") == "'ten' is not an IP address");
  CHECK(cidr_error("/8") == "'' is not an IP address");
}

TEST_CASE("cidr: host bits set is an error that suggests the network") {
  // A typo such as 10.0.1.0/16 is refused with the prefix the user probably meant.
  CHECK(cidr_error("10.0.1.0/16") == "host bits set: did you mean 10.0.0.0/16?");
  CHECK(cidr_error("127.0.10.5/24") == "host bits set: did you mean 127.0.10.0/24?");
  CHECK(cidr_error("10.0.0.1/0") == "host bits set: did you mean 0.0.0.0/0?");
  CHECK(cidr_error("fd00:10::1/64") == "host bits set: did you mean fd00:10::/64?");
  CHECK(cidr_error("10.0.0.1/32") == "");
}

TEST_CASE("cidr: contains compares numbers, not text") {
  // 127.0.100.5 starts with the text "127.0.10" but is not in 127.0.10.0/24.
  cidr c = prefix("127.0.10.0/24");
  CHECK(c.contains(ip("127.0.10.0")));
  CHECK(c.contains(ip("127.0.10.255")));
  CHECK_FALSE(c.contains(ip("127.0.100.5")));
  CHECK_FALSE(c.contains(ip("127.0.1.5")));
  CHECK_FALSE(c.contains(ip("127.0.11.0")));
  CHECK(prefix("10.0.0.0/9").contains(ip("10.127.255.255")));
  CHECK_FALSE(prefix("10.0.0.0/9").contains(ip("10.128.0.0")));
}

TEST_CASE("cidr: every IPv4 prefix length 0..32 splits at exactly bit n") {
  // For each n: the address masked to n bits, as a /n prefix, contains the address;
  // flipping bit n-1 (the last network bit, counting from 0) leaves the prefix, while
  // flipping bit n (the first host bit) stays inside.
  const ip_address addr = ip("203.0.113.201");
  for (unsigned n = 0; n <= 32; ++n) {
    INFO("length " << n);
    cidr c = prefix(masked(addr, n).to_string() + "/" + std::to_string(n));
    CHECK(c.length == n);
    CHECK(c.contains(addr));
    if (n > 0) CHECK_FALSE(c.contains(flipped(addr, n - 1)));
    if (n < 32) CHECK(c.contains(flipped(addr, n)));
  }
}

TEST_CASE("cidr: every IPv6 prefix length 0..128 splits at exactly bit n") {
  // The IPv6 version of the loop above, over an address with bits set throughout.
  const ip_address addr = ip("2001:db8:a5a5:5a5a:f0f0:0f0f:ffff:1234");
  for (unsigned n = 0; n <= 128; ++n) {
    INFO("length " << n);
    cidr c = prefix(masked(addr, n).to_string() + "/" + std::to_string(n));
    CHECK(c.length == n);
    CHECK(c.contains(addr));
    if (n > 0) CHECK_FALSE(c.contains(flipped(addr, n - 1)));
    if (n < 128) CHECK(c.contains(flipped(addr, n)));
  }
}

TEST_CASE("cidr: families never mix, except IPv4-mapped clients matching IPv4 prefixes") {
  // ::ffff:127.0.10.5 is 127.0.10.5; a plain IPv4 address never matches an IPv6 prefix.
  CHECK(prefix("127.0.10.0/24").contains(ip("::ffff:127.0.10.5")));
  CHECK_FALSE(prefix("::/0").contains(ip("10.0.0.1")));
  CHECK_FALSE(prefix("::ffff:0:0/96").contains(ip("10.0.0.1")));
  CHECK_FALSE(prefix("0.0.0.0/0").contains(ip("fd00::1")));
  CHECK_FALSE(prefix("0.0.0.0/0").contains(ip("::")));
}

TEST_CASE("socket_address: parses ip:port and [v6]:port with a default port") {
  // Ports default when absent; IPv6 needs brackets to carry a port.
  auto parse = [](std::string_view text, uint16_t default_port = 53) {
    std::string why;
    auto a = socket_address::parse(text, default_port, &why);
    REQUIRE_MESSAGE(a, std::string(text) << ": " << why);
    return *a;
  };
  CHECK(parse("127.0.0.1:5300").to_string() == "127.0.0.1:5300");
  CHECK(parse("127.0.0.1").to_string() == "127.0.0.1:53");
  CHECK(parse("[::1]:5300").to_string() == "[::1]:5300");
  CHECK(parse("[::1]").to_string() == "[::1]:53");
  CHECK(parse("::1").to_string() == "[::1]:53");
  CHECK(parse("[fd00::1]:65535").port == 65535);
  CHECK(parse("10.0.0.2:1", 0).port == 1);
  CHECK(parse("10.0.0.2", 5353) == socket_address{ip("10.0.0.2"), 5353});
}

TEST_CASE("socket_address: explains bad text") {
  // Each bad form gets a message naming the problem.
  CHECK(socket_error("localhost:53") ==
        "'localhost' is not an IP address (names are not resolved)");
  CHECK(socket_error("127.0.0.1:0") == "port must be 1-65535");
  CHECK(socket_error("127.0.0.1:65536") == "port must be 1-65535");
  CHECK(socket_error("127.0.0.1:") == "port must be 1-65535");
  CHECK(socket_error("127.0.0.1:dns") == "port must be 1-65535");
  CHECK(socket_error("[::1]:") == "port must be 1-65535");
  CHECK(socket_error("[::1") == "missing ']' after IPv6 address");
  CHECK(socket_error("[::1]53") == "expected ':port' after ']'");
  CHECK(socket_error("127.0.0.1", 0) == "a port is required (e.g. 127.0.0.1:5300)");
  CHECK(socket_error("[::1]", 0) == "a port is required (e.g. 127.0.0.1:5300)");
}

TEST_CASE("socket_address: brackets around IPv4 are refused") {
  // Regression: "[1.2.3.4]:53" was accepted; RFC 3986 brackets are for IPv6 only.
  CHECK(socket_error("[127.0.0.1]:53") == "brackets are only for IPv6 addresses");
  CHECK(socket_error("[::ffff:127.0.0.1]:53") == "");
}

TEST_CASE("selector: the longest matching prefix wins, whatever the insertion order") {
  // A /24 inside a /16 inside a /8: each address lands in the most specific view.
  for (bool reversed : {false, true}) {
    INFO("reversed " << reversed);
    selector s;
    if (!reversed) {
      s.add(prefix("10.0.0.0/8"), 1);
      s.add(prefix("10.1.0.0/16"), 2);
      s.add(prefix("10.1.2.0/24"), 3);
    } else {
      s.add(prefix("10.1.2.0/24"), 3);
      s.add(prefix("10.1.0.0/16"), 2);
      s.add(prefix("10.0.0.0/8"), 1);
    }
    CHECK(s.select(ip("10.1.2.3")) == 3);
    CHECK(s.select(ip("10.1.3.3")) == 2);
    CHECK(s.select(ip("10.2.0.1")) == 1);
    CHECK(s.select(ip("11.0.0.1")) == outside);
  }
}

TEST_CASE("selector: matches numerically, unmaps IPv4-mapped clients, keeps families apart") {
  // The multi-VPC example: app = 127.0.10.0/24 + fd00:10::/64, data = 127.0.20.0/24.
  selector s;
  s.add(prefix("127.0.10.0/24"), 1);
  s.add(prefix("fd00:10::/64"), 1);
  s.add(prefix("127.0.20.0/24"), 2);
  CHECK(s.select(ip("127.0.10.5")) == 1);
  CHECK(s.select(ip("127.0.100.5")) == outside);
  CHECK(s.select(ip("127.0.20.5")) == 2);
  CHECK(s.select(ip("::ffff:127.0.10.5")) == 1);
  CHECK(s.select(ip("::ffff:127.0.20.5")) == 2);
  CHECK(s.select(ip("fd00:10::5")) == 1);
  CHECK(s.select(ip("fd00:11::5")) == outside);
  CHECK(s.select(ip("127.0.0.1")) == outside);
  CHECK(selector{}.select(ip("10.0.0.1")) == outside);
}

TEST_CASE("selector: default routes catch only their own family") {
  // 0.0.0.0/0 takes every IPv4 (and mapped) client but no IPv6 one, and vice versa.
  selector s;
  s.add(prefix("0.0.0.0/0"), 4);
  s.add(prefix("::/0"), 6);
  CHECK(s.select(ip("192.0.2.1")) == 4);
  CHECK(s.select(ip("::ffff:192.0.2.1")) == 4);
  CHECK(s.select(ip("2001:db8::1")) == 6);
}

TEST_CASE("selector: every prefix length picks the view for inside and outside addresses") {
  // For each n, a selector holding the /n prefix and the /(n+1) one beside it:
  // the address goes to the /n view, the address with bit n flipped to the other.
  for (std::string text : {"198.51.100.77", "2001:db8:ffff:1234:5678:9abc:def0:1357"}) {
    const ip_address addr = ip(text);
    for (unsigned n = 0; n <= addr.bits(); ++n) {
      INFO(text << "/" << n);
      selector s;
      s.add(cidr{masked(addr, n), n}, 7);
      CHECK(s.select(addr) == 7);
      if (n == 0) CHECK(s.select(flipped(addr, 0)) == 7);
      if (n > 0) CHECK(s.select(flipped(addr, n - 1)) == outside);
      if (n < addr.bits()) {
        ip_address sibling = flipped(addr, n);
        s.add(cidr{masked(sibling, n + 1), n + 1}, 8);
        CHECK(s.select(sibling) == 8);
        CHECK(s.select(addr) == 7);
      }
    }
  }
}

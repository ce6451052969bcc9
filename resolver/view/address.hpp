// IP addresses and CIDR prefixes as numbers, for view selection.
// Pure code: no sockets, no Asio.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vpcedns::view {

// An IPv4 or IPv6 address in network byte order. IPv4 uses bytes[0..3].
struct ip_address {
  enum class family : uint8_t { v4, v6 };
  family fam = family::v4;
  std::array<uint8_t, 16> bytes{};

  bool is_v4() const { return fam == family::v4; }
  unsigned bits() const { return is_v4() ? 32 : 128; }
  // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) as the IPv4 address it carries;
  // any other address unchanged. Dual-stack sockets report IPv4 clients this way.
  ip_address unmapped() const;
  std::string to_string() const;
  bool operator==(const ip_address&) const = default;

  static ip_address v4(uint32_t host_order);
  // Parses dotted-quad IPv4 or RFC 4291 text IPv6 (no brackets, no zone id).
  static std::optional<ip_address> parse(std::string_view text);
};

// A prefix such as 10.0.0.0/16 or fd00::/8. Host bits must be zero.
struct cidr {
  ip_address network;
  unsigned length = 0;  // 0..32 for IPv4, 0..128 for IPv6

  // True when addr (after unmapping) is of the same family and its first
  // `length` bits equal the network's.
  bool contains(const ip_address& addr) const;
  std::string to_string() const;

  // Parses "a.b.c.d/n" or "x::y/n". On failure returns nullopt and sets *why
  // to what is wrong ("prefix length must be 0-32", "host bits set: did you mean 10.0.0.0/16?").
  static std::optional<cidr> parse(std::string_view text, std::string* why);
};

// "host:port", "[v6]:port" or "v4:port" -> address and port.
struct socket_address {
  ip_address addr;
  uint16_t port = 0;
  std::string to_string() const;  // "127.0.0.1:5300" or "[::1]:5300"
  bool operator==(const socket_address&) const = default;
  // default_port is used when text has no port; 0 means a port is required.
  static std::optional<socket_address> parse(std::string_view text, uint16_t default_port,
                                             std::string* why);
};

}  // namespace vpcedns::view

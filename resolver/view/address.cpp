#include "view/address.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace vpcedns::view {

ip_address ip_address::unmapped() const {
  static constexpr uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (is_v4() || std::memcmp(bytes.data(), prefix, sizeof prefix) != 0) return *this;
  ip_address out;
  std::memcpy(out.bytes.data(), bytes.data() + 12, 4);
  return out;
}

ip_address ip_address::v4(uint32_t host_order) {
  ip_address out;
  out.bytes[0] = host_order >> 24;
  out.bytes[1] = host_order >> 16;
  out.bytes[2] = host_order >> 8;
  out.bytes[3] = host_order;
  return out;
}

std::optional<ip_address> ip_address::parse(std::string_view text) {
  // inet_pton needs a NUL-terminated string; bound the copy first. An embedded
  // NUL (TOML allows "\u0000") would make inet_pton see only the text before it.
  char buf[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof buf) return std::nullopt;
  if (text.find('\0') != std::string_view::npos) return std::nullopt;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  ip_address out;
  if (inet_pton(AF_INET, buf, out.bytes.data()) == 1) return out;
  out.fam = family::v6;
  if (inet_pton(AF_INET6, buf, out.bytes.data()) == 1) return out;
  return std::nullopt;
}

std::string ip_address::to_string() const {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(is_v4() ? AF_INET : AF_INET6, bytes.data(), buf, sizeof buf);
  return buf;
}

namespace {

// Compares the first `length` bits of two 16-byte arrays.
bool same_prefix(const uint8_t* a, const uint8_t* b, unsigned length) {
  unsigned whole = length / 8;
  if (std::memcmp(a, b, whole) != 0) return false;
  unsigned rest = length % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

}  // namespace

bool cidr::contains(const ip_address& addr) const {
  ip_address a = addr.unmapped();
  if (a.fam != network.fam) return false;
  return same_prefix(a.bytes.data(), network.bytes.data(), length);
}

std::string cidr::to_string() const {
  return network.to_string() + "/" + std::to_string(length);
}

std::optional<cidr> cidr::parse(std::string_view text, std::string* why) {
  auto fail = [&](std::string msg) -> std::optional<cidr> {
    if (why) *why = std::move(msg);
    return std::nullopt;
  };
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return fail("missing /prefix-length (e.g. 10.0.0.0/16)");
  auto addr = ip_address::parse(text.substr(0, slash));
  if (!addr) return fail("'" + std::string(text.substr(0, slash)) + "' is not an IP address");
  auto len_text = text.substr(slash + 1);
  unsigned len = 0;
  auto [end, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
  if (len_text.empty() || ec != std::errc() || end != len_text.data() + len_text.size() ||
      len > addr->bits()) {
    return fail(addr->is_v4() ? "IPv4 prefix length must be 0-32"
                              : "IPv6 prefix length must be 0-128");
  }
  cidr out{*addr, len};
  // Host bits must be zero: a typo such as 10.0.1.0/16 usually means 10.0.0.0/16.
  ip_address masked = *addr;
  for (unsigned bit = len; bit < addr->bits(); ++bit)
    masked.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
  if (!(masked == *addr)) {
    return fail("host bits set: did you mean " + masked.to_string() + "/" + std::to_string(len) +
                "?");
  }
  return out;
}

std::string socket_address::to_string() const {
  if (addr.is_v4()) return addr.to_string() + ":" + std::to_string(port);
  return "[" + addr.to_string() + "]:" + std::to_string(port);
}

std::optional<socket_address> socket_address::parse(std::string_view text, uint16_t default_port,
                                                    std::string* why) {
  auto fail = [&](std::string msg) -> std::optional<socket_address> {
    if (why) *why = std::move(msg);
    return std::nullopt;
  };
  std::string_view host = text, port_text;
  bool bracketed = !text.empty() && text.front() == '[';
  if (bracketed) {
    auto close = text.find(']');
    if (close == std::string_view::npos) return fail("missing ']' after IPv6 address");
    host = text.substr(1, close - 1);
    auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return fail("expected ':port' after ']'");
      port_text = rest.substr(1);
    }
  } else if (text.find(':') != text.rfind(':')) {
    // Bare IPv6 without brackets: no port possible.
    host = text;
  } else if (auto colon = text.find(':'); colon != std::string_view::npos) {
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  auto addr = ip_address::parse(host);
  if (!addr)
    return fail("'" + std::string(host) + "' is not an IP address (names are not resolved)");
  // RFC 3986 section 3.2.2: brackets enclose IPv6 literals only.
  if (bracketed && addr->is_v4()) return fail("brackets are only for IPv6 addresses");
  unsigned port = default_port;
  if (!port_text.empty() || text.ends_with(':')) {
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
        port == 0 || port > 65535)
      return fail("port must be 1-65535");
  }
  if (port == 0) return fail("a port is required (e.g. 127.0.0.1:5300)");
  return socket_address{*addr, static_cast<uint16_t>(port)};
}

}  // namespace vpcedns::view

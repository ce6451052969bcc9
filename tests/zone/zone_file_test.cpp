// Tests for resolver/zone/zone_file.cpp: master files in, wire records or a
// config::error naming file, line and problem out.
#include "zone/zone_file.hpp"
#include "config/config.hpp"

#include <doctest/doctest.h>

#include <unistd.h>
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>

using namespace vpcedns;

namespace {

// A fresh directory per test, removed afterwards.
struct temp_dir {
  temp_dir() {
    char tmpl[] = "/tmp/vpcedns-zone-test.XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~temp_dir() { std::system(("rm -rf '" + path + "'").c_str()); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path + "/" + name) << text;
    return path + "/" + name;
  }
  std::string path;
};

const std::string soa = "@ 3600 IN SOA ns1 hostmaster 1 3600 600 86400 60\n";

// The error loading `text` as zone "example.internal" gives ("" if it loads).
std::string error_of(const temp_dir& d, const std::string& text,
                     const std::string& name = "z.zone") {
  try {
    zone::load_zone_file(d.write(name, text), "example.internal");
  } catch (const config::error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("zone_file: RFC 1035 syntax: $ORIGIN, $TTL, blank owners, parentheses, comments") {
  // A file using each feature loads; relative names take the current origin.
  temp_dir d;
  auto path = d.write("z.zone",
                      "$TTL 1h ; default\n"
                      "@ IN SOA ns1 hostmaster (\n"
                      "    1 ; serial\n"
                      "    3600 600 86400 60 )\n"
                      "  IN NS ns1\n"
                      "ns1 A 10.0.0.1\n"
                      "txt TXT \"semi;colon\" \"(paren)\"\n"
                      "$ORIGIN sub.example.internal.\n"
                      "www 30 IN A 10.0.0.2\n"
                      "    AAAA fd00::2\n");
  auto z = zone::load_zone_file(path, "Example.Internal.");
  CHECK(z.apex_text == "example.internal.");
  REQUIRE(z.records.size() == 6);
  CHECK(z.records[0].rtype == 6);
  CHECK(z.records[0].ttl == 3600);
  CHECK(z.records[1].owner == std::string("\7example\10internal\0", 18));
  CHECK(z.records[1].rtype == 2);
  CHECK(z.records[3].rdata.size() == 19);  // "semi;colon" and "(paren)": 1+10 + 1+7
  CHECK(z.records[4].owner == std::string("\3www\3sub\7example\10internal\0", 26));
  CHECK(z.records[4].ttl == 30);
  CHECK(z.records[5].owner == z.records[4].owner);  // blank owner: the previous one
  CHECK(z.records[5].ttl == 3600);                  // $TTL, not the last stated TTL
  CHECK(z.records[5].where == path + ":10");
}

TEST_CASE("zone_file: $INCLUDE reads a file relative to the including one, with an origin") {
  temp_dir d;
  d.write("hosts.inc", "db A 10.0.0.5\n");
  auto path = d.write("z.zone", soa + "$INCLUDE hosts.inc hosts.example.internal.\nx A 10.0.0.6\n");
  auto z = zone::load_zone_file(path, "example.internal");
  REQUIRE(z.records.size() == 3);
  CHECK(z.includes == 1);
  CHECK(z.records[1].owner == std::string("\2db\5hosts\7example\10internal\0", 27));
  CHECK(z.records[1].ttl == 3600);  // RFC 1035: the last stated TTL carries on
  CHECK(z.records[1].where == d.path + "/hosts.inc:1");
  // The origin set for the include does not leak back.
  CHECK(z.records[2].owner == std::string("\1x\7example\10internal\0", 20));
}

TEST_CASE("zone_file: bad files are rejected with file, line and the problem") {
  // Each row: file text, then the message expected (after "<path>:").
  temp_dir d;
  struct row {
    const char* what;
    std::string text;
    std::string error;
  };
  const row rows[] = {
      {"unknown type", soa + "www IN AAA 10.0.0.1\n", "z.zone:2: unknown record type \"AAA\""},
      {"DNAME", soa + "old IN DNAME new.corp.internal.\n", "z.zone:2: DNAME is not supported"},
      {"bad TTL", soa + "www 3x600 IN A 10.0.0.1\n", "z.zone:2: bad TTL \"3x600\""},
      {"TTL too large", soa + "www 2147483648 IN A 10.0.0.1\n",
       "z.zone:2: bad TTL \"2147483648\"; use seconds 0-2147483647 (RFC 2181 8)"},
      {"bad $TTL", "$TTL forever\n" + soa, "z.zone:1: $TTL \"forever\" is not a TTL"},
      {"missing SOA", "$TTL 60\nwww A 10.0.0.1\n",
       "z.zone:2: zone example.internal. has no SOA record"},
      {"SOA not first", "$TTL 60\nwww A 10.0.0.1\n" + soa,
       "z.zone:2: the first record must be the SOA of example.internal."},
      {"two SOAs", soa + soa, "z.zone:2: second SOA record"},
      {"out-of-zone data", soa + "www.example.com. 60 A 10.0.0.1\n",
       "z.zone:2: out-of-zone data: www.example.com. is not in zone example.internal."},
      {"out of zone by $ORIGIN", soa + "$ORIGIN other.\nwww 60 A 10.0.0.1\n",
       "z.zone:3: out-of-zone data: www.other."},
      {"bad rdata", soa + "www 60 A 10.0.0\n", "z.zone:2: cannot parse this A record's data"},
      {"class other than IN", soa + "www 60 CH A 10.0.0.1\n",
       "z.zone:2: class CH is not supported; only IN"},
      {"no TTL anywhere", "@ IN SOA ns1 hostmaster 1 3600 600 86400 60\n",
       "z.zone:1: record has no TTL and no $TTL came before it"},
      {"CNAME and other data", soa + "www 60 CNAME db\nwww 60 A 10.0.0.1\n",
       "z.zone:3: a CNAME cannot share its name with other records (RFC 2181 10.1)"},
      {"unclosed parenthesis", soa + "www 60 TXT ( \"a\"\n", "z.zone:2: '(' is never closed"},
      {"unterminated quote", soa + "www 60 TXT \"abc\nx 60 A 10.0.0.1\n",
       "z.zone:2: quoted string runs past the end of the line"},
      {"unknown directive", soa + "$GENERATE 1-4 h$ A 10.0.0.$\n",
       "z.zone:2: unsupported directive $GENERATE"},
      {"no owner yet", "$TTL 60\n  A 10.0.0.1\n", "z.zone:2: record has no owner name"},
      {"include missing", soa + "$INCLUDE nothing.inc\n", "z.zone:2: cannot read "},
  };
  for (const auto& r : rows) {
    CAPTURE(r.what);
    std::string message = error_of(d, r.text);
    CHECK_MESSAGE(message.find(d.path + "/" + r.error) != std::string::npos,
                  "expected \"" << r.error << "\" in:\n"
                                << message);
  }
}

TEST_CASE("zone_file: an $INCLUDE loop is reported at the directive that closes it") {
  temp_dir d;
  d.write("a.inc", "$INCLUDE b.inc\n");
  d.write("b.inc", "x 60 A 10.0.0.1\n$INCLUDE a.inc\n");
  std::string message = error_of(d, soa + "$INCLUDE a.inc\n");
  CHECK(message.find(d.path + "/b.inc:2: $INCLUDE loop: " + d.path +
                     "/a.inc is already being read") != std::string::npos);
  // Including itself.
  message = error_of(d, soa + "$INCLUDE z.zone\n");
  CHECK(message.find("z.zone:2: $INCLUDE loop") != std::string::npos);
}

TEST_CASE("zone_file: every problem is reported, one line each, up to the limit") {
  temp_dir d;
  std::string text = soa + "a 60 IN AAA 1\nb 1x IN A 10.0.0.1\nc 60 IN A 10.0.0\n";
  std::string message = error_of(d, text);
  CHECK(message.find("z.zone:2:") != std::string::npos);
  CHECK(message.find("\n" + d.path + "/z.zone:3:") != std::string::npos);
  CHECK(message.find("\n" + d.path + "/z.zone:4:") != std::string::npos);
  std::string many = soa;
  for (int i = 0; i < 50; ++i) many += "x 60 IN BOGUS 1\n";
  message = error_of(d, many);
  CHECK(std::count(message.begin(), message.end(), '\n') + 1 == int(zone::max_zone_errors));
}

TEST_CASE("zone_file: an unreadable file names the path") {
  CHECK_THROWS_WITH_AS(zone::load_zone_file("/nonexistent/z.zone", "example.internal"),
                       "/nonexistent/z.zone: cannot read: No such file or directory",
                       config::error);
}

TEST_CASE("zone_file: the shipped example zone loads") {
  auto z = zone::load_zone_file(VPCEDNS_SOURCE_DIR "/zones/corp.internal.zone", "corp.internal");
  CHECK(z.records.size() > 10);
  CHECK(z.records[0].rtype == 6);
}

// Reads an RFC 1035 master file (a private hosted zone) into wire-form records.
//
// The file is split into entries here ($ORIGIN, $TTL, $INCLUDE, comments,
// parentheses, quoted strings, blank owners); each record is then parsed by
// ldns. Everything ldns is lax about (TTLs, classes, type names) is checked
// first, so every problem names the file and line. Runs at load and reload,
// never per query.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vpcedns::zone {

struct record {
  std::string owner;  // lowercase wire name, at or below the apex
  uint16_t rtype = 0;
  uint32_t ttl = 0;
  std::vector<uint8_t> rdata;  // wire RDATA, names uncompressed and as written
  std::string where;           // "file:line", for later messages
};

struct zone_file {
  std::string path;             // as given
  std::string apex;             // lowercase wire name
  std::string apex_text;        // "corp.internal."
  std::vector<record> records;  // in file order; records[0] is the SOA
  std::size_t includes = 0;     // $INCLUDE files read
};

// Most problems a file may hold before the loader stops reporting more.
inline constexpr std::size_t max_zone_errors = 20;

// Loads `path` as the zone `origin` (text, trailing dot optional), which is
// also the initial $ORIGIN. Relative $INCLUDE paths are relative to the
// directory of the file holding the directive. Throws config::error whose
// what() is one line per problem, "<file>:<line>: <problem>", e.g.
//   zones/corp.internal.zone:12: unknown record type "AAA"; ...
// Checked: syntax, TTLs (RFC 2181 8), class IN only, known types, RDATA,
// owners at or below the apex, exactly one SOA at the apex and first
// (RFC 1035 5.2), CNAME alone at its name (RFC 2181 10.1), $INCLUDE loops.
zone_file load_zone_file(const std::string& path, const std::string& origin);

}  // namespace vpcedns::zone

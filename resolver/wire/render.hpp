// Text-to-wire rendering with ldns, used when the config or a zone is loaded
// (never per query).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vpcedns::wire {

// "Sqs.us-east-1.amazonaws.com" (trailing dot optional) -> lowercase wire
// form, or nullopt when ldns rejects it (label > 63, name > 255, bad escape).
std::optional<std::string> name_from_text(std::string_view text);

// The RDATA of a record given in presentation format, e.g.
//   rdata_from_text("SOA", "ns-0.awsdns-00.com. awsdns-hostmaster.amazon.com. 1 7200 900 1209600
//   86400")
// Names inside the RDATA are written uncompressed. nullopt on a parse error.
std::optional<std::vector<uint8_t>> rdata_from_text(std::string_view rtype, std::string_view rdata);

// "A", "AAAA", "TYPE65280"...: the mnemonic of an RR type, for logs. Points
// into ldns's static table or a thread-local buffer; does not allocate.
const char* type_name(uint16_t rtype);

}  // namespace vpcedns::wire

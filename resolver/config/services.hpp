// What AWS private DNS covers for each interface-endpoint service.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vpcedns::config {

struct service_names {
  std::vector<std::string> private_dns_names;  // lowercase, "*." prefix for a wildcard
  std::string vpce_service;                    // e.g. "sqs", "api.ecr", "dkr.ecr"
};

// The built-in table, for service keys such as "sqs", "ecr.api", "execute-api".
// nullopt for a service not in the table.
std::optional<service_names> builtin_service_names(std::string_view service_key,
                                                   std::string_view region);

// For services not in the table: the vpce service label is the service key's
// labels reversed ("ecr.api" -> "api.ecr"), as AWS names them.
std::string reversed_labels(std::string_view service_key);

}  // namespace vpcedns::config

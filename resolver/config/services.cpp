#include "config/services.hpp"

#include <algorithm>
#include <array>
#include <vector>

namespace vpcedns::config {

namespace {

// Services whose private DNS name is "<key>.<region>.<dns suffix>" and whose
// vpce label is the key itself. Keep this to names AWS documents for private DNS;
// anything less certain belongs in the config's private_dns_names.
constexpr std::array<std::string_view, 19> plain_services = {
    "sqs",         "sns",
    "sts",         "kms",
    "ssm",         "ssmmessages",
    "ec2messages", "secretsmanager",
    "logs",        "monitoring",
    "events",      "lambda",
    "ec2",         "elasticloadbalancing",
    "autoscaling", "ecs",
    "states",      "cloudformation",
    "codebuild",
};

// Services whose names do not follow the plain pattern. In `names`, "{r}" stands
// for the region and "{d}" for the partition's DNS suffix.
struct irregular_service {
  std::string_view key;
  std::string_view vpce_service;
  std::array<std::string_view, 2> names;  // an empty entry is unused
};

constexpr std::array<irregular_service, 3> irregular_services = {{
    {"ecr.api", "api.ecr", {"api.ecr.{r}.{d}", ""}},
    // Image layers are fetched from <registry-id>.dkr.ecr..., hence the wildcard.
    {"ecr.dkr", "dkr.ecr", {"dkr.ecr.{r}.{d}", "*.dkr.ecr.{r}.{d}"}},
    // API Gateway private APIs are called as <api-id>.execute-api...
    {"execute-api", "execute-api", {"execute-api.{r}.{d}", "*.execute-api.{r}.{d}"}},
}};

// The DNS suffix of the region's partition, or empty for partitions whose public
// names we do not know well enough to answer for (the ISO regions).
std::string dns_suffix(std::string_view region) {
  if (region.find("-iso") != std::string_view::npos) return {};
  if (region.starts_with("cn-")) return "amazonaws.com.cn";
  return "amazonaws.com";  // aws and aws-us-gov
}

std::string expand(std::string_view pattern, std::string_view region, std::string_view suffix) {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern.substr(i, 3) == "{r}") {
      out += region;
      i += 2;
    } else if (pattern.substr(i, 3) == "{d}") {
      out += suffix;
      i += 2;
    } else {
      out += pattern[i];
    }
  }
  return out;
}

}  // namespace

std::optional<service_names> builtin_service_names(std::string_view service_key,
                                                   std::string_view region) {
  std::string suffix = dns_suffix(region);
  if (suffix.empty()) return std::nullopt;

  if (std::find(plain_services.begin(), plain_services.end(), service_key) !=
      plain_services.end()) {
    std::string name = std::string(service_key) + "." + std::string(region) + "." + suffix;
    return service_names{{name}, std::string(service_key)};
  }

  for (const auto& s : irregular_services) {
    if (s.key != service_key) continue;
    service_names out{{}, std::string(s.vpce_service)};
    for (auto pattern : s.names)
      if (!pattern.empty()) out.private_dns_names.push_back(expand(pattern, region, suffix));
    return out;
  }
  return std::nullopt;
}

std::string reversed_labels(std::string_view service_key) {
  std::vector<std::string_view> labels;
  size_t start = 0;
  for (size_t dot; (dot = service_key.find('.', start)) != std::string_view::npos; start = dot + 1)
    labels.push_back(service_key.substr(start, dot - start));
  labels.push_back(service_key.substr(start));

  std::string out;
  for (auto it = labels.rbegin(); it != labels.rend(); ++it) {
    if (!out.empty()) out += '.';
    out += *it;
  }
  return out;
}

}  // namespace vpcedns::config

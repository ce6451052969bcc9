#include "log/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <mutex>

namespace vpcedns::log {

namespace {

std::once_flag init_once;
spdlog::sink_ptr shared_sink;
const char* const subsystems[] = {"main", "config", "server", "forward",
                                  "zone", "query",  "control"};

}  // namespace

void init() {
  std::call_once(init_once, [] {
    shared_sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    for (const char* name : subsystems) {
      auto logger = std::make_shared<spdlog::logger>(name, shared_sink);
      logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%n] %v");
      spdlog::register_logger(logger);
    }
  });
}

bool set_level(const std::string& level) {
  auto lvl = spdlog::level::from_str(level);
  // from_str maps unknown names to "off"; only accept "off" when asked for.
  if (lvl == spdlog::level::off && level != "off") return false;
  init();
  for (const char* name : subsystems) spdlog::get(name)->set_level(lvl);
  return true;
}

std::shared_ptr<spdlog::logger> get(const std::string& subsystem) {
  init();
  auto logger = spdlog::get(subsystem);
  return logger ? logger : spdlog::get("main");
}

}  // namespace vpcedns::log

// spdlog setup: one named logger per subsystem, all writing to stderr
// (journald picks it up under systemd).
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace vpcedns::log {

// Creates the loggers (idempotent). Called first thing by main.
void init();
// Sets the level of every vpcedns logger. Returns false for an unknown name.
bool set_level(const std::string& level);
// The logger of a subsystem: "main", "config", "server", "forward", "zone", "query",
// "control".
std::shared_ptr<spdlog::logger> get(const std::string& subsystem);

}  // namespace vpcedns::log

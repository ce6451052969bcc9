// Decides what to log about upstream trouble from query outcomes alone.
// Pure code: takes `now` and returns lines to log; no clock, no logger.
#pragma once

#include "forward/forwarder.hpp"

#include <chrono>
#include <cstdint>
#include <optional>

namespace vpcedns::forward {

// How the upstreams looked to the most recent query. c-ares 1.18 does not say
// which upstream failed, so this describes the upstream list as a whole.
enum class upstream_state {
  ok,       // answered at the first attempt
  slow,     // answered, but only after one or more attempts timed out
  failing,  // every attempt failed: timeout, unreachable or bad_answer
};
const char* to_string(upstream_state s);

struct health_line {
  upstream_state state = upstream_state::ok;  // the state now
  upstream_state was = upstream_state::ok;    // the state the previous line reported
  status last = status::answered;             // the most recent outcome counted
  std::uint64_t troubled = 0;                 // slow or failed queries since the previous line
  std::uint64_t suppressed = 0;               // outcomes that wanted a line but were held back
};

// Rate-limits health lines: one per state change, and while not ok at most one
// per `min_gap` with the count of what was held back. A line held back is
// released by flush() once the gap has passed, so a state change within the
// gap is never lost, only delayed.
class health_log {
 public:
  using clock = std::chrono::steady_clock;

  explicit health_log(clock::duration min_gap = std::chrono::seconds(1)) : min_gap_(min_gap) {}

  // Notes one finished query. `timeouts` is how many attempts timed out before
  // the outcome. cancelled and bad_query say nothing about upstreams: ignored.
  // Returns the line to log now, if any.
  std::optional<health_line> note(status st, int timeouts, clock::time_point now);

  // The upstreams' state after the latest outcome (for `vpcedns ctl status`).
  upstream_state state() const { return state_; }

  // When a line is being held back: the time from which flush() releases it.
  std::optional<clock::time_point> held_until() const;

  // Releases the held-back line when `now` has reached held_until().
  std::optional<health_line> flush(clock::time_point now);

 private:
  std::optional<health_line> emit(clock::time_point now);
  bool gap_passed(clock::time_point now) const;

  clock::duration min_gap_;
  upstream_state state_ = upstream_state::ok;   // from the latest outcome
  upstream_state logged_ = upstream_state::ok;  // what the last line said
  status last_ = status::answered;
  std::uint64_t troubled_ = 0;
  std::uint64_t suppressed_ = 0;
  bool held_ = false;
  std::optional<clock::time_point> last_line_;
};

}  // namespace vpcedns::forward

#include "forward/health.hpp"

namespace vpcedns::forward {

const char* to_string(upstream_state s) {
  switch (s) {
    case upstream_state::ok:
      return "ok";
    case upstream_state::slow:
      return "slow";
    case upstream_state::failing:
      return "failing";
  }
  return "unknown";
}

std::optional<health_line> health_log::note(status st, int timeouts, clock::time_point now) {
  // Classify the outcome; the client's or our own doing is not upstream health.
  if (st == status::cancelled || st == status::bad_query) return std::nullopt;
  if (st == status::answered)
    state_ = timeouts > 0 ? upstream_state::slow : upstream_state::ok;
  else
    state_ = upstream_state::failing;
  last_ = st;
  if (state_ != upstream_state::ok) ++troubled_;

  // Only a change, or more trouble, is worth a line.
  bool changed = state_ != logged_;
  if (!changed && state_ == upstream_state::ok) return std::nullopt;
  if (gap_passed(now)) return emit(now);
  ++suppressed_;
  held_ = true;
  return std::nullopt;
}

std::optional<health_log::clock::time_point> health_log::held_until() const {
  if (!held_) return std::nullopt;
  return last_line_ ? *last_line_ + min_gap_ : clock::time_point{};
}

std::optional<health_line> health_log::flush(clock::time_point now) {
  // A held line always has news: a state change, or trouble counted (a flap
  // back to the logged state passes through a troubled outcome).
  if (!held_ || !gap_passed(now)) return std::nullopt;
  return emit(now);
}

std::optional<health_line> health_log::emit(clock::time_point now) {
  health_line line{state_, logged_, last_, troubled_, suppressed_};
  logged_ = state_;
  troubled_ = 0;
  suppressed_ = 0;
  held_ = false;
  last_line_ = now;
  return line;
}

bool health_log::gap_passed(clock::time_point now) const {
  return !last_line_ || now - *last_line_ >= min_gap_;
}

}  // namespace vpcedns::forward

#include "forward/health.hpp"

#include <doctest/doctest.h>

using namespace vpcedns::forward;
using std::chrono::milliseconds;

namespace {

const health_log::clock::time_point t0{std::chrono::hours(1)};

health_log::clock::time_point at(int ms) {
  return t0 + milliseconds(ms);
}

}  // namespace

TEST_CASE("health: answers at the first attempt say nothing") {
  // Only answered outcomes without timeouts: no line, nothing held.
  health_log h;
  for (int i = 0; i < 5; ++i) CHECK_FALSE(h.note(status::answered, 0, at(i)));
  CHECK_FALSE(h.held_until());
}

TEST_CASE("health: a failure is reported at once, repeats at most once per gap") {
  // First timeout: a failing line at once. Three more within the second: held,
  // then released by flush() after the gap with troubled = 3, suppressed = 3.
  health_log h;
  auto first = h.note(status::timeout, 2, at(0));
  REQUIRE(first);
  CHECK(first->state == upstream_state::failing);
  CHECK(first->was == upstream_state::ok);
  CHECK(first->last == status::timeout);
  CHECK(first->troubled == 1);

  CHECK_FALSE(h.note(status::timeout, 2, at(100)));
  CHECK_FALSE(h.note(status::unreachable, 0, at(200)));
  CHECK_FALSE(h.note(status::timeout, 2, at(300)));
  REQUIRE(h.held_until());
  CHECK(*h.held_until() == at(1000));
  CHECK_FALSE(h.flush(at(999)));

  auto later = h.flush(at(1000));
  REQUIRE(later);
  CHECK(later->state == upstream_state::failing);
  CHECK(later->was == upstream_state::failing);
  CHECK(later->last == status::timeout);
  CHECK(later->troubled == 3);
  CHECK(later->suppressed == 3);
  CHECK_FALSE(h.held_until());
}

TEST_CASE("health: recovery within the gap is delayed, not lost") {
  // Failing at 0 ms, answered at 10 ms: the recovery line is held until 1000 ms
  // and then says ok, was failing.
  health_log h;
  REQUIRE(h.note(status::timeout, 1, at(0)));
  CHECK_FALSE(h.note(status::answered, 0, at(10)));
  auto line = h.flush(at(1000));
  REQUIRE(line);
  CHECK(line->state == upstream_state::ok);
  CHECK(line->was == upstream_state::failing);
  CHECK(line->suppressed == 1);
}

TEST_CASE("health: recovery after the gap is reported at once") {
  // Failing at 0 ms, answered at 1500 ms: an ok line right away.
  health_log h;
  REQUIRE(h.note(status::unreachable, 0, at(0)));
  auto line = h.note(status::answered, 0, at(1500));
  REQUIRE(line);
  CHECK(line->state == upstream_state::ok);
  CHECK(line->was == upstream_state::failing);
  CHECK(line->troubled == 0);
  CHECK_FALSE(h.note(status::answered, 0, at(1600)));
}

TEST_CASE("health: an answer after timeouts is slow") {
  // answered with timeouts = 1 (first upstream silent, second answered): a
  // slow line at once.
  health_log h;
  auto line = h.note(status::answered, 1, at(0));
  REQUIRE(line);
  CHECK(line->state == upstream_state::slow);
  CHECK(line->last == status::answered);
}

TEST_CASE("health: cancelled and bad queries are not upstream trouble") {
  // cancelled and bad_query outcomes: no line, nothing held.
  health_log h;
  CHECK_FALSE(h.note(status::cancelled, 0, at(0)));
  CHECK_FALSE(h.note(status::bad_query, 0, at(1)));
  CHECK_FALSE(h.held_until());
}

TEST_CASE("health: a flap within the gap is reported as where it ended") {
  // Failing (line), then ok and failing again within the gap: the held line
  // reports failing with the second failure counted, not a recovery.
  health_log h;
  REQUIRE(h.note(status::timeout, 1, at(0)));
  CHECK_FALSE(h.note(status::answered, 0, at(10)));
  CHECK_FALSE(h.note(status::timeout, 1, at(20)));
  auto line = h.flush(at(1000));
  REQUIRE(line);
  CHECK(line->state == upstream_state::failing);
  CHECK(line->was == upstream_state::failing);
  CHECK(line->troubled == 1);
  CHECK(line->suppressed == 2);
}

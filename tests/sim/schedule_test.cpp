// The schedule format (sim/src/schedule.hpp): encode/decode round trips, the {decimal} form of
// large numbers, and malformed strings, which replay() reports as a mismatch without crashing.
#include <gtest/gtest.h>

#include <ceramic/ceramic.hpp>
#include <ceramic/sim/sim.hpp>

#include <string>
#include <vector>

#include "../../sim/src/schedule.hpp"
#include "sim_test_support.hpp"

namespace {

using ceramic::Chan;
using ceramic::Proc;
namespace sim = ceramic::sim;
using ceramic::simtest::seed_race;
using ceramic::sim::detail::Choice;
using ceramic::sim::detail::Schedule;
using ceramic::sim::detail::decode;
using ceramic::sim::detail::encode;
using ceramic::simtest::contains;


Schedule round_trip(const Schedule& s) {
  std::string error;
  auto back = decode(encode(s), &error);
  EXPECT_TRUE(back.has_value()) << encode(s) << ": " << error;
  return back.value_or(Schedule{});
}

TEST(ScheduleFormat, EncodesTheDocumentedExample) {
  Schedule s{false, {{0, 2}, {1, 3}}};
  EXPECT_EQ(encode(s), "cs2:0213");
}

TEST(ScheduleFormat, EncodesNoChoicesAsAnEmptyList) {
  EXPECT_EQ(encode(Schedule{}), "cs2:");
  std::string error;
  auto d = decode("cs2:", &error);
  ASSERT_TRUE(d.has_value()) << error;
  EXPECT_TRUE(d->choices.empty());
  EXPECT_FALSE(d->unbuffered);
}

TEST(ScheduleFormat, UnbufferedFlagRoundTrips) {
  Schedule s{true, {{1, 2}}};
  EXPECT_EQ(encode(s), "cs2u:12");
  EXPECT_EQ(round_trip(s), s);
}

TEST(ScheduleFormat, StepBoundFlagRoundTrips) {
  Schedule small{false, {{1, 2}}, 40};
  EXPECT_EQ(encode(small), "cs2se:12");   // 40 is the digit e
  EXPECT_EQ(round_trip(small), small);
  Schedule both{true, {}, 7};
  EXPECT_EQ(encode(both), "cs2us7:");
  EXPECT_EQ(round_trip(both), both);
  Schedule huge{false, {}, UINT32_MAX};
  EXPECT_EQ(round_trip(huge), huge);
}

TEST(ScheduleFormat, TimeoutAndFairnessFlagsRoundTrip) {
  Schedule idle{false, {{0, 2}}, 0, true};
  EXPECT_EQ(encode(idle), "cs2i:02");
  EXPECT_EQ(round_trip(idle), idle);
  Schedule fair{true, {}, 9, true, 20};
  EXPECT_EQ(encode(fair), "cs2uifKs9:");   // 20 is the digit K
  EXPECT_EQ(round_trip(fair), fair);
  Schedule never{false, {}, 0, false, 0};
  EXPECT_EQ(encode(never), "cs2f0:");
  EXPECT_EQ(round_trip(never), never);
}

TEST(ScheduleFormat, EverySingleCharacterDigitRoundTrips) {
  // 0..61 are one character each: [0-9A-Za-z].
  Schedule s;
  for (std::uint32_t count = 2; count <= 61; ++count) {
    s.choices.push_back({count - 1, count});
    s.choices.push_back({0, count});
  }
  std::string text = encode(s);
  EXPECT_EQ(text.find('{'), std::string::npos) << text;
  EXPECT_EQ(text.size(), 4 + 2 * s.choices.size());
  EXPECT_EQ(round_trip(s), s);
  EXPECT_EQ(encode(Schedule{false, {{35, 61}}}), "cs2:Zz");
  EXPECT_EQ(encode(Schedule{false, {{10, 36}}}), "cs2:Aa");
}

TEST(ScheduleFormat, NumbersFrom62UseTheDecimalFormAndRoundTrip) {
  EXPECT_EQ(encode(Schedule{false, {{61, 62}}}), "cs2:z{62}");
  EXPECT_EQ(encode(Schedule{false, {{62, 63}}}), "cs2:{62}{63}");
  Schedule s{false, {{61, 62}, {62, 63}, {0, 100}, {99, 100}, {1000, 4096}, {123456, 1u << 24}}};
  EXPECT_EQ(round_trip(s), s);
  std::string error;
  auto d = decode("cs2:{62}{63}0{1000}", &error);
  ASSERT_TRUE(d.has_value()) << error;
  ASSERT_EQ(d->choices.size(), 2u);
  EXPECT_EQ(d->choices[0], (Choice{62, 63}));
  EXPECT_EQ(d->choices[1], (Choice{0, 1000}));
}

TEST(ScheduleFormat, ToleratesQuotesAndBlanksFromCopyAndPaste) {
  std::string error;
  for (const char* text : {" cs2:0213 ", "'cs2:0213'", "\"cs2:0213\"\n", "\t'cs2:0213' "}) {
    auto d = decode(text, &error);
    ASSERT_TRUE(d.has_value()) << "[" << text << "]: " << error;
    EXPECT_EQ(*d, (Schedule{false, {{0, 2}, {1, 3}}})) << text;
  }
}

TEST(ScheduleFormat, ExplorationScheduleDecodesAndReencodesToItself) {
  sim::Result r = sim::explore(seed_race, ceramic::simtest::quick(sim::Strategy::dfs, 10));
  ASSERT_TRUE(r.failed) << r.report;
  std::string error;
  auto d = decode(r.schedule, &error);
  ASSERT_TRUE(d.has_value()) << r.schedule << ": " << error;
  EXPECT_EQ(encode(*d), r.schedule);
}

struct Malformed {
  std::string text;
  std::string says;  // a piece of decode's error message
};

std::vector<Malformed> malformed_cases() {
  return {
      {"", "not a ceramic schedule"},
      {"xyz", "not a ceramic schedule"},
      {"c", "not a ceramic schedule"},
      {"cs", "no ':'"},
      {"cs2", "no ':'"},
      {"cs:", "no version number"},
      {"csx:00", "no version number"},
      {"cs3:00", "version 3 is not supported"},
      {"cs1:12", "version 1 was made by an earlier model"},
      {"cs10:12", "version 10 is not supported"},
      {"cs2x:12", "unknown flag 'x'"},
      {"cs2ii:12", "unknown flag 'i'"},
      {"cs2f:12", "bad fairness bound"},
      {"cs2uu:12", "unknown flag 'u'"},
      {"cs2:0", "unexpected end at character 6"},
      {"cs2:021", "unexpected end at character 8"},
      {"cs2:21", "takes transition 2 of 1"},
      {"cs2:22", "takes transition 2 of 2"},
      {"cs2:01", "takes transition 0 of 1"},
      {"cs2:00", "takes transition 0 of 0"},
      {"cs2:0213{70}{70}", "choice 3 takes transition 70 of 70"},
      {"cs2:{99", "bad {number} at character 5"},
      {"cs2:{}2", "bad {number} at character 5"},
      {"cs2:{1a}2", "bad {number} at character 5"},
      {"cs2:{-5}2", "bad {number} at character 5"},
      {"cs2:{12345678901}{12345678902}", "bad {number} at character 5"},
      {"cs2:{61}{62}", "out-of-range {number} at character 5"},
      {"cs2:0{5}", "out-of-range {number} at character 6"},
      {"cs2:{16777217}{16777218}", "out-of-range {number} at character 5"},
      {"cs2:0!", "unexpected character '!' at character 6"},
      {"cs2:02 13", "unexpected character ' ' at character 7"},
      {"cs2:02:13", "unexpected character ':' at character 7"},
      {"cs2:\x01\x02", "unexpected character"},
      {std::string("cs2:0\xff", 6), "unexpected character"},
      {std::string("cs2:0\0" "2", 7), "unexpected character"},
      {"cs2:-1", "unexpected character '-'"},
      {"cs2s:", "bad step bound after 's'"},
      {"cs2s0:", "bad step bound after 's'"},
      {"cs2s{99999999999}:", "bad step bound after 's'"},
      {"cs2su5:", "unknown flag '5'"},   // s takes u (56) as its number
      {"cs2s5x:", "unknown flag 'x'"},
  };
}

TEST(ScheduleFormat, DecodeRejectsMalformedStringsSayingWhatIsWrong) {
  for (const Malformed& m : malformed_cases()) {
    std::string error;
    std::optional<Schedule> d;
    EXPECT_NO_THROW(d = decode(m.text, &error)) << m.text;
    EXPECT_FALSE(d.has_value()) << "[" << m.text << "] decoded";
    EXPECT_TRUE(contains(error, m.says)) << "[" << m.text << "]: got \"" << error
                                         << "\", want \"" << m.says << "\"";
  }
}

TEST(ScheduleReplay, MalformedStringsAreAMismatchWithAReportNeverAThrow) {
  for (const Malformed& m : malformed_cases()) {
    sim::Result r;
    EXPECT_NO_THROW(r = sim::replay(seed_race, m.text)) << m.text;
    EXPECT_TRUE(r.failed) << "[" << m.text << "]";
    EXPECT_EQ(r.failure, sim::Failure::mismatch) << "[" << m.text << "]";
    EXPECT_TRUE(contains(r.report, "cannot replay")) << r.report;
    EXPECT_TRUE(contains(r.report, m.says)) << "[" << m.text << "]: " << r.report;
    // Nothing ran.
    EXPECT_EQ(r.steps, 0u);
  }
}

TEST(ScheduleReplay, AnEmptyChoiceListIsAMismatchForAProgramWithChoices) {
  // "cs2:" is well formed, but the seed race has a choice at its first rendezvous.
  sim::Result r = sim::replay(seed_race, "cs2:");
  EXPECT_TRUE(r.failed);
  EXPECT_EQ(r.failure, sim::Failure::mismatch);
  EXPECT_TRUE(contains(r.report, "the schedule has 0 choices, but the program reached choice 1"))
      << r.report;
  EXPECT_EQ(r.schedule, "cs2:");
}

TEST(ScheduleReplay, AWrongCountIsAMismatchAtThatChoice) {
  sim::Result r = sim::replay(seed_race, "cs2:03");
  EXPECT_TRUE(r.failed);
  EXPECT_EQ(r.failure, sim::Failure::mismatch);
  EXPECT_TRUE(contains(r.report, "at choice 1 the schedule expects 3 enabled transitions, but the "
                                 "program offers 2"))
      << r.report;
}

TEST(ScheduleReplay, AMismatchReportsTheGivenScheduleAndNoReplayLine) {
  sim::Result r = sim::replay(seed_race, "cs2:13");
  EXPECT_EQ(r.failure, sim::Failure::mismatch);
  EXPECT_EQ(r.schedule, "cs2:13");
  EXPECT_TRUE(r.replay.empty()) << r.replay;
  EXPECT_TRUE(contains(r.report, "schedule: cs2:13\nthe program no longer follows it")) << r.report;
  EXPECT_FALSE(contains(r.report, "replay:")) << r.report;
  EXPECT_FALSE(contains(r.report, sim::kReplayEnv)) << r.report;
}

TEST(ScheduleReplay, ExtraChoicesAreAMismatchWhenTheProgramEndsEarly) {
  // Choice 1 = 0: main meets B, after which the program runs to its end without another choice.
  sim::Result r = sim::replay(seed_race, "cs2:0202");
  EXPECT_TRUE(r.failed);
  EXPECT_EQ(r.failure, sim::Failure::mismatch);
  EXPECT_TRUE(contains(r.report, "the program ended after 1 of the schedule's 2 choices"))
      << r.report;
}

TEST(ScheduleReplay, AProgramWithoutChoicesReplaysTheEmptySchedule) {
  sim::Result r = sim::replay(
      [] {
        Chan<int> c;
        Proc p("P", [&] { c.send(1); });
        sim::check(*c.recv() == 1);
        sim::check(p.join() == 0);
      },
      "cs2:");
  EXPECT_FALSE(r.failed) << r.report;
  EXPECT_EQ(r.failure, sim::Failure::none);
  EXPECT_EQ(r.schedules, 1u);
}

TEST(ScheduleReplay, BothChoicesOfTheSeedRaceReplay) {
  sim::Result clean = sim::replay(seed_race, "cs2:02");  // main meets B: no deadlock
  EXPECT_FALSE(clean.failed) << clean.report;
  sim::Result dead = sim::replay(seed_race, "'cs2:12'");  // A meets B: main is stuck
  EXPECT_TRUE(dead.failed);
  EXPECT_EQ(dead.failure, sim::Failure::deadlock) << dead.report;
  EXPECT_EQ(dead.schedule, "cs2:12");
}

}  // namespace

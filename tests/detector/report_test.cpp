// ceramic detector — the report printers (to_text, to_json, to_dot) against golden files.
//
// Each case is a fixed snapshot, analysed by analyze(); its three printouts must match
// tests/detector/golden/<case>.{txt,json,dot} byte for byte. After an intended change to a
// printer, regenerate them and review the diff:
//
//   CERAMIC_UPDATE_GOLDEN=1 ./ceramic-tests-detector --gtest_filter='Golden*'
//
// Beyond the goldens: the JSON must parse and carry the report's facts, and the DOT must be
// accepted by Graphviz (`dot -Tsvg`, skipped when Graphviz is not installed).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "ceramic/detector/analysis.hpp"
#include "ceramic/detector/chrome_trace.hpp"
#include "ceramic/detector/report.hpp"
#include "process_util.hpp"
#include "snapshot_builder.hpp"

#ifndef CERAMIC_GOLDEN_DIR
#error "CERAMIC_GOLDEN_DIR must name tests/detector/golden"
#endif

namespace ceramic_test {
namespace {

using ceramic::detector::analyze;
using ceramic::detector::Report;
using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// The fixed cases

Snapshot seed_race_case() {
  SnapshotBuilder b;
  b.channel(0x5eed0ef009).held_by({100}).formerly({101, 102}).made_at(23, 100);
  b.blocked(100, "seed_race", WaitOp::send, {0x5eed0ef009}, 27);
  b.exited(101, "A", 0).last_met(102, 24, 0x5eed0ef009);
  b.exited(102, "B", 0).last_met(101, 25, 0x5eed0ef009);
  return b.build();
}

Snapshot cycle_case() {
  SnapshotBuilder b;
  b.channel(0xab0001).held_by({201, 202}).made_at(40);
  b.channel(0xba0002).held_by({201, 202}).made_at(41);
  b.joining(100, "main", 201, 48);
  b.blocked(201, "P", WaitOp::recv, {0xba0002}, 43);
  b.blocked(202, "Q", WaitOp::recv, {0xab0001}, 45);
  return b.build();
}

Snapshot join_cycle_case() {
  SnapshotBuilder b;
  b.channel(0x60).held_by({100, 301}).made_at(52);
  b.joining(100, "main", 301, 55);
  b.blocked(301, "child", WaitOp::recv, {0x60}, 53);
  return b.build();
}

Snapshot knot3_case() {
  SnapshotBuilder b;
  b.channel(0x12).held_by({401, 402}).made_at(60);
  b.channel(0x13).held_by({401, 403}).made_at(61);
  b.channel(0x23).held_by({402, 403}).made_at(62);
  b.blocked(401, "K1", WaitOp::select, {0x12, 0x13}, 65);
  b.blocked(402, "K2", WaitOp::select, {0x12, 0x23}, 66, {WaitOp::send, WaitOp::recv});
  b.blocked(403, "K3", WaitOp::select, {0x13, 0x23}, 67, {WaitOp::send, WaitOp::send});
  return b.build();
}

Snapshot select_dead_ends_case() {
  SnapshotBuilder b;
  b.channel(0xd1).held_by({100}).formerly({501}).made_at(70);
  b.channel(0xd2).held_by({100}).formerly({502}).made_at(71).capacity(4);
  b.blocked(100, "main", WaitOp::select, {0xd1, 0xd2}, 78);
  b.exited(501, "X", 0).last_met(100, 73, 0xd1);
  b.running(502, "Y").last_met(100, 74, 0xd2);
  b.killed(502);  // no exit record: SIGKILL
  return b.build();
}

// Names that printers must escape: quotes, backslashes, braces, newlines, a named channel.
Snapshot awkward_names_case() {
  SnapshotBuilder b;
  b.channel(0x7).held_by({100}).formerly({601}).made_at(80).named("jobs.queue-1").capacity(8);
  b.blocked(100, "we \"quote\" {braces} <b> back\\slash", WaitOp::recv, {0x7}, 81)
      .seq(6)
      .info()
      .file = "C:\\odd dir\\file \"x\".cpp";
  b.exited(601, "line\nbreak", 2).last_met(100, 82, 0x7);
  return b.build();
}

Snapshot healthy_case() {
  SnapshotBuilder b;
  b.channel(0x1).held_by({100, 101});
  b.blocked(100, "main", WaitOp::recv, {0x1}, 10);
  b.running(101, "worker");
  return b.build();
}

struct Case {
  const char* name;
  Snapshot (*make)();
};

const Case kCases[] = {
    {"seed_race", seed_race_case},     {"cycle", cycle_case},
    {"join_cycle", join_cycle_case},   {"knot3", knot3_case},
    {"select_dead_ends", select_dead_ends_case},
    {"awkward_names", awkward_names_case},
    {"no_deadlock", healthy_case},
};

// ---------------------------------------------------------------------------------------------
// Golden files

bool updating_golden() {
  const char* v = std::getenv("CERAMIC_UPDATE_GOLDEN");
  return v != nullptr && *v != '\0' && std::string(v) != "0";
}

void expect_golden(const std::string& file, const std::string& actual) {
  const std::string path = std::string(CERAMIC_GOLDEN_DIR) + "/" + file;
  if (updating_golden()) {
    std::ofstream out(path, std::ios::binary);
    out << actual;
    ASSERT_TRUE(out.good()) << "cannot write " << path;
    return;
  }
  if (!file_exists(path)) {
    FAIL() << "no golden file " << path << "; create it with CERAMIC_UPDATE_GOLDEN=1";
  }
  EXPECT_EQ(actual, read_file(path))
      << "output differs from " << path
      << "; if the change is intended, rerun with CERAMIC_UPDATE_GOLDEN=1 and review the diff";
}

class Golden : public ::testing::TestWithParam<Case> {
 protected:
  Report report() const { return analyze(GetParam().make()); }
  std::string name() const { return GetParam().name; }
};

TEST_P(Golden, TextMatches) { expect_golden(name() + ".txt", to_text(report())); }
TEST_P(Golden, JsonMatches) { expect_golden(name() + ".json", to_json(report())); }
TEST_P(Golden, DotMatches) { expect_golden(name() + ".dot", to_dot(report())); }

TEST_P(Golden, JsonParsesAndCarriesTheReport) {
  Report r = report();
  json j = json::parse(to_json(r));
  EXPECT_EQ(j.at("deadlock").get<bool>(), r.deadlock);
  ASSERT_EQ(j.at("stuck").size(), r.stuck.size());
  for (std::size_t i = 0; i < r.stuck.size(); ++i) {
    const json& s = j.at("stuck")[i];
    EXPECT_EQ(s.at("pid").get<pid_t>(), r.stuck[i].pid);
    EXPECT_EQ(s.at("name").get<std::string>(), r.stuck[i].name);
    EXPECT_EQ(s.at("site").at("line").get<int>(), r.stuck[i].line);
    EXPECT_EQ(s.at("site").at("file").get<std::string>(), r.stuck[i].file);
    EXPECT_EQ(s.at("waits").size(), r.stuck[i].waits.size());
    for (std::size_t w = 0; w < r.stuck[i].waits.size(); ++w) {
      EXPECT_EQ(s.at("waits")[w].at("channel").at("id64").get<std::uint64_t>(),
                r.stuck[i].waits[w].channel.id);
    }
  }
  EXPECT_EQ(j.at("channels").size(), r.channels.size());
  EXPECT_EQ(j.at("processes").size(), r.processes.size());
  EXPECT_EQ(j.at("cycles").size(), r.cycles.size());
  if (r.deadlock) {
    EXPECT_EQ(j.at("kind").get<std::string>(), kind_name(r.kind));
  }
}

TEST_P(Golden, GraphvizAcceptsTheDot) {
  if (!on_path("dot")) GTEST_SKIP() << "Graphviz (dot) is not installed";
  TempDir dir;
  const std::string in = dir.file("graph.dot"), svg = dir.file("graph.svg");
  {
    std::ofstream out(in);
    out << to_dot(report());
  }
  CommandResult c = run_command({"dot", "-Tsvg", in, "-o", svg}, std::chrono::seconds(60));
  ASSERT_FALSE(c.timed_out);
  EXPECT_EQ(c.status, 0) << c.err;
  EXPECT_EQ(c.err, "") << "Graphviz warned about the DOT";
  EXPECT_NE(read_file(svg).find("<svg"), std::string::npos);
}

TEST_P(Golden, TextNamesEveryStuckThreadAndItsLine) {
  Report r = report();
  std::string text = to_text(r);
  if (!r.deadlock) {
    EXPECT_EQ(text, "ceramic: no deadlock\n");
    return;
  }
  EXPECT_EQ(text.rfind("ceramic: DEADLOCK: ", 0), 0u) << text;
  for (const auto& t : r.stuck) {
    EXPECT_NE(text.find("(pid " + std::to_string(t.pid) + ")"), std::string::npos) << text;
    EXPECT_NE(text.find(":" + std::to_string(t.line)), std::string::npos) << text;
  }
}

INSTANTIATE_TEST_SUITE_P(Reports, Golden, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& i) {
                           return std::string(i.param.name);
                         });

// ---------------------------------------------------------------------------------------------
// Printer properties beyond the goldens

TEST(ReportText, SeedRaceNamesTheGonePeersAndTheirLastRendezvous) {
  std::string text = to_text(analyze(seed_race_case()));
  EXPECT_NE(text.find("(no live peer)"), std::string::npos) << text;
  EXPECT_NE(text.find("B (pid 102) exited (code 0) after its last rendezvous at race.cpp:25 with "
                      "A (pid 101)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("no one can ever receive"), std::string::npos) << text;
}

TEST(ReportText, JoinSaysWhichChildItWaitsFor) {
  std::string text = to_text(analyze(join_cycle_case()));
  EXPECT_NE(text.find("is blocked in join of child (pid 301) at race.cpp:55"), std::string::npos)
      << text;
}

TEST(ReportJson, EmptyReportIsValidJson) {
  json j = json::parse(to_json(Report{}));
  EXPECT_FALSE(j.at("deadlock").get<bool>());
  EXPECT_TRUE(j.at("stuck").empty());
}

TEST(ReportDot, EmptyReportIsAGraph) {
  std::string dot = to_dot(Report{});
  EXPECT_EQ(dot.rfind("digraph", 0), 0u);
  EXPECT_EQ(dot.back(), '\n');
}

// Channel ids are random 64-bit numbers; two distinct channels must be two distinct nodes of
// the graph, whatever their ids have in common.
TEST(ReportDot, DistinctChannelsAreDistinctNodes) {
  SnapshotBuilder b;
  b.channel(0x1000000000abcdefull).held_by({100});
  b.channel(0x2000000000abcdefull).held_by({101});
  b.blocked(100, "first", WaitOp::recv, {0x1000000000abcdefull}, 10);
  b.blocked(101, "second", WaitOp::recv, {0x2000000000abcdefull}, 11);
  Report r = analyze(b.build());
  ASSERT_EQ(r.channels.size(), 2u);
  std::string dot = to_dot(r);
  // Count the channel node declarations (ellipses) with distinct node names.
  std::set<std::string> nodes;
  std::size_t pos = 0;
  while ((pos = dot.find("[shape=ellipse", pos)) != std::string::npos) {
    std::size_t line_start = dot.rfind('\n', pos) + 1;
    std::string decl = dot.substr(line_start, pos - line_start);
    nodes.insert(decl.substr(decl.find_first_not_of(' ')));
    ++pos;
  }
  EXPECT_EQ(nodes.size(), 2u) << "two channels share one DOT node:\n" << dot;
}

// A process name is whatever the program passed to Proc (or what a corrupt trace holds):
// the printers must not throw on bytes that are not UTF-8. ceramic-run calls to_json outside
// any try block after a confirmed deadlock, so a throw there aborts it before it kills the tree.
TEST(ReportJson, NamesThatAreNotUtf8DoNotThrow) {
  SnapshotBuilder b;
  b.channel(0x1).held_by({100});
  b.blocked(100, std::string("caf\xe9 \xff\xfe"), WaitOp::recv, {0x1}, 10);
  Report r = analyze(b.build());
  ASSERT_TRUE(r.deadlock);
  std::string out;
  ASSERT_NO_THROW(out = to_json(r));
  json parsed;
  EXPECT_NO_THROW(parsed = json::parse(out));
}

TEST(ChromeJson, NamesThatAreNotUtf8DoNotThrow) {
  SnapshotBuilder b;
  b.running(100, std::string("\xc3("));
  ASSERT_NO_THROW((void)ceramic::detector::to_chrome_json(b.build(), {}));
}

}  // namespace
}  // namespace ceramic_test

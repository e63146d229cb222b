// The report files an exploration leaves for CI: the HTML report of a failure and JUnit XML with
// a test case per exploration (Options::html, Options::junit, CERAMIC_SIM_OPTIONS html= junit=).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <ceramic/ceramic.hpp>
#include <ceramic/sim/sim.hpp>

namespace {

using ceramic::Chan;
using ceramic::Proc;
namespace sim = ceramic::sim;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

struct TempDir {
  std::string path;
  TempDir() {
    std::string pattern = "/tmp/ceramic-sim-artifacts.XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

void seed_race() {
  Chan<int> c;
  Proc a("A", [&] { c.send(1); });
  Proc b("B", [&] { (void)c.recv(); });
  c.send(2);
  (void)c.recv();
}

void healthy() {
  Chan<int> c;
  Proc a("A", [&] { c.send(1); });
  (void)c.recv();
}

}  // namespace

TEST(SimArtifacts, AFailureWritesTheHtmlReportAndEveryExplorationAJunitTestCase) {
  TempDir dir;
  sim::Options o;
  o.strategy = sim::Strategy::dfs;
  o.progress = 0;
  o.html = dir.path + "/%n.html";
  o.junit = dir.path + "/junit.xml";
  o.name = "seed race";
  sim::Result bad = sim::explore(seed_race, o);
  ASSERT_TRUE(bad.failed);
  const std::string html = read_file(dir.path + "/seed_race.html");
  ASSERT_FALSE(html.empty()) << "no HTML report for the failure";
  EXPECT_NE(html.find("id=\"replay-command\">CERAMIC_SIM_REPLAY=&#39;" + bad.schedule + "&#39;"),
            std::string::npos)
      << html.substr(0, 2000);
  EXPECT_NE(html.find("id=\"steps\""), std::string::npos);
  EXPECT_NE(html.find("id=\"graph\""), std::string::npos);

  o.name = "healthy";
  sim::Result good = sim::explore(healthy, o);
  ASSERT_FALSE(good.failed) << good.report;
  EXPECT_FALSE(std::filesystem::exists(dir.path + "/healthy.html")) << "HTML is for failures";
  const std::string xml = read_file(dir.path + "/junit.xml");
  EXPECT_NE(xml.find("tests=\"2\" failures=\"1\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("name=\"seed race\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("name=\"healthy\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("replay: CERAMIC_SIM_REPLAY="), std::string::npos) << xml;
}

// The failing schedule drawn: a lane for each of main, A and B; main's last wait, still blocked
// at the end; the rendezvous of A and B as a flow; time in steps.
TEST(SimArtifacts, TheHtmlReportDrawsTheFailingScheduleAsATimeline) {
  TempDir dir;
  sim::Options o;
  o.strategy = sim::Strategy::dfs;
  o.progress = 0;
  o.html = dir.path + "/race.html";
  sim::Result bad = sim::explore(seed_race, o);
  ASSERT_TRUE(bad.failed);
  const sim::FailureInfo& info = bad.info;
  const auto& tl = info.timeline;
  ASSERT_EQ(tl.lanes.size(), 3u) << bad.report;
  EXPECT_EQ(tl.unit, "step");
  std::vector<std::string> names;
  for (const auto& l : tl.lanes) names.push_back(l.process);
  EXPECT_EQ(names, (std::vector<std::string>{"main", "A", "B"}));
  std::size_t stuck = 0;
  for (const auto& s : tl.slices) {
    EXPECT_LE(s.begin_ns, s.end_ns);
    EXPECT_LE(s.end_ns, tl.end_ns);
    if (s.outcome == "still blocked") {
      ++stuck;
      EXPECT_EQ(s.lane, 0u) << "only main is left waiting";
      EXPECT_EQ(s.end_ns, tl.end_ns);
      EXPECT_NE(s.site.find("artifacts_test.cpp:"), std::string::npos) << s.site;
    }
  }
  EXPECT_EQ(stuck, 1u);
  ASSERT_FALSE(tl.flows.empty()) << "A meets B: a rendezvous";
  bool a_meets_b = false;
  for (const auto& f : tl.flows) a_meets_b = a_meets_b || (f.from_lane == 1 && f.to_lane == 2);
  EXPECT_TRUE(a_meets_b);
  const std::string html = read_file(dir.path + "/race.html");
  EXPECT_NE(html.find("id=\"timeline\""), std::string::npos);
  EXPECT_NE(html.find("class=\"slice stuck\""), std::string::npos);
  EXPECT_NE(html.find("class=\"flow\""), std::string::npos);
  EXPECT_NE(html.find("schedule's steps"), std::string::npos);

  // Without html= the exploration draws nothing (it would cost a string a step).
  o.html.clear();
  EXPECT_TRUE(sim::explore(seed_race, o).info.timeline.lanes.empty());
}

TEST(SimArtifacts, TheOptionsParseFromTheEnvironmentString) {
  sim::Options o;
  std::string error;
  ASSERT_TRUE(sim::parse_options("html=/tmp/r-%n.html junit=/tmp/j.xml name=race", &o, &error))
      << error;
  EXPECT_EQ(o.html, "/tmp/r-%n.html");
  EXPECT_EQ(o.junit, "/tmp/j.xml");
  EXPECT_EQ(o.name, "race");
  EXPECT_FALSE(sim::parse_options("html=", &o, &error));
  EXPECT_NE(error.find("file name"), std::string::npos) << error;
}

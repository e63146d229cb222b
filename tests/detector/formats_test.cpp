// The report formats' table, the HTML report (in a real browser where Chromium is installed)
// and the JUnit XML (against the schema GitLab and Jenkins read, tests/detector/junit.xsd).
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "ceramic/detector/analysis.hpp"
#include "ceramic/detector/formats.hpp"
#include "process_util.hpp"
#include "snapshot_builder.hpp"

namespace {

using namespace ceramic_test;
using ceramic::detector::EventInfo;
using ceramic::detector::Format;
using ceramic::detector::ReportDocument;
using ceramic::detector::Snapshot;
using ceramic::detector::Timeline;
using ceramic::trace::EventKind;
using ceramic::trace::WaitOp;

constexpr std::uint64_t kChan = 0x5eed0ef009;

// The seed race as the simulator would hand it over: a deadlock, a timeline, a replay line and
// steps, with a process name that would break HTML and XML unescaped.
ReportDocument seed_race_document() {
  SnapshotBuilder b;
  b.channel(kChan).held_by({100}).formerly({101, 102}).made_at(23, 100);
  b.blocked(100, "seed_race", WaitOp::send, {kChan}, 27);
  b.exited(101, "A<script>alert(1)</script>", 0).last_met(102, 24, kChan);
  b.exited(102, "B & \"friends\"", 0).last_met(101, 25, kChan);
  Snapshot s = b.build();
  ReportDocument d;
  d.tool = "ceramic-sim";
  d.name = "seed race <main writes, then reads>";
  d.failed = true;
  d.report = ceramic::detector::analyze(s);
  d.verdict = "deadlock: 1 thread can never proceed (no live peer)";
  d.text = ceramic::detector::to_text(d.report);
  d.schedule = "cs2:12";
  d.replay = "CERAMIC_SIM_REPLAY='cs2:12' ./seed_race_sim";
  d.steps = {"1. main starts A", "2. main starts B", "3. A meets B on #0ef009 (send/recv)",
             "4. main blocks in send on #0ef009"};
  std::vector<EventInfo> ev;
  auto add = [&](std::int64_t t, pid_t pid, EventKind k, WaitOp op, pid_t peer = 0) {
    EventInfo e;
    e.seq = ev.size() + 1;
    e.t_ns = t;
    e.pid = e.tid = pid;
    e.kind = k;
    e.op = op;
    e.peer = peer;
    e.channel = kChan;
    e.file = "seed_race.cpp";
    e.line = 20 + static_cast<int>(ev.size());
    ev.push_back(e);
  };
  add(1000, 100, EventKind::spawn, WaitOp::none, 101);
  add(2000, 100, EventKind::spawn, WaitOp::none, 102);
  add(3000, 101, EventKind::block, WaitOp::send);
  add(5000, 102, EventKind::rendezvous, WaitOp::recv, 101);
  add(5100, 101, EventKind::rendezvous, WaitOp::send, 102);
  add(6000, 101, EventKind::exit, WaitOp::none);
  add(6100, 102, EventKind::exit, WaitOp::none);
  add(7000, 100, EventKind::block, WaitOp::send);
  d.timeline = ceramic::detector::build_timeline(s, ev, 90000);
  return d;
}

std::string write_temp(const TempDir& dir, const std::string& name, const std::string& text) {
  std::string path = dir.file(name);
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST(Formats, TheTableListsEveryFormatInEnumOrderWithAPrinter) {
  auto fs = ceramic::detector::formats();
  ASSERT_EQ(fs.size(), 5u);
  for (std::size_t i = 0; i < fs.size(); ++i) {
    EXPECT_EQ(static_cast<std::size_t>(fs[i].format), i);
    EXPECT_NE(fs[i].render, nullptr);
    EXPECT_EQ(ceramic::detector::find_format(fs[i].name), &fs[i]);
  }
  EXPECT_EQ(ceramic::detector::find_format("pdf"), nullptr);
  const ReportDocument d = seed_race_document();
  for (const auto& f : fs) EXPECT_FALSE(f.render(d).empty()) << f.name;
}

TEST(Formats, TheTimelineHasALaneAThreadTheWaitsAndTheRendezvous) {
  const ReportDocument d = seed_race_document();
  const Timeline& t = *d.timeline;
  EXPECT_EQ(t.lanes.size(), 3u);
  ASSERT_EQ(t.flows.size(), 1u);
  EXPECT_EQ(t.lanes[t.flows[0].from_lane].pid, 101);
  EXPECT_EQ(t.lanes[t.flows[0].to_lane].pid, 102);
  bool stuck = false;
  for (const auto& s : t.slices) {
    if (t.lanes[s.lane].pid == 100) {
      EXPECT_EQ(s.outcome, "still blocked");
      EXPECT_EQ(s.end_ns, 90000) << "an open wait runs to until_ns";
      stuck = true;
    }
  }
  EXPECT_TRUE(stuck);
}

TEST(Formats, HtmlIsSelfContainedAndEscapesTheProgramsNames) {
  const std::string html = ceramic::detector::to_html(seed_race_document());
  EXPECT_NE(html.find("id=\"graph\""), std::string::npos);
  EXPECT_NE(html.find("id=\"timeline\""), std::string::npos);
  EXPECT_NE(html.find("id=\"replay-command\""), std::string::npos);
  EXPECT_NE(html.find("CERAMIC_SIM_REPLAY=&#39;cs2:12&#39;"), std::string::npos);
  EXPECT_NE(html.find("<li value=\"3\">A meets B"), std::string::npos) << "steps keep their numbers";
  EXPECT_EQ(html.find("<script>alert"), std::string::npos) << "a name was not escaped";
  EXPECT_NE(html.find("A&lt;script&gt;"), std::string::npos);
  for (const char* remote : {"http://", "https://", "src=\"//"}) {
    // The only URLs allowed are the SVG namespace names, which load nothing.
    std::size_t at = 0;
    while ((at = html.find(remote, at)) != std::string::npos) {
      const bool ns = html.compare(at, 26, "http://www.w3.org/2000/svg") == 0 ||
                      html.compare(at, 28, "http://www.w3.org/1999/xlink") == 0;
      EXPECT_TRUE(ns) << "loads from the network: " << html.substr(at, 60);
      ++at;
    }
  }
  if (on_path("dot")) {
    EXPECT_NE(html.find("<h2>Wait-for graph</h2><svg"), std::string::npos) << "the graph is inline SVG";
    EXPECT_EQ(html.find("<?xml"), std::string::npos);
  }
}

TEST(Formats, HtmlShowsTheDotSourceWhenGraphvizIsMissing) {
  const std::string saved = std::getenv("PATH") ? std::getenv("PATH") : "";
  setenv("PATH", "/nonexistent", 1);
  const std::string html = ceramic::detector::to_html(seed_race_document());
  setenv("PATH", saved.c_str(), 1);
  EXPECT_NE(html.find("id=\"graph-dot\""), std::string::npos);
  EXPECT_NE(html.find("digraph"), std::string::npos);
}

TEST(Formats, JunitValidatesAgainstTheSchemaGitLabAndJenkinsRead) {
  if (!on_path("xmllint")) GTEST_SKIP() << "xmllint (libxml2-utils) is not installed";
  TempDir dir;
  ReportDocument failed = seed_race_document();
  failed.output = "a line\nwith \x01 a control byte";
  ReportDocument passed;
  passed.tool = "ceramic-sim";
  passed.name = "seed race, fixed";
  passed.verdict = "passed";
  passed.seconds = 1.5;
  ReportDocument run;
  run.tool = "ceramic-run";
  run.name = "./server --port 80";
  run.verdict = "passed: exited with status 0, no deadlock";
  const std::vector<ReportDocument> docs = {failed, passed, run};
  const std::string xml = ceramic::detector::to_junit(docs);
  const std::string path = write_temp(dir, "junit.xml", xml);
  CommandResult r =
      run_command({"xmllint", "--noout", "--schema", CERAMIC_JUNIT_XSD, path}, std::chrono::seconds(30));
  EXPECT_EQ(r.status, 0) << r.err << "\n" << xml;
  EXPECT_NE(xml.find("<testsuite name=\"ceramic-sim\" tests=\"2\" failures=\"1\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("<testsuite name=\"ceramic-run\" tests=\"1\" failures=\"0\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("type=\"deadlock\""), std::string::npos);
  EXPECT_NE(xml.find("replay: CERAMIC_SIM_REPLAY=&#39;cs2:12&#39;"), std::string::npos);
}

// A real browser over the file: no console message (an error would show here), the graph, the
// timeline and the replay line present in the rendered page, and a screenshot to look at.
TEST(Formats, HtmlOpensInABrowserWithoutErrors) {
  std::string browser;
  for (const char* b : {"chromium", "chromium-browser", "google-chrome"}) {
    if (on_path(b)) {
      browser = b;
      break;
    }
  }
  if (browser.empty()) {
    GTEST_SKIP() << "no Chromium on PATH (Debian: apt-get install chromium): the HTML report "
                    "was not checked in a browser";
  }
  TempDir dir;
  const std::string page = write_temp(dir, "report.html", ceramic::detector::to_html(seed_race_document()));
  const std::vector<std::string> common = {browser, "--headless=new", "--no-sandbox", "--disable-gpu",
                                           "--no-first-run", "--user-data-dir=" + dir.file("profile"),
                                           "--enable-logging=stderr", "--v=0", "--log-level=0"};
  auto dom_args = common;
  dom_args.push_back("--dump-dom");
  dom_args.push_back("file://" + page);
  CommandResult dom = run_command(dom_args, std::chrono::seconds(90));
  ASSERT_EQ(dom.status, 0) << dom.err;
  EXPECT_EQ(dom.err.find(":CONSOLE"), std::string::npos) << "the page logged to the console:\n" << dom.err;
  EXPECT_EQ(dom.err.find("Uncaught"), std::string::npos) << dom.err;
  EXPECT_NE(dom.out.find("id=\"timeline\""), std::string::npos);
  EXPECT_NE(dom.out.find("class=\"slice stuck\""), std::string::npos) << "the stuck wait is drawn";
  EXPECT_NE(dom.out.find("id=\"replay-command\""), std::string::npos);
  EXPECT_NE(dom.out.find("id=\"copy-replay\""), std::string::npos);
  if (on_path("dot")) {
    EXPECT_NE(dom.out.find("class=\"graph\"><h2>Wait-for graph</h2><svg"), std::string::npos);
  }

  const std::string shot = std::string(CERAMIC_TEST_OUTPUT_DIR) + "/report_screenshot.png";
  auto shot_args = common;
  shot_args.push_back("--window-size=1280,1000");
  shot_args.push_back("--screenshot=" + shot);
  shot_args.push_back("file://" + page);
  CommandResult s = run_command(shot_args, std::chrono::seconds(90));
  EXPECT_EQ(s.status, 0) << s.err;
  EXPECT_TRUE(file_exists(shot)) << s.err;
  std::printf("screenshot: %s\n", shot.c_str());
}

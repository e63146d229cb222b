// ceramic-leak-programs: every kernel of the leak corpus (corpus.hpp) as a real multi-process
// program, for ceramic-run.
//
//   ceramic-leak-programs NAME       the leak (Kernel::live_bug, or bug)
//   ceramic-leak-programs NAME.fix   its fix (Kernel::live_fix, or fix)
//   ceramic-leak-programs            lists the names
//
// corpus_test.cpp runs `ceramic-run --json F -- ceramic-leak-programs NAME`: a leak must end
// with status 3 and a report naming the kernel's `// @leak` lines, a fix with status 0 and no
// report.
//
// After the body returns, main does what Go's test does before it takes its leak profile: it
// lets the workers run until nothing moves any more (settle() below, which reads the trace, so
// no sleep decides the verdict), then returns. The workers still blocked then end with the
// program, and ceramic-run judges them. A kernel whose main blocks forever (Expect::deadlock)
// never gets there: ceramic-run reports the deadlock and ends it.
//
// Safety net: if ceramic-run dies, so does the program (PR_SET_PDEATHSIG; Procs follow their
// parent the same way), and every program gives up after kSafetyNet seconds (SIGALRM).
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <ceramic/ceramic.hpp>
#include <ceramic/detector/snapshot.hpp>

#include "leaks/corpus.hpp"

namespace {

using namespace std::chrono_literals;
namespace detector = ceramic::detector;

constexpr unsigned kSafetyNet = 60;                // seconds
constexpr auto kLook = 10ms;                       // between two looks at the trace
constexpr int kMaxLooks = 1000;                    // 10 s: only a broken kernel gets there

// True while pid is a process that can still run (not gone, not a zombie).
bool alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(stat, text)) return false;
  auto paren = text.rfind(')');   // "pid (comm) S ...": comm may hold blanks and parens
  return paren != std::string::npos && paren + 2 < text.size() && text[paren + 2] != 'Z' &&
         text[paren + 2] != 'X';
}

// True when every process the program started (a spawn event in the trace) is gone or has
// every thread blocked without a deadline (in send, recv, select or join). With main idle,
// nothing can move any more: the state is final.
bool quiet(const detector::Snapshot& s, const std::vector<detector::EventInfo>& events) {
  std::set<pid_t> spawned;
  for (const detector::EventInfo& e : events) {
    if (e.kind == ceramic::trace::EventKind::spawn) spawned.insert(e.peer);
  }
  for (pid_t pid : spawned) {
    if (s.is_dead(pid) || !alive(pid)) continue;
    bool seen = false;
    for (const detector::ThreadInfo& t : s.threads) {
      if (t.pid != pid) continue;
      seen = true;
      using ceramic::trace::ThreadState;
      if (t.state == ThreadState::exited || t.state == ThreadState::finished) continue;
      if (!t.blocked() || t.has_deadline) return false;
    }
    if (!seen) return false;   // forked, not yet started (or not yet recorded)
  }
  return true;
}

// Waits until the program is quiet, twice in a row with no thread's state having moved in
// between: a thread that a partner has just released, but that has not yet recorded it, moves
// within microseconds. Returns false (after kMaxLooks) if it never is.
bool settle() {
  const char* path = std::getenv(ceramic::trace::kEnvVar);
  if (path == nullptr || *path == '\0') return true;   // not traced: nobody is judging
  detector::TraceFile trace = detector::TraceFile::map(path);
  std::map<pid_t, std::uint32_t> before;   // tid -> seq at the previous quiet look
  for (int i = 0; i < kMaxLooks; ++i) {
    detector::Snapshot s = trace.snapshot(true);
    std::map<pid_t, std::uint32_t> now;
    for (const detector::ThreadInfo& t : s.threads) now[t.tid] = t.seq;
    if (quiet(s, trace.events())) {
      if (now == before) return true;
      before = std::move(now);
    } else {
      before.clear();
    }
    std::this_thread::sleep_for(kLook);
  }
  return false;
}

const ceramic::leaks::Kernel* find(const std::string& name) {
  for (const ceramic::leaks::Kernel& k : ceramic::leaks::registry()) {
    if (name == k.name) return &k;
  }
  return nullptr;
}

int usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s NAME | NAME.fix\nkernels:", argv0);
  for (const ceramic::leaks::Kernel& k : ceramic::leaks::registry()) {
    std::fprintf(stderr, " %s", k.name);
  }
  std::fprintf(stderr, "\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  alarm(kSafetyNet);
  if (argc != 2) return usage(argv[0]);
  std::string name = argv[1];
  const bool fixed = name.size() > 4 && name.compare(name.size() - 4, 4, ".fix") == 0;
  if (fixed) name.resize(name.size() - 4);
  const ceramic::leaks::Kernel* k = find(name);
  if (k == nullptr) return usage(argv[0]);
  void (*body)() = fixed ? (k->live_fix ? k->live_fix : k->fix)
                         : (k->live_bug ? k->live_bug : k->bug);
  body();
  try {
    if (!settle()) {
      std::fprintf(stderr, "%s: the workers never settled (blocked forever or gone)\n", argv[1]);
      return 2;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: cannot read the trace: %s\n", argv[1], e.what());
    return 2;
  }
  return 0;
}

// One select with every kind of case: a worker takes jobs, offers its latest result, stops on
// quit, and counts the times it sat idle.
// [doc:select]
#include <ceramic/ceramic.hpp>
using namespace std::chrono_literals;

// [/doc:select]
#include <chrono>
#include <cstdio>
#include <optional>

#include "example_check.hpp"

struct Job {
  int n;
};

int main() {
  ceramic::Chan<Job> jobs;
  ceramic::Chan<int> results;
  ceramic::Chan<int> quit;
  ceramic::Proc worker("worker", [&] {
    int latest = 0, idle = 0;
    // [doc:select]
    for (bool stop = false; !stop;) {
      std::size_t fired = ceramic::select(
          ceramic::on_recv(jobs, [&](std::optional<Job> job) {   // std::nullopt: jobs is closed
            if (job) latest = job->n * job->n;
          }),
          ceramic::on_send(results, latest, [] {}),               // whoever asks gets the latest
          ceramic::on_recv(quit, [&](std::optional<int>) { stop = true; }),
          ceramic::on_timeout(100ms, [&] { ++idle; }));         // nothing happened for 100 ms
      // fired: the index of the case that ran, 0 to 3
      // [/doc:select]
      expect(fired < 4, "select returns the index of a case");
      // [doc:select]
    }
    // [/doc:select]
    std::printf("worker: latest %d, idle %d time(s)\n", latest, idle);
  });

  jobs.send(Job{3});
  int r = *results.recv();   // the worker's next select offers 9: the job's callback ran first
  quit.send(0);
  expect(r == 9, "the latest result is the square of the last job");
  expect(worker.join() == 0, "the worker stopped on quit");
  return 0;
}

// Named channels: processes that share no memory meet by name. Here the second process is a
// Proc for brevity; any program linked against ceramic can open the name.
#include <ceramic/ceramic.hpp>

#include <unistd.h>

#include <cstdio>
#include <string>

#include "example_check.hpp"

struct Job {
  int id;
  double weight;
};

static void take_job(const std::string& name);   // runs in another process

int main() {
  // The pid keeps two copies of this program from fighting over one name.
  std::string name = "jobs-" + std::to_string(getpid());
  // [doc:named]
  auto jobs = ceramic::Chan<Job>::create(name, {.capacity = 64});   // creator: O_EXCL, mode 0600
  // [/doc:named]
  ceramic::Proc worker("worker", [name] { take_job(name); });
  jobs.send(Job{7, 0.5});
  expect(worker.join() == 0, "the worker exited with 0");

  bool refused = false;
  try {
    ceramic::Chan<Job>::create(name);
  } catch (const ceramic::ChannelError&) {
    refused = true;   // the name exists
  }
  expect(refused, "create fails on a name that exists");
  std::printf("named channel %s: job delivered; a second create was refused\n", name.c_str());
  return 0;
}

// Runs in another process: it knows only the name.
static void take_job(const std::string& name) {
  // [doc:named]
  auto jobs = ceramic::Chan<Job>::open(name);                        // any other process
  // [/doc:named]
  Job j = *jobs.recv();
  expect(j.id == 7 && j.weight == 0.5, "the worker received the job");
}

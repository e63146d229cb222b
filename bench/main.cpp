// ceramic bench — entry point, and the ratio table printed after the runs.
//
// The console reporter is the usual one; it also remembers, for every benchmark, the median of
// the repetitions (or the single run when there are none) so that the ratios at the end come
// from the very run printed above them. Machine-readable output: --benchmark_out=FILE
// --benchmark_out_format=json (the console format is always used on stdout).
//
// --ratios_from=A.json[,B.json...] runs nothing: it prints the ratio table from the JSON output
// of earlier runs (scripts/bench.sh runs each family of benchmarks in a fresh process and merges
// their outputs). --ceramic_iceoryx_peer=... makes this binary the peer of an iceoryx benchmark
// (latency_libraries.cpp starts it).
#include <benchmark/benchmark.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace bench {
extern const char* const kIceoryxPeerFlag;
int iceoryx_peer_main(const char* args);
}  // namespace bench

namespace {

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  using ConsoleReporter::ConsoleReporter;

  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) remember(run);
  }

  void PrintRatios(std::ostream& out) const;

  // One benchmark of a JSON output file (Google Benchmark's format). Errors are skipped.
  void remember_json(const nlohmann::json& b) {
    if (b.value("error_occurred", false)) return;
    const std::string type = b.value("run_type", "");
    const bool median = type == "aggregate";
    if (median && b.value("aggregate_name", "") != "median") return;
    if (!median && type != "iteration") return;
    std::map<std::string, double> counters;
    for (const char* name : kCounters) {
      if (auto it = b.find(name); it != b.end() && it->is_number()) counters[name] = *it;
    }
    remember(key_of_run_name(b.value("run_name", "")), median, counters);
  }

 private:
  struct Result {
    bool median = false;
    std::map<std::string, double> metrics;  // ns_one_way, GB/s, Mmsg/s, us/sched, ns/thread
  };
  static constexpr const char* kCounters[] = {"ns_one_way", "bytes_per_second",
                                              "items_per_second", "us_per_schedule",
                                              "ns_per_thread"};

  // "BM_x/8/min_time:0.300/real_time" -> "BM_x/8", as run_name.function_name + "/" + args.
  static std::string key_of_run_name(const std::string& run_name) {
    std::stringstream in(run_name);
    std::string part, key;
    std::getline(in, key, '/');
    while (std::getline(in, part, '/')) {
      if (part == "real_time" || part == "manual_time" || part.rfind("min_time:", 0) == 0 ||
          part.rfind("iterations:", 0) == 0 || part.rfind("repeats:", 0) == 0 ||
          part.rfind("threads:", 0) == 0)
        continue;
      key += "/" + part;
    }
    return key;
  }

  void remember(const Run& run) {
    if (run.error_occurred) return;
    const bool median = run.run_type == Run::RT_Aggregate;
    if (median && run.aggregate_name != "median") return;
    std::string key = run.run_name.function_name;
    if (!run.run_name.args.empty()) key += "/" + run.run_name.args;
    std::map<std::string, double> counters;
    for (const char* name : kCounters) {
      if (auto it = run.counters.find(name); it != run.counters.end())
        counters[name] = it->second.value;
    }
    remember(key, median, counters);
  }

  void remember(const std::string& key, bool median, const std::map<std::string, double>& c) {
    Result& r = results_[key];
    if (r.median && !median) return;
    r.median = median;
    if (auto it = c.find("ns_one_way"); it != c.end()) r.metrics["ns_one_way"] = it->second;
    if (auto it = c.find("bytes_per_second"); it != c.end())
      r.metrics["GB/s"] = it->second / 1e9;
    if (auto it = c.find("items_per_second"); it != c.end())
      r.metrics["Mmsg/s"] = it->second / 1e6;
    if (auto it = c.find("us_per_schedule"); it != c.end()) r.metrics["us/sched"] = it->second;
    if (auto it = c.find("ns_per_thread"); it != c.end()) r.metrics["ns/thread"] = it->second;
  }

  std::optional<double> lookup(const std::string& key, const std::string& metric) const {
    auto r = results_.find(key);
    if (r == results_.end()) return std::nullopt;
    auto m = r->second.metrics.find(metric);
    if (m == r->second.metrics.end()) return std::nullopt;
    return m->second;
  }

  std::map<std::string, Result> results_;
};

struct Ratio {
  const char* label;
  const char* numerator;
  const char* denominator;
  const char* metric;
};

// Latency ratios (ns_one_way, us/sched, ns/thread): above 1 means the numerator is slower.
// Throughput ratios (GB/s, Mmsg/s): above 1 means the numerator is faster.
const Ratio kRatios[] = {
    {"ceramic proc / spin floor proc", "BM_ceramic_pingpong_proc", "BM_spin_pingpong_proc",
     "ns_one_way"},
    {"ceramic proc / futex proc", "BM_ceramic_pingpong_proc", "BM_futex_pingpong_proc",
     "ns_one_way"},
    {"ceramic proc / spin-then-futex proc", "BM_ceramic_pingpong_proc",
     "BM_spinfutex_pingpong_proc", "ns_one_way"},
    {"seed 3-dgram proc / ceramic proc", "BM_seed3dgram_pingpong_proc",
     "BM_ceramic_pingpong_proc", "ns_one_way"},
    {"ceramic pinned / futex pinned", "BM_ceramic_pingpong_proc_pinned",
     "BM_futex_pingpong_proc_pinned", "ns_one_way"},
    {"ceramic sleeping / futex sleeping", "BM_ceramic_pingpong_proc_sleeping",
     "BM_futex_pingpong_proc_sleeping", "ns_one_way"},
    {"ceramic threads / spin floor threads", "BM_ceramic_pingpong_threads",
     "BM_spin_pingpong_threads", "ns_one_way"},
    {"ceramic threads / spin-then-futex threads", "BM_ceramic_pingpong_threads",
     "BM_spinfutex_pingpong_threads", "ns_one_way"},
    {"ceramic traced proc / ceramic proc", "BM_ceramic_pingpong_proc_traced",
     "BM_ceramic_pingpong_proc", "ns_one_way"},
    {"mutex+cv threads / ceramic threads", "BM_mutexcv_pingpong_threads",
     "BM_ceramic_pingpong_threads", "ns_one_way"},
    {"ceramic 1 MiB / process_vm_readv 1 MiB", "BM_ceramic_string_to_parent/1048576",
     "BM_process_vm_readv_proc/1048576", "GB/s"},
    {"ceramic 16 MiB / process_vm_readv 16 MiB", "BM_ceramic_string_to_parent/16777216",
     "BM_process_vm_readv_proc/16777216", "GB/s"},
    {"ceramic 16 MiB / memcpy 16 MiB", "BM_ceramic_string_to_parent/16777216",
     "BM_memcpy/16777216", "GB/s"},
    {"socketpair 512 B / ceramic 512 B proc", "BM_socketpair_pingpong_size_proc/512",
     "BM_ceramic_pingpong_size_proc/512", "ns_one_way"},
    {"socketpair 64 KiB / ceramic 64 KiB proc", "BM_socketpair_pingpong_size_proc/65536",
     "BM_ceramic_pingpong_size_proc/65536", "ns_one_way"},
    {"socketpair 16 MiB / ceramic 16 MiB proc", "BM_socketpair_pingpong_size_proc/16777216",
     "BM_ceramic_pingpong_size_proc/16777216", "ns_one_way"},
    {"pipe 16 MiB / ceramic 16 MiB proc", "BM_pipe_pingpong_size_proc/16777216",
     "BM_ceramic_pingpong_size_proc/16777216", "ns_one_way"},
    {"ceramic 4 KiB / ceramic 512 B proc", "BM_ceramic_pingpong_size_proc/4096",
     "BM_ceramic_pingpong_size_proc/512", "ns_one_way"},
    {"mutex+cv 64 KiB / ceramic 64 KiB threads", "BM_mutexcv_pingpong_size_threads/65536",
     "BM_ceramic_pingpong_size_threads/65536", "ns_one_way"},
    {"mutex+cv 16 MiB / ceramic 16 MiB threads", "BM_mutexcv_pingpong_size_threads/16777216",
     "BM_ceramic_pingpong_size_threads/16777216", "ns_one_way"},
    // The libraries a user would pick instead (latency_libraries.cpp): above 1, ceramic is faster.
    {"boost mq 8 B / ceramic 8 B proc", "BM_boost_mq_pingpong_size_proc/8",
     "BM_ceramic_pingpong_size_proc/8", "ns_one_way"},
    {"boost mq 64 KiB / ceramic 64 KiB proc", "BM_boost_mq_pingpong_size_proc/65536",
     "BM_ceramic_pingpong_size_proc/65536", "ns_one_way"},
    {"boost mq 1 MiB / ceramic 1 MiB proc", "BM_boost_mq_pingpong_size_proc/1048576",
     "BM_ceramic_pingpong_size_proc/1048576", "ns_one_way"},
    {"boost mq 16 MiB / ceramic 16 MiB proc", "BM_boost_mq_pingpong_size_proc/16777216",
     "BM_ceramic_pingpong_size_proc/16777216", "ns_one_way"},
    {"iceoryx 8 B / ceramic 8 B proc", "BM_iceoryx_pingpong_size_proc/8",
     "BM_ceramic_pingpong_size_proc/8", "ns_one_way"},
    {"iceoryx 64 KiB / ceramic 64 KiB proc", "BM_iceoryx_pingpong_size_proc/65536",
     "BM_ceramic_pingpong_size_proc/65536", "ns_one_way"},
    {"iceoryx 1 MiB / ceramic 1 MiB proc", "BM_iceoryx_pingpong_size_proc/1048576",
     "BM_ceramic_pingpong_size_proc/1048576", "ns_one_way"},
    {"iceoryx 16 MiB / ceramic 16 MiB proc", "BM_iceoryx_pingpong_size_proc/16777216",
     "BM_ceramic_pingpong_size_proc/16777216", "ns_one_way"},
    {"ceramic 1x1 proc / pipe 1x1", "BM_ceramic_mpmc_proc/senders:1/receivers:1",
     "BM_pipe_mpmc_proc/senders:1/receivers:1", "Mmsg/s"},
    {"ceramic 4x4 proc / pipe 4x4", "BM_ceramic_mpmc_proc/senders:4/receivers:4",
     "BM_pipe_mpmc_proc/senders:4/receivers:4", "Mmsg/s"},
    {"ceramic 8x8 proc / pipe 8x8", "BM_ceramic_mpmc_proc/senders:8/receivers:8",
     "BM_pipe_mpmc_proc/senders:8/receivers:8", "Mmsg/s"},
    {"ceramic buffered 4x4 proc / pipe 4x4", "BM_ceramic_mpmc_buffered_proc/senders:4/receivers:4",
     "BM_pipe_mpmc_proc/senders:4/receivers:4", "Mmsg/s"},
    {"ceramic 8x8 proc / ceramic 1x1 proc", "BM_ceramic_mpmc_proc/senders:8/receivers:8",
     "BM_ceramic_mpmc_proc/senders:1/receivers:1", "Mmsg/s"},
    {"ceramic 4x4 threads / mutex+cv queue 4x4", "BM_ceramic_mpmc_threads/senders:4/receivers:4",
     "BM_mutexcv_queue_mpmc_threads/senders:4/receivers:4", "Mmsg/s"},
    {"ceramic buf. 4x4 thr. / mutex+cv queue 4x4",
     "BM_ceramic_mpmc_buffered_threads/senders:4/receivers:4",
     "BM_mutexcv_queue_mpmc_threads/senders:4/receivers:4", "Mmsg/s"},
    {"sim 3 procs 10 ops / bare 3-process tree", "BM_sim_schedules/procs:3/ops:10",
     "BM_process_tree/procs:3", "us/sched"},
    {"sim 8 procs 20 ops / bare 8-process tree", "BM_sim_schedules/procs:8/ops:20",
     "BM_process_tree/procs:8", "us/sched"},
    {"sim 3/10, 2 workers / 1 worker", "BM_sim_schedules_workers/procs:3/ops:10/workers:2",
     "BM_sim_schedules/procs:3/ops:10", "us/sched"},
    // The detector's cost per thread entry, 40k against 10k: 1.0 is linear, 4 quadratic.
    {"detector cycle 40k / 10k threads", "BM_detector_report_cycle/40000",
     "BM_detector_report_cycle/10000", "ns/thread"},
    {"detector crowd 40k / 10k threads", "BM_detector_report_crowd/40000",
     "BM_detector_report_crowd/10000", "ns/thread"},
};

void RatioReporter::PrintRatios(std::ostream& out) const {
  if (results_.empty()) return;  // --benchmark_list_tests, or a filter that matched nothing
  auto cell = [](std::optional<double> v) {
    char buf[32];
    if (v)
      std::snprintf(buf, sizeof buf, "%10.2f", *v);
    else
      std::snprintf(buf, sizeof buf, "%10s", "n/a");
    return std::string(buf);
  };
  out << "\nRatios (medians when repeated; latency in ns one way, throughput in GB/s = 1e9 B/s, "
         "MPMC in millions of messages/s)\n";
  char line[256];
  std::snprintf(line, sizeof line, "%-42s %-10s %10s %10s %8s\n", "ratio", "metric", "numerator",
                "denom.", "ratio");
  out << line;
  for (const Ratio& r : kRatios) {
    const auto a = lookup(r.numerator, r.metric);
    const auto b = lookup(r.denominator, r.metric);
    char ratio[32];
    if (a && b && *b > 0)
      std::snprintf(ratio, sizeof ratio, "%7.2fx", *a / *b);
    else
      std::snprintf(ratio, sizeof ratio, "%8s", "n/a");
    std::snprintf(line, sizeof line, "%-42s %-10s %s %s %s\n", r.label, r.metric,
                  cell(a).c_str(), cell(b).c_str(), ratio);
    out << line;
  }
  out.flush();
}

}  // namespace

// --ratios_from: the ratio table of earlier runs' JSON files (comma-separated).
int print_ratios_from(const std::string& files) {
  RatioReporter reporter(benchmark::ConsoleReporter::OO_Tabular);
  std::stringstream list(files);
  std::string path;
  while (std::getline(list, path, ',')) {
    std::ifstream in(path);
    if (!in) {
      std::cerr << "ceramic-bench: cannot read " << path << "\n";
      return 1;
    }
    try {
      const nlohmann::json doc = nlohmann::json::parse(in);
      for (const auto& b : doc.at("benchmarks")) reporter.remember_json(b);
    } catch (const nlohmann::json::exception& e) {
      std::cerr << "ceramic-bench: " << path << " is not Google Benchmark JSON: " << e.what()
                << "\n";
      return 1;
    }
  }
  reporter.PrintRatios(std::cout);
  return 0;
}

int main(int argc, char** argv) {
  if (argc == 2 && std::strncmp(argv[1], bench::kIceoryxPeerFlag,
                                std::strlen(bench::kIceoryxPeerFlag)) == 0)
    return bench::iceoryx_peer_main(argv[1] + std::strlen(bench::kIceoryxPeerFlag));
  constexpr const char* kRatiosFrom = "--ratios_from=";
  if (argc == 2 && std::strncmp(argv[1], kRatiosFrom, std::strlen(kRatiosFrom)) == 0)
    return print_ratios_from(argv[1] + std::strlen(kRatiosFrom));
  // A peer that dies must show up as a failed write (EPIPE), not kill the whole suite.
  signal(SIGPIPE, SIG_IGN);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RatioReporter reporter(isatty(STDOUT_FILENO) ? benchmark::ConsoleReporter::OO_ColorTabular
                                               : benchmark::ConsoleReporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.PrintRatios(reporter.GetOutputStream());
  benchmark::Shutdown();
  return 0;
}

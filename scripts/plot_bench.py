#!/usr/bin/env python3
"""Draws the figures of docs/performance.md from ceramic-bench's JSON output.

    python3 scripts/plot_bench.py BENCH.json OUT_DIR

Every point is the median of the repetitions in the file; the whiskers span the fastest and the
slowest repetition, so a noisy benchmark shows as one. A benchmark that failed or is missing from
the file is left out of its figure (and named on stderr), never drawn as zero.
"""
import json
import os
import statistics
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

CERAMIC = "#c0392b"
CERAMIC_2 = "#e67e22"
BASELINES = ["#2c3e50", "#2980b9", "#27ae60", "#8e44ad", "#7f8c8d", "#16a085", "#d35400"]


def parse_name(run_name):
    """'BM_x/8/min_time:0.300/real_time' -> ('BM_x', {'': [8]}); named args go by name."""
    parts = run_name.split("/")
    args, positional = {}, []
    for p in parts[1:]:
        if p in ("real_time", "manual_time") or p.startswith(("min_time:", "iterations:",
                                                              "repeats:", "threads:")):
            continue
        if ":" in p:
            k, v = p.split(":", 1)
            args[k] = int(v)
        else:
            positional.append(int(p))
    key = parts[0]
    if positional:
        key += "/" + "/".join(str(a) for a in positional)
    for k, v in args.items():
        key += f"/{k}:{v}"
    return key


class Results:
    def __init__(self, path):
        with open(path) as f:
            data = json.load(f)
        self.context = data.get("context", {})
        self.runs = defaultdict(list)  # key -> list of per-repetition dicts
        self.failed = {}
        for b in data["benchmarks"]:
            if b.get("run_type") != "iteration":
                continue
            key = parse_name(b["run_name"])
            if b.get("error_occurred"):
                self.failed[key] = b.get("error_message", "")
                continue
            self.runs[key].append(b)
        for key, msg in self.failed.items():
            print(f"plot_bench: {key} failed: {msg}", file=sys.stderr)

    def stat(self, key, metric, scale=1.0):
        """(median, min, max) of metric over the repetitions, times scale; None if missing."""
        unit_ms = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}
        if metric == "real_time_ms":  # the time per iteration, whatever unit it was printed in
            values = [r["real_time"] * unit_ms[r["time_unit"]] * scale
                      for r in self.runs.get(key, [])]
        else:
            values = [r[metric] * scale for r in self.runs.get(key, []) if metric in r]
        if not values:
            if key not in self.failed:
                print(f"plot_bench: no {metric} for {key}", file=sys.stderr)
            return None
        return statistics.median(values), min(values), max(values)


def errorbar_series(ax, xs, stats, **kw):
    pts = [(x, s) for x, s in zip(xs, stats) if s is not None]
    if not pts:
        return
    x = [p[0] for p in pts]
    med = [p[1][0] for p in pts]
    lo = [p[1][0] - p[1][1] for p in pts]
    hi = [p[1][2] - p[1][0] for p in pts]
    ax.errorbar(x, med, yerr=[lo, hi], capsize=3, marker="o", markersize=4, **kw)


def bytes_label(n, _pos=None):
    for unit, size in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:g} {unit}"
    return f"{n:g} B"


def grouped_bars(ax, groups, series, res, metric, scale, colors):
    """groups: [(label, key suffix)], series: [(label, key prefix)]: one bar per (group, series)."""
    width = 0.8 / len(series)
    for i, (label, prefix) in enumerate(series):
        xs, meds, los, his = [], [], [], []
        for g, (_glabel, suffix) in enumerate(groups):
            s = res.stat(prefix + suffix, metric, scale)
            if s is None:
                continue
            xs.append(g + (i - (len(series) - 1) / 2) * width)
            meds.append(s[0])
            los.append(s[0] - s[1])
            his.append(s[2] - s[0])
        ax.bar(xs, meds, width, yerr=[los, his], capsize=2, label=label, color=colors[i])
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([g[0] for g in groups])


def save(fig, out_dir, name):
    path = os.path.join(out_dir, name)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"plot_bench: wrote {path}")


SIZES = [8, 64, 512, 4096, 65536, 1 << 20, 16 << 20]


def size_panels(res, series):
    """Latency and bandwidth against value size, one line per (label, benchmark, color, style),
    both axes log scale; returns the figure and its two panels."""
    fig, (lat, bw) = plt.subplots(1, 2, figsize=(12, 4.8))
    for label, name, color, style in series:
        keys = [f"{name}/{s}" for s in SIZES]
        errorbar_series(lat, SIZES, [res.stat(k, "ns_one_way") for k in keys], label=label,
                        color=color, linestyle=style)
        errorbar_series(bw, SIZES, [res.stat(k, "bytes_per_second", 1e-9) for k in keys],
                        label=label, color=color, linestyle=style)
    for ax in (lat, bw):
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_formatter(FuncFormatter(bytes_label))
        ax.set_xticks(SIZES)
        ax.set_xlabel("value size")
        ax.grid(True, which="major", alpha=0.3)
        ax.set_yscale("log")
    lat.set_ylabel("one-way latency (ns, log)")
    bw.set_ylabel("GB/s (10^9 B/s, log)")
    bw.set_title("Bytes moved per second, one way")
    return fig, lat, bw


def latency_vs_size(res, out_dir):
    series = [
        ("ceramic Chan<std::string>, processes", "BM_ceramic_pingpong_size_proc", CERAMIC, "-"),
        ("socketpair, processes", "BM_socketpair_pingpong_size_proc", BASELINES[1], "-"),
        ("pipe, processes", "BM_pipe_pingpong_size_proc", BASELINES[2], "-"),
        ("ceramic Chan<std::string>, threads", "BM_ceramic_pingpong_size_threads", CERAMIC_2, "--"),
        ("mutex+cv slot, threads", "BM_mutexcv_pingpong_size_threads", BASELINES[3], "--"),
    ]
    fig, lat, bw = size_panels(res, series)
    for ax in (lat, bw):
        ax.axvline(1024, color="grey", linestyle=":", linewidth=1)
    lat.set_title("Rendezvous latency against value size")
    lat.text(1100, lat.get_ylim()[0] * 1.3, "ceramic inline limit (1 KiB)", fontsize=7,
             color="grey")
    lat.legend(fontsize=8)
    save(fig, out_dir, "latency_vs_size.png")


def libraries(res, out_dir):
    """ceramic against the libraries a C++ user would pick instead, processes, 8 B to 16 MiB."""
    series = [
        ("ceramic Chan<std::string>", "BM_ceramic_pingpong_size_proc", CERAMIC, "-"),
        ("iceoryx (WaitSet, loan + copy)", "BM_iceoryx_pingpong_size_proc", BASELINES[3], "-"),
        ("Boost.Interprocess message_queue", "BM_boost_mq_pingpong_size_proc", BASELINES[0], "-"),
        ("socketpair", "BM_socketpair_pingpong_size_proc", BASELINES[1], "--"),
        ("pipe", "BM_pipe_pingpong_size_proc", BASELINES[2], "--"),
    ]
    if not any(res.runs.get(f"{name}/{s}") for _l, name, _c, _s in series[1:3] for s in SIZES):
        return  # a run without the library benchmarks (filtered, or built without them)
    fig, lat, bw = size_panels(res, series)
    lat.set_title("Two processes, ping-pong: ceramic and the alternatives")
    lat.legend(fontsize=8)
    save(fig, out_dir, "libraries.png")


def latency_8b(res, out_dir):
    names = sorted(k for k in res.runs if "_pingpong_" in k and "/" not in k)
    rows = []
    for k in names:
        s = res.stat(k, "ns_one_way")
        if s is not None:
            rows.append((s[0], s, k))
    rows.sort()
    if not rows:
        return
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(rows) + 1.2))
    y = range(len(rows))
    meds = [r[0] for r in rows]
    lo = [r[0] - r[1][1] for r in rows]
    hi = [r[1][2] - r[0] for r in rows]
    colors = [CERAMIC if "ceramic" in r[2] else BASELINES[0] for r in rows]
    ax.barh(list(y), meds, xerr=[lo, hi], capsize=2, color=colors)
    ax.set_yticks(list(y))
    ax.set_yticklabels([r[2].removeprefix("BM_") for r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("one-way latency of an 8-byte value (ns, log)")
    ax.set_title("8-byte rendezvous: every mechanism (ceramic in red)")
    for i, r in enumerate(rows):
        ax.text(r[1][2] * 1.1, i, f"{r[0]:,.0f}", va="center", fontsize=7)
    ax.grid(True, axis="x", which="major", alpha=0.3)
    save(fig, out_dir, "latency_8b.png")


MPMC_SHAPES = [(1, 1), (2, 2), (4, 4), (8, 8), (1, 8), (8, 1)]


def mpmc(res, out_dir):
    groups = [(f"{s}x{r}", f"/senders:{s}/receivers:{r}") for s, r in MPMC_SHAPES]
    fig, (procs, threads) = plt.subplots(1, 2, figsize=(12, 4.6), sharey=True)
    grouped_bars(procs, groups, [
        ("ceramic unbuffered", "BM_ceramic_mpmc_proc"),
        ("ceramic buffered (1024)", "BM_ceramic_mpmc_buffered_proc"),
        ("one shared pipe", "BM_pipe_mpmc_proc"),
    ], res, "items_per_second", 1e-6, [CERAMIC, CERAMIC_2, BASELINES[2]])
    grouped_bars(threads, groups, [
        ("ceramic unbuffered", "BM_ceramic_mpmc_threads"),
        ("ceramic buffered (1024)", "BM_ceramic_mpmc_buffered_threads"),
        ("mutex+cv queue (1024)", "BM_mutexcv_queue_mpmc_threads"),
    ], res, "items_per_second", 1e-6, [CERAMIC, CERAMIC_2, BASELINES[3]])
    procs.set_title("Processes: one channel, S senders x R receivers")
    threads.set_title("Threads")
    procs.set_ylabel("million 8-byte messages / s (log)")
    for ax in (procs, threads):
        ax.set_yscale("log")
        ax.set_ylim(0.1, 30)  # the same decades on both sides; matplotlib would clip low bars
        ax.set_xlabel("senders x receivers")
        ax.legend(fontsize=8)
        ax.grid(True, axis="y", which="major", alpha=0.3)
    save(fig, out_dir, "mpmc.png")


def throughput(res, out_dir):
    names = [
        ("memcpy (1 thread)", "BM_memcpy"),
        ("ceramic to parent", "BM_ceramic_string_to_parent"),
        ("ceramic from parent", "BM_ceramic_string_from_parent"),
        ("ceramic, fresh strings", "BM_ceramic_string_to_parent_fresh"),
        ("ceramic threads", "BM_ceramic_string_threads"),
        ("process_vm_readv", "BM_process_vm_readv_proc"),
        ("shm two-copy ring", "BM_shm_two_copy_proc"),
        ("socketpair stream", "BM_socketpair_stream_proc"),
        ("pipe stream", "BM_pipe_stream_proc"),
    ]
    groups = [(label, name) for label, name in names]
    fig, ax = plt.subplots(figsize=(12, 4.6))
    width = 0.38
    for i, (size, color) in enumerate(((1 << 20, "#5d6d7e"), (16 << 20, "#1b2631"))):
        xs, meds, lo, hi, colors = [], [], [], [], []
        for g, (_label, name) in enumerate(groups):
            s = res.stat(f"{name}/{size}", "bytes_per_second", 1e-9)
            if s is None:
                continue
            xs.append(g + (i - 0.5) * width)
            meds.append(s[0])
            lo.append(s[0] - s[1])
            hi.append(s[2] - s[0])
            colors.append((CERAMIC if i else CERAMIC_2) if "ceramic" in name else color)
        ax.bar(xs, meds, width, yerr=[lo, hi], capsize=2, color=colors)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([g[0] for g in groups], rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("GB/s (10^9 B/s)")
    ax.set_title("One-way throughput of large values (left bar 1 MiB, right bar 16 MiB; "
                 "ceramic in red)")
    ax.grid(True, axis="y", alpha=0.3)
    save(fig, out_dir, "throughput.png")


def select(res, out_dir):
    cases = [1, 2, 4, 8]
    fig, ax = plt.subplots(figsize=(7, 4.4))
    errorbar_series(ax, cases, [res.stat(f"BM_ceramic_select_proc/{n}", "ns_one_way")
                                for n in cases], label="select, processes", color=CERAMIC)
    errorbar_series(ax, [1, 8], [res.stat(f"BM_ceramic_select_threads/{n}", "ns_one_way")
                                 for n in (1, 8)], label="select, threads", color=CERAMIC_2,
                    linestyle="--")
    for key, label, color in (("BM_ceramic_pingpong_proc", "plain recv, processes", "black"),
                              ("BM_ceramic_pingpong_threads", "plain recv, threads", "grey"),
                              ("BM_ceramic_pingpong_proc_traced", "plain recv, tracer on",
                               BASELINES[1])):
        s = res.stat(key, "ns_one_way")
        if s is not None:
            ax.axhline(s[0], color=color, linestyle=":", label=f"{label} ({s[0]:.0f} ns)")
    ax.set_xscale("log", base=2)
    ax.set_xticks(cases)
    ax.set_xticklabels([str(c) for c in cases])
    ax.set_xlabel("channels in the select")
    ax.set_ylabel("one-way latency (ns)")
    ax.set_ylim(bottom=0)
    ax.set_title("select over N channels against a plain receive")
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    save(fig, out_dir, "select.png")


SIM_SHAPES = [(2, 10), (3, 10), (3, 20), (3, 40), (5, 10), (5, 20), (8, 20)]


def sim(res, out_dir):
    def rate(procs, ops):
        return res.stat(f"BM_sim_schedules/procs:{procs}/ops:{ops}", "schedules_per_s")

    def floor(procs):
        s = res.stat(f"BM_process_tree/procs:{procs}", "us_per_schedule")
        # A rate is the inverse of a time: the fastest repetition is the shortest time.
        return None if s is None else (1e6 / s[0], 1e6 / s[2], 1e6 / s[1])

    fig, (by_procs, by_ops) = plt.subplots(1, 2, figsize=(12, 4.6), sharey=True)
    for ops, color in ((10, CERAMIC), (20, CERAMIC_2)):
        ps = sorted(p for p, o in SIM_SHAPES if o == ops)
        errorbar_series(by_procs, ps, [rate(p, ops) for p in ps], color=color,
                        label=f"simulator, {ops} channel operations")
    ps = [2, 3, 5, 8]
    errorbar_series(by_procs, ps, [floor(p) for p in ps], color=BASELINES[0], linestyle="--",
                    label="floor: fork and reap a bare process tree")
    ops = sorted(o for p, o in SIM_SHAPES if p == 3)
    errorbar_series(by_ops, ops, [rate(3, o) for o in ops], color=CERAMIC,
                    label="simulator, 3 processes")
    f3 = floor(3)
    if f3 is not None:
        by_ops.axhline(f3[0], color=BASELINES[0], linestyle="--",
                       label="floor: bare 3-process tree")
    for ax in (by_procs, by_ops):
        ax.axhline(1000, color="grey", linestyle=":", label="target: 1,000 schedules/s")
        ax.set_yscale("log")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8)
    by_procs.set_xlabel("processes in the program")
    by_procs.set_ylabel("schedules per second (log)")
    by_procs.set_title("Simulator (random walk) against program size")
    by_ops.set_xlabel("channel operations (3 processes)")
    by_ops.set_title("against the number of operations")
    save(fig, out_dir, "sim.png")


def detector(res, out_dir):
    sizes = [100, 1000, 10000]
    fig, ax = plt.subplots(figsize=(7, 4.4))
    for name, label, color in (("BM_detector_analyze_ring_unwinds", "ring unwinds (one runs)",
                                BASELINES[1]),
                               ("BM_detector_analyze_knot", "all stuck (report built)", CERAMIC)):
        errorbar_series(ax, sizes, [res.stat(f"{name}/{n}", "real_time_ms") for n in sizes],
                        label=label, color=color)
    ax.axhline(100, color="grey", linestyle=":", label="budget: 100 ms")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("processes in the wait-for graph (10 channels each)")
    ax.set_ylabel("analysis time (ms, log)")
    ax.set_title("Deadlock analysis against graph size")
    ax.legend(fontsize=8)
    ax.grid(True, which="major", alpha=0.3)
    save(fig, out_dir, "detector.png")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    res = Results(sys.argv[1])
    out_dir = sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    for draw in (latency_vs_size, libraries, latency_8b, mpmc, throughput, select, sim, detector):
        draw(res, out_dir)


if __name__ == "__main__":
    main()

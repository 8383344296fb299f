"""Measuring half of benchmarks/cron-side-by-side.sh (standard library only).

  syslog SOCKET OUT          listen on a Unix datagram socket (a stand-in /dev/log), one
                             message per line in OUT, until SIGTERM
  watch PID SLOT N TIMES OUT wait until TIMES holds N lines (or SLOT + 60 s), sampling the
                             scheduler PID and its descendants; JSON figures to OUT
  report LABEL SLOT TIMES WATCH  one JSON line of start-delay and resource figures
"""
import json
import os
import signal
import socket
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def syslog(path, out):
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(path)
    os.chmod(path, 0o666)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with open(out, "a", buffering=1) as log:
        while True:
            message = server.recv(65536).decode("utf-8", "replace").rstrip("\n\0")
            log.write(message.replace("\n", " ") + "\n")


def stat_fields(pid):
    """Fields after "(comm)": index 0 is state (field 3 of proc(5))."""
    with open(f"/proc/{pid}/stat") as handle:
        text = handle.read()
    return text[text.rindex(")") + 2:].split()


def cpu(pid):
    fields = stat_fields(pid)
    own = (int(fields[11]) + int(fields[12])) / TICK      # utime + stime
    children = (int(fields[13]) + int(fields[14])) / TICK  # cutime + cstime (reaped descendants)
    return own, children


def status_kb(pid, key):
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def descendants(root):
    """(count, summed RSS in kB) of every live descendant of root, from one pass over /proc."""
    parent, rss = {}, {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            fields = stat_fields(name)
        except OSError:
            continue
        parent[int(name)] = int(fields[1])
        rss[int(name)] = int(fields[21]) * PAGE_KB
    count = total = 0
    for pid in parent:
        ancestor, hops = parent.get(pid), 0
        while ancestor and ancestor != root and hops < 64:
            ancestor, hops = parent.get(ancestor), hops + 1
        if ancestor == root:
            count += 1
            total += rss[pid]
    return count, total


def line_count(path):
    try:
        with open(path, "rb") as handle:
            return sum(1 for _ in handle)
    except OSError:
        return 0


def watch(pid, slot, expected, times, out):
    pid, slot, expected = int(pid), float(slot), int(expected)
    # Until one second before the slot: nothing to sample but the start-up.
    while time.time() < slot - 1:
        time.sleep(0.05)
    before = cpu(pid)
    peak_count = peak_rss = 0
    deadline = slot + 60
    finished = None
    while time.time() < deadline:
        count, rss = descendants(pid)
        peak_count, peak_rss = max(peak_count, count), max(peak_rss, rss)
        if finished is None and line_count(times) >= expected:
            finished = time.time()
        # Two more seconds after the last line so every run has ended and been reaped.
        if finished is not None and time.time() > finished + 2 and count == 0:
            break
        time.sleep(0.1)
    after = cpu(pid)
    figures = {
        "cpu_own_total": after[0], "cpu_children_total": after[1],
        "cpu_own_burst": after[0] - before[0], "cpu_children_burst": after[1] - before[1],
        "peak_rss_kb": status_kb(pid, "VmHWM"), "rss_end_kb": status_kb(pid, "VmRSS"),
        "peak_descendants": peak_count, "peak_descendants_rss_kb": peak_rss,
    }
    with open(out, "w") as handle:
        json.dump(figures, handle)


def percentile(values, fraction):
    return values[min(len(values) - 1, int(len(values) * fraction))] if values else float("nan")


def report(label, slot, times, watched):
    slot = float(slot)
    delays = []
    try:
        with open(times) as handle:
            delays = sorted((float(line) - slot) * 1000 for line in handle if line.strip())
    except OSError:
        pass
    with open(watched) as handle:
        figures = json.load(handle)
    figures.update({
        "label": label, "runs": len(delays), "p50_ms": percentile(delays, 0.5),
        "p99_ms": percentile(delays, 0.99), "max_ms": delays[-1] if delays else float("nan"),
        "min_ms": delays[0] if delays else float("nan"),
    })
    print(json.dumps(figures))


if __name__ == "__main__":
    command, arguments = sys.argv[1], sys.argv[2:]
    {"syslog": syslog, "watch": watch, "report": report}[command](*arguments)

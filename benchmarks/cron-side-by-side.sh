#!/usr/bin/env bash
# Side by side with Debian's cron (issue 5 part 4). A benchmark, not a test: .ci/run does not
# run it, and it changes the machine while it runs (see "What it touches").
#
#   benchmarks/cron-side-by-side.sh [JOBS]        # default 1000; as root
#   ASCRIBE=/path/to/release/ascribe benchmarks/cron-side-by-side.sh
#
# Both schedulers get the same JOBS jobs, all due at one minute, each running as `nobody`:
#   /bin/sh -c 'date +%s.%N >> TIMES'
# First Debian's cron (`cron -f`, jobs in /etc/cron.d/ascribe-vs-cron), then the release
# `ascribe daemon` (private state and jobs directories), one after the other on separate minutes
# so they never compete for the CPU. For each: the delay from the slot instant to each job's own
# timestamp (p50, p99, max), CPU seconds and peak memory of the scheduler and of its children,
# and what the scheduler recorded about the runs.
#
# What it touches: installs the `cron` package with apt-get when /usr/sbin/cron is missing
# (services are not started: Debian's policy-rc.d decides that); while cron runs, the file
# /etc/cron.d/ascribe-vs-cron and, when no syslog daemon owns /dev/log, a stand-in /dev/log
# socket that collects what cron logs. Both are removed, cron stopped, and /run/crond.pid and
# /run/crond.reboot removed if they did not exist before, on any exit. Refuses to run when a
# cron daemon is already running (it would run the jobs too).
set -euo pipefail

jobs=${1:-1000}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
ascribe=${ASCRIBE:-$repo/.build/release/ascribe}
measure="$here/side_by_side_measure.py"

[ "$(id -u)" = 0 ] || { echo "run as root: cron runs /etc/cron.d jobs as their user only for root" >&2; exit 2; }
[[ "$jobs" =~ ^[0-9]+$ ]] && [ "$jobs" -ge 1 ] || { echo "usage: $0 [JOBS]" >&2; exit 2; }
[ -x "$ascribe" ] || { echo "no release build at $ascribe: run \`swift build -c release\` (or set ASCRIBE)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 is needed for the measurements" >&2; exit 2; }
if pgrep -x cron >/dev/null; then
  echo "a cron daemon is already running (pid $(pgrep -x cron | tr '\n' ' ')); it would run the jobs too: stop it first" >&2
  exit 2
fi
if [ ! -x /usr/sbin/cron ]; then
  echo "installing Debian's cron package (apt-get)…"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cron >/dev/null
fi
if pgrep -x cron >/dev/null; then
  echo "installing cron started a cron daemon (pid $(pgrep -x cron | tr '\n' ' ')): stop it and run again" >&2
  exit 2
fi

work=$(mktemp -d /tmp/ascribe-vs-cron.XXXXXX)
chmod 755 "$work"
install -d -o nobody -m 0755 "$work/out"
cron_file=/etc/cron.d/ascribe-vs-cron
[ -e /run/crond.pid ] && had_pid_file=1 || had_pid_file=0
[ -e /run/crond.reboot ] && had_reboot_file=1 || had_reboot_file=0
[ -e /dev/log ] && syslog_listener=0 || syslog_listener=1
cron_pid="" listener_pid="" daemon_pid=""

cleanup() {
  [ -n "$cron_pid" ] && kill -TERM "$cron_pid" 2>/dev/null && wait "$cron_pid" 2>/dev/null
  [ -n "$daemon_pid" ] && kill -TERM "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
  [ -n "$listener_pid" ] && kill -TERM "$listener_pid" 2>/dev/null && wait "$listener_pid" 2>/dev/null
  [ "$syslog_listener" = 1 ] && rm -f /dev/log
  rm -f "$cron_file"
  [ "$had_pid_file" = 0 ] && rm -f /run/crond.pid
  [ "$had_reboot_file" = 0 ] && rm -f /run/crond.reboot
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The first minute boundary at least 8 s away, skipping minutes Debian's /etc/crontab uses
# (hourly at :17, daily, weekly and monthly at 06:25, 06:47, 06:52).
next_slot() {
  local slot=$(( ($(date +%s) + 8 + 59) / 60 * 60 ))
  while [[ " 17 25 47 52 " == *" $(date -d "@$slot" +%M) "* ]]; do slot=$((slot + 60)); done
  echo "$slot"
}
# "minute hour day month" of a slot, in the local time both schedulers use.
fields() { date -d "@$1" '+%-M %-H %-d %-m'; }

# --- Debian's cron -----------------------------------------------------------------------
cron_slot=$(next_slot)
{
  echo 'SHELL=/bin/sh'
  echo 'MAILTO=""'
  for ((i = 0; i < jobs; i++)); do
    echo "$(fields "$cron_slot") * nobody date +\\%s.\\%N >> $work/out/cron.times"
  done
} > "$cron_file"
chmod 0644 "$cron_file"
if [ "$syslog_listener" = 1 ]; then
  python3 "$measure" syslog /dev/log "$work/cron.syslog" &
  listener_pid=$!
  for _ in $(seq 50); do [ -S /dev/log ] && break; sleep 0.1; done
fi
echo "cron: $jobs jobs due at $(date -d "@$cron_slot" '+%F %T %Z')"
/usr/sbin/cron -f 2>"$work/cron.stderr" &
cron_pid=$!
python3 "$measure" watch "$cron_pid" "$cron_slot" "$jobs" "$work/out/cron.times" "$work/cron.watch"
kill -TERM "$cron_pid"; wait "$cron_pid" 2>/dev/null || true; cron_pid=""
if [ -n "$listener_pid" ]; then kill -TERM "$listener_pid"; wait "$listener_pid" 2>/dev/null || true; listener_pid=""; fi
rm -f "$cron_file"

# --- Ascribe -----------------------------------------------------------------------------
mkdir -p "$work/jobs"
ascribe_slot=$(next_slot)
for ((i = 0; i < jobs; i++)); do
  name=$(printf 'side-%04d' "$i")
  cat > "$work/jobs/$name.job" <<EOF
schedule = $(fields "$ascribe_slot") *
identity = $name-runner
owner = bench <bench@example.com>
run-as = nobody
shell = /bin/sh
command = date +%s.%N >> $work/out/ascribe.times
EOF
done
echo "ascribe: $jobs jobs due at $(date -d "@$ascribe_slot" '+%F %T %Z')"
"$ascribe" daemon --state "$work/state" --jobs "$work/jobs" --quiet 2>"$work/ascribe.stderr" &
daemon_pid=$!
python3 "$measure" watch "$daemon_pid" "$ascribe_slot" "$jobs" "$work/out/ascribe.times" "$work/ascribe.watch"
kill -TERM "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true; daemon_pid=""

# --- Report ------------------------------------------------------------------------------
cron_figures=$(python3 "$measure" report cron "$cron_slot" "$work/out/cron.times" "$work/cron.watch")
ascribe_figures=$(python3 "$measure" report ascribe "$ascribe_slot" "$work/out/ascribe.times" "$work/ascribe.watch")
verify=$("$ascribe" verify --state "$work/state" 2>&1) && verify_status=0 || verify_status=$?
"$ascribe" log --state "$work/state" --json > "$work/ascribe.events"
# What cron sent to syslog, by kind: the message text after "CRON[pid]: " (other programs'
# messages that reached the stand-in /dev/log are left out), numbers dropped, four words kept.
cron_syslog=""
if [ "$syslog_listener" = 1 ] && [ -f "$work/cron.syslog" ]; then
  cron_syslog=$({ grep -E '(CRON|cron)\[[0-9]+\]: ' "$work/cron.syslog" || true; } | sed -E 's/^.*(CRON|cron)\[[0-9]+\]: //' | sed -E 's/[0-9]+//g' | cut -d' ' -f1-4 | sort | uniq -c | sort -rn | head -8 |
    awk '{count=$1; $1=""; printf "%s%d × `%s`", (NR>1?"; ":""), count, substr($0,2)}')
fi

python3 - "$jobs" "$cron_figures" "$ascribe_figures" "$work/ascribe.events" "$verify_status" "$verify" \
  "$syslog_listener" "$cron_syslog" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'EOF'
import collections, json, sys
jobs, cron, ascribe, events, verify_status, verify, listener, cron_syslog, cores, load = sys.argv[1:]
cron, ascribe = json.loads(cron), json.loads(ascribe)
types = collections.Counter(json.loads(line)["type"] for line in open(events) if line.strip())
mb = lambda kb: f"{kb / 1024:.1f}"
print(f"\n# {jobs} jobs due at one minute: Debian cron and ascribe daemon ({cores} cores, load {load})\n")
print("Start delay = the job's own `date +%s.%N` minus the slot instant (nearest-rank percentiles).\n")
print("| scheduler | runs | start delay p50 / p99 / max (ms) | CPU own: burst / total (s) | CPU children: burst (s) | peak RSS own (MB) | peak live children / their RSS (MB) |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for label, f in (("Debian cron 3.0pl1", cron), ("ascribe daemon", ascribe)):
    print(f"| {label} | {f['runs']} / {jobs} | {f['p50_ms']:.0f} / {f['p99_ms']:.0f} / {f['max_ms']:.0f} | "
          f"{f['cpu_own_burst']:.2f} / {f['cpu_own_total']:.2f} | {f['cpu_children_burst']:.2f} | "
          f"{mb(f['peak_rss_kb'])} | {f['peak_descendants']} / {mb(f['peak_descendants_rss_kb'])} |")
print("\nCPU own = the scheduler process (utime+stime; burst = from 1 s before the slot to the end, total = since it"
      " started). CPU children = every reaped descendant (cutime+cstime): for cron its per-job fork (PAM session,"
      " setuid) and the job, for Ascribe the exec helper and the job. Peak RSS own = VmHWM. Live children sampled"
      " every 100 ms from /proc (their RSS summed, shared pages counted in each).\n")
print("What each recorded:")
fired, succeeded = types.get("run.fired", 0), types.get("run.succeeded", 0)
print(f"- ascribe: {sum(types.values())} events in the store ({', '.join(f'{k} {v}' for k, v in sorted(types.items()))}),"
      f" every run.fired durable before its start; `ascribe verify`: {verify.strip()} (exit {verify_status})")
if listener == "1":
    print(f"- cron: syslog messages received on a stand-in /dev/log, by kind: {cron_syslog or 'none'}."
          " Start lines only, no outcome; datagrams, nothing durable or chained; without a syslog daemon cron records nothing")
else:
    print("- cron: /dev/log belonged to a running syslog daemon; see its log for `CMD` lines (start only, no outcome)")
target = "met" if ascribe["p99_ms"] <= cron["p99_ms"] and fired == int(jobs) and succeeded == int(jobs) else "MISSED"
print(f"\nTarget (ascribe p99 start delay no worse than cron's, every run recorded durably): {target}")
EOF

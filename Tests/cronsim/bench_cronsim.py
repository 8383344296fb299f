#!/usr/bin/env python3
"""cronsim's side of the schedule benchmark: the same next-fire work, timed in-process.

Reads JSON lines {"expr", "zone", "start"} on stdin, computes one next fire time per line with
cronsim, and prints {"computations": N, "seconds": S} (start-up and parsing of stdin excluded,
expression parsing included, as on the Swift side).
"""
import json
import sys
import time
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from cronsim import CronSim

requests = [json.loads(line) for line in sys.stdin]
zones = {}
prepared = []
for request in requests:
    name = request["zone"]
    if name not in zones:
        zones[name] = timezone.utc if name == "UTC" else ZoneInfo(name)
    prepared.append((request["expr"], datetime.fromtimestamp(request["start"], zones[name])))

began = time.perf_counter()
for expr, start in prepared:
    next(CronSim(expr, start))
elapsed = time.perf_counter() - began
print(json.dumps({"computations": len(prepared), "seconds": elapsed}))

#!/usr/bin/env python3
"""Independent reference for the schedule cross-check: Debian cron semantics via `cronsim`.

Reads JSON lines {"expr", "zone", "start" (epoch seconds), "count"} on stdin and writes one
JSON line per request: {"fires": [epoch seconds, ...]} — the first `count` distinct fire times
strictly after `start` — or {"error": "..."} when cronsim refuses or gives up.
"""
import json
import sys
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError


def fires(expr, zone, start, count):
    tz = timezone.utc if zone == "UTC" else ZoneInfo(zone)
    begin = datetime.fromtimestamp(start, tz)
    result = []
    iterator = CronSim(expr, begin)
    # cronsim may repeat an instant (two gap slots moved to the same minute) or, when started
    # inside a repeated hour, yield a time before the start: keep distinct times after start.
    for _ in range(count * 4 + 8):
        try:
            moment = int(next(iterator).timestamp())
        except StopIteration:
            break
        if moment > start and (not result or moment > result[-1]):
            result.append(moment)
        if len(result) == count:
            break
    return result


for line in sys.stdin:
    request = json.loads(line)
    try:
        answer = {"fires": fires(request["expr"], request["zone"], request["start"], request["count"])}
    except (CronSimError, ValueError) as error:
        answer = {"error": str(error)}
    sys.stdout.write(json.dumps(answer) + "\n")

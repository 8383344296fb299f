#!/usr/bin/env python3
"""Independent check of an Ascribe event log, written from docs/EVENTS.md alone.

Usage: verify_chain.py EVENTS.DB
Prints "intact N" or "broken SEQ" for the first event whose hash or link does not hold.
"""
import hashlib
import json
import sqlite3
import struct
import sys

GENESIS = "0" * 64
# (column, kind) in canonical order; the tag is the position, starting at 1.
FIELDS = [
    ("seq", "integer"), ("event_id", "text"), ("time_ms", "integer"), ("host", "text"), ("type", "text"),
    ("actor", "text"), ("principal", "text"), ("owner", "text"), ("job", "text"), ("identity", "text"),
    ("run_id", "text"), ("scheduled_for_ms", "integer"), ("reason", "text"), ("argv", "list"),
    ("run_as", "text"), ("config_source", "text"), ("config_hash", "text"), ("pid", "integer"),
    ("exit_code", "integer"), ("signal", "integer"), ("duration_ms", "integer"), ("stdout_bytes", "integer"),
    ("stderr_bytes", "integer"), ("output_sha256", "text"), ("output_tail", "text"),
    ("output_cap_bytes", "integer"), ("output_path", "text"), ("development", "boolean"),
    ("details", "map"), ("prev_hash", "text"),
]


def length(n):
    return struct.pack(">Q", n)


def payload(kind, value):
    if kind == "text":
        return value.encode("utf-8", "surrogatepass")
    if kind == "integer":
        return struct.pack(">q", value)
    if kind == "boolean":
        return bytes([value])
    if kind == "list":
        items = [item.encode() for item in json.loads(value)]
        return length(len(items)) + b"".join(length(len(item)) + item for item in items)
    pairs = sorted((key.encode(), item.encode()) for key, item in json.loads(value).items())
    return length(len(pairs)) + b"".join(length(len(k)) + k + length(len(v)) + v for k, v in pairs)


def canonical(row):
    out = b"ascribe-event-v1"
    for tag, (column, kind) in enumerate(FIELDS, start=1):
        value = row[column]
        if value is None:
            out += bytes([tag, 0])
        else:
            data = payload(kind, value)
            out += bytes([tag, 1]) + length(len(data)) + data
    return out


def main(path):
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    connection.row_factory = sqlite3.Row
    expected_seq, previous = 1, GENESIS
    for row in connection.execute("SELECT * FROM events ORDER BY seq"):
        digest = hashlib.sha256(canonical(row)).hexdigest()
        if row["seq"] != expected_seq or digest != row["hash"] or row["prev_hash"] != previous:
            print(f"broken {row['seq']}")
            return
        expected_seq, previous = row["seq"] + 1, row["hash"]
    print(f"intact {expected_seq - 1}")


if __name__ == "__main__":
    main(sys.argv[1])

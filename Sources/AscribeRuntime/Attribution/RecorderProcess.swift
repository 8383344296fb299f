import AscribeCore
import AscribeSystem

/// The process that writes a run's events: its pid and the kernel's start time for it, so a
/// later reader can tell "that process is still alive and will record the end" from "it died"
/// even after the pid has been reused.
public struct RecorderProcess: Equatable, Sendable {
    public var pid: Int32
    /// Field 22 of `/proc/<pid>/stat`: clock ticks after boot when the process started.
    public var startTicks: UInt64

    /// This process; nil when `/proc` cannot be read.
    public static func current() -> RecorderProcess? {
        let pid = SystemCalls.processID
        return startTicks(of: pid).map { RecorderProcess(pid: pid, startTicks: $0) }
    }

    /// From the `recorder_pid` / `recorder_start` details of a `run.fired`.
    public init?(details: [String: String]) {
        guard let pid = details[.recorderPid].flatMap(Int32.init),
              let start = details[.recorderStart].flatMap(UInt64.init) else { return nil }
        self.init(pid: pid, startTicks: start)
    }

    public init(pid: Int32, startTicks: UInt64) {
        self.pid = pid
        self.startTicks = startTicks
    }

    public var details: [String: String] { EventDetails([.recorderPid: String(pid), .recorderStart: String(startTicks)]) }

    /// The same process (same pid, same start) still exists.
    public var isAlive: Bool { Self.startTicks(of: pid) == startTicks }

    static func startTicks(of pid: Int32) -> UInt64? {
        let noCheck: (FileStatus) throws(Never) -> Void = { _ in }
        guard let bytes = try? FileSystem.read("/proc/\(pid)/stat", limit: 4096, check: noCheck) else { return nil }
        // The command name (field 2) is in parentheses and may hold spaces or ')'; the fields
        // after the last ')' start with field 3.
        guard let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = bytes[(close + 1)...].split(separator: UInt8(ascii: " "))
        // Field 22 is the 20th after field 2.
        guard fields.count >= 20 else { return nil }
        return UInt64(String(decoding: fields[19], as: UTF8.self))
    }
}

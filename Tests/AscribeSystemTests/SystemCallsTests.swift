import Glibc
import Foundation
import Testing
import AscribeSystem

/// The OS layer's own rules, checked without the runtime above it.
@Suite struct SystemCallsTests {
    @Test func aFailedCallCarriesItsErrnoAndNames() {
        guard case .failure(let error) = SystemError.valueOrErrno({ Glibc.close(-1) }) else {
            Issue.record("close(-1) succeeded")
            return
        }
        #expect(error == SystemError(code: EBADF))
        #expect(throws: SystemError(code: EBADF, call: "close", context: "fd -1")) {
            try SystemError.value("close", "fd -1") { Glibc.close(-1) }
        }
    }

    @Test func aFileDescriptorClosesWhenItEnds() throws {
        let pipe = try SystemCalls.makePipe()
        defer { SystemCalls.close(pipe.read) }
        do {
            let writer = FileDescriptor(owning: pipe.write)
            try SystemCalls.writeAll(writer.rawValue, [1, 2, 3])
        }
        // Every write end is closed, so after the three bytes the reader sees end of file
        // (an open one would be "would block": the read end does not wait).
        try SystemCalls.setNonBlocking(pipe.read)
        var buffer = [UInt8](repeating: 0, count: 16)
        #expect(try SystemCalls.read(pipe.read, into: &buffer) == .bytes(3))
        #expect(try SystemCalls.read(pipe.read, into: &buffer) == .endOfFile)
    }

    @Test func readToEndStopsAtTheLimit() throws {
        let pipe = try SystemCalls.makePipe()
        defer { SystemCalls.close(pipe.read) }
        let writer = FileDescriptor(owning: pipe.write)
        try SystemCalls.writeAll(writer.rawValue, [1, 2, 3, 4, 5])
        writer.close()
        #expect(try SystemCalls.readToEnd(pipe.read, limit: 3) == [1, 2, 3])
    }

    @Test func unlinkOfAMissingFileIsNotAnError() throws {
        let directory = try SystemCalls.makeUniqueDirectory(prefix: NSTemporaryDirectory() + "/ascribe-system-")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileSystem.replace(directory + "/file", with: [0x41], exactMode: 0o600)
        try SystemCalls.unlink(path: directory + "/file")
        try SystemCalls.unlink(path: directory + "/file")
        #expect(throws: SystemError(code: EISDIR, call: "unlink", context: directory)) { try SystemCalls.unlink(path: directory) }
    }

    @Test func entriesKeepANameThatIsNotUTF8ByteForByte() throws {
        let directory = try SystemCalls.makeUniqueDirectory(prefix: NSTemporaryDirectory() + "/ascribe-system-")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let name: [UInt8] = [0x66, 0xFF]
        let made = (directory.utf8 + [0x2F] + name + [0]).map { CChar(bitPattern: $0) }.withUnsafeBufferPointer {
            Glibc.open($0.baseAddress!, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        }
        try #require(made >= 0)
        SystemCalls.close(made)
        #expect(try FileSystem.entries(of: directory) == [name])
        let handle = try FileDescriptor.open(directory, flags: O_RDONLY | O_DIRECTORY)
        #expect(try SystemCalls.entries(of: handle.rawValue) == [name])
        #expect(throws: SystemError(code: ENOENT)) { try FileSystem.entries(of: directory + "/missing") }
    }

    /// `SystemCalls.environment` reads `environ` as Foundation's `ProcessInfo` does, so the
    /// executable needs no Foundation for `TZ`.
    @Test func theEnvironmentReadsAsFoundationReadsIt() {
        let environment = SystemCalls.environment
        #expect(!environment.isEmpty)
        #expect(environment == ProcessInfo.processInfo.environment)
        #expect(environment["PATH"] == getenv("PATH").map { String(cString: $0) })
    }

    /// One variable reads as the whole environment has it; an unset one is nil.
    @Test func oneVariableReadsAsTheEnvironmentHasIt() {
        let environment = SystemCalls.environment
        #expect(SystemCalls.environmentValue("PATH") == environment["PATH"])
        #expect(SystemCalls.environmentValue("PATH") != nil)
        #expect(environment["ASCRIBE_NEVER_SET_BY_TESTS"] == nil)
        #expect(SystemCalls.environmentValue("ASCRIBE_NEVER_SET_BY_TESTS") == nil)
    }
}

import Testing
import AscribeTestSupport

/// Issue 11 item 6, "start fast, stay small", checked by structure rather than by timing:
/// what the `ascribe` binary loads (what a daemon keeps per job: JobDefinitionFootprintTests). The figures themselves
/// are in BENCHMARKS.md.
@Suite struct FootprintTests {
    /// What glibc's loader maps for `ascribe`: with `LD_TRACE_LOADED_OBJECTS` set it prints each
    /// library it would load and exits without running the program (this is what `ldd` does).
    static func loadedLibraries() throws -> [String] {
        let result = try AscribeBinary.run(["--version"], environment: ["LD_TRACE_LOADED_OBJECTS": "1"])
        #expect(result.status == 0)
        let libraries = result.stdout.split(separator: "\n").map { $0.trimmingPrefix { $0 == " " || $0 == "\t" } }
            .compactMap { $0.split(separator: " ").first.map(String.init) }
        #expect(libraries.contains { $0.hasPrefix("libc.so") }, "the loader's trace lists glibc: \(libraries)")
        return libraries
    }

    /// Foundation (with FoundationEssentials and ICU, about 8 MB resident and several
    /// milliseconds of loading) is not loaded by any command or the daemon.
    @Test func ascribeDoesNotLoadFoundation() throws {
        let foundation = try Self.loadedLibraries().filter { $0.contains("Foundation") || $0.contains("ICU") }
        #expect(foundation.isEmpty, "\(foundation)")
    }

    /// The Swift runtime is linked into `ascribe` (`-static-stdlib`): loading and relocating
    /// libswiftCore and its companions was most of a short command's start-up.
    @Test func swiftRuntimeIsLinkedIn() throws {
        let swift = try Self.loadedLibraries().filter { $0.hasPrefix("libswift") || $0.hasPrefix("libdispatch") }
        #expect(swift.isEmpty, "\(swift)")
    }
}

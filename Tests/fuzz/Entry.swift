import Glibc

/// The fuzz target this process runs, named by ASCRIBE_FUZZ_TARGET (Tests/fuzz/run.sh sets it),
/// so one instrumented binary serves every target in FuzzTargets.
let fuzzTarget: @Sendable ([UInt8]) -> Void = {
    let name = getenv("ASCRIBE_FUZZ_TARGET").map { String(cString: $0) } ?? ""
    guard let target = FuzzTargets.all[name] else {
        fatalError("set ASCRIBE_FUZZ_TARGET to one of: \(FuzzTargets.all.keys.sorted().joined(separator: " "))")
    }
    return target
}()

/// libFuzzer's entry point. The input is copied into an array at once: the targets see bytes,
/// never the pointer.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzTarget(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

/// The launcher's output digest backed by libcrypto, so each run's event carries a real
/// SHA-256 of everything the job printed.
///
/// A class because `SHA256Hasher` is non-copyable; one run's capture owns it alone.
public final class SHA256OutputDigest: OutputDigest {
    private var hasher: SHA256Hasher?
    private var failed = false

    public init() {
        hasher = try? SHA256Hasher()
        failed = hasher == nil
    }

    public func update(_ bytes: ArraySlice<UInt8>) {
        guard !failed, var active = hasher.take() else { return }
        do {
            try active.update(bytes)
            hasher = consume active
        } catch {
            failed = true
        }
    }

    /// Lowercase hex, or `unavailable` when libcrypto failed mid-run (the event says so
    /// rather than carrying a digest of part of the output).
    public func finalize() -> String {
        guard !failed, let active = hasher.take(), let digest = try? active.finalize() else { return "unavailable" }
        return digest.hex
    }
}

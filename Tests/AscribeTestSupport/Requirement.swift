import Foundation
import Testing

/// Where the tests run. `.ci/run` sets `ASCRIBE_CI=1`: CI runs as root (with CAP_SYS_ADMIN) and
/// installs every tool the tests use, so there a requirement that is not met is a failure.
package enum TestEnvironment {
    package static let isContinuousIntegration = ProcessInfo.processInfo.environment["ASCRIBE_CI"] == "1"
}

/// A requirement CI must meet but a developer's machine may not.
package struct UnmetRequirement: Error, CustomStringConvertible {
    package var reason: Comment

    package var description: String {
        "CI must run this test (ASCRIBE_CI=1), but: \(reason)"
    }
}

extension Trait where Self == ConditionTrait {
    /// Skips the test (or suite) by name, with `reason`, where `isMet` is false, so the run's
    /// summary lists it as skipped rather than passed. In CI (`TestEnvironment`) it is never
    /// skipped: an unmet requirement fails the test with `reason`.
    package static func requires(_ isMet: @autoclosure @escaping @Sendable () -> Bool, _ reason: Comment,
                                 inContinuousIntegration: Bool = TestEnvironment.isContinuousIntegration,
                                 sourceLocation: SourceLocation = #_sourceLocation) -> Self {
        .enabled(reason, sourceLocation: sourceLocation) {
            if isMet() { return true }
            if inContinuousIntegration { throw UnmetRequirement(reason: reason) }
            return false
        }
    }
}

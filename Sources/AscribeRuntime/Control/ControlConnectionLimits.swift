/// How the control socket's connections are shared, so that one member holding many cannot lock
/// root out of `status` and `disable`: each user other than root and the daemon's own user may
/// hold `perUser` connections, and the last `reserved` of `total` are kept for those two.
public struct ControlConnectionLimits: Sendable, Equatable {
    /// Connections open at once, at most.
    public var total: Int
    /// How many of `total` only root and the daemon's user may use.
    public var reserved: Int
    /// Connections one other user (a control-group member) may hold at once.
    public var perUser: Int

    public init(total: Int = 256, reserved: Int = 32, perUser: Int = 16) {
        self.total = total
        self.reserved = reserved
        self.perUser = perUser
    }

    /// Why a connection was turned away (`busy`).
    public enum Refusal: Sendable, Equatable, CustomStringConvertible {
        /// The caller's user already holds `limit` connections.
        case perUser(limit: Int)
        /// Only the connections kept for root and the daemon's user are left.
        case reserved(reserved: Int, total: Int)
        /// Every connection is in use.
        case full(total: Int)

        public var description: String {
            switch self {
            case .perUser(let limit):
                "this user already holds \(limit) control connections, the most one user other than root and the daemon's user may; close some and try again"
            case .reserved(let reserved, let total):
                "the daemon's control connections are in use but for the last \(reserved) of \(total), which are kept for root and the daemon's user; try again"
            case .full(let total):
                "the daemon has all \(total) control connections open; try again"
            }
        }

        /// Which limit applied, for the recorded event.
        public var limitName: String {
            switch self {
            case .perUser(let limit): "\(limit) per user"
            case .reserved(let reserved, let total): "last \(reserved) of \(total) kept for root and the daemon's user"
            case .full(let total): "\(total) in all"
            }
        }
    }

    /// Whether one more connection may open. `privileged`: the caller is root or the daemon's
    /// user; `heldByCaller`: connections its user already holds; `open`: connections open in all.
    public func refusal(privileged: Bool, heldByCaller: Int, open: Int) -> Refusal? {
        if open >= total { return .full(total: total) }
        if privileged { return nil }
        if heldByCaller >= perUser { return .perUser(limit: perUser) }
        if open >= total - reserved { return .reserved(reserved: reserved, total: total) }
        return nil
    }
}

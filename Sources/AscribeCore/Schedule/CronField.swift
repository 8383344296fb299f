/// The five positions of a cron expression, named the way error messages and docs name them.
public enum CronField: Int, CaseIterable, Sendable, CustomStringConvertible {
    case minute, hour, dayOfMonth, month, dayOfWeek

    public var description: String {
        switch self {
        case .minute: "minute"
        case .hour: "hour"
        case .dayOfMonth: "day-of-month"
        case .month: "month"
        case .dayOfWeek: "day-of-week"
        }
    }

    /// Values cron accepts in this field (day-of-week accepts 7 as Sunday).
    var range: ClosedRange<Int> {
        switch self {
        case .minute: 0...59
        case .hour: 0...23
        case .dayOfMonth: 1...31
        case .month: 1...12
        case .dayOfWeek: 0...7
        }
    }

    var names: [String] {
        switch self {
        case .month: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
        case .dayOfWeek: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
        default: []
        }
    }

    /// First value a name stands for (`JAN` is 1, `SUN` is 0).
    var firstNamedValue: Int { self == .month ? 1 : 0 }

    var acceptedForm: String {
        switch self {
        case .minute: "0-59"
        case .hour: "0-23"
        case .dayOfMonth: "1-31, L or LW"
        case .month: "1-12 or JAN-DEC"
        case .dayOfWeek: "0-7 or SUN-SAT (0 and 7 are Sunday), 5L, FRI#2"
        }
    }
}

/// Why an expression was refused, pointing at the field and the token so the message can say
/// exactly what to fix.
public struct CronSyntaxError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The field at fault, or nil when the expression as a whole is wrong (field count, macro).
    public var field: CronField?
    /// The offending text.
    public var token: String
    /// 0-based character offset of `token` within the expression.
    public var offset: Int
    public var reason: String

    public var description: String {
        if let field { return "\(field) field: \(reason)" }
        return reason
    }
}

/// Why zone data could not be used; the message names the offending part so a log line says
/// which file or `TZ` value to fix.
public struct ZoneRulesError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

extension ZoneRules {
    /// Last year whose rule-based transitions are stored. Expanding up front keeps `offset(at:)`
    /// a binary search; after 2200 the offset in force at the end of 2200 holds.
    static let lastExpandedYear = 2200
    /// Earliest year a TZif footer is expanded from, so a file whose explicit data ends long
    /// ago stays small; no schedule reaches back that far.
    static let firstExpandedFooterYear = 1900

    /// Parses a TZif file (RFC 8536, versions 1 to 4). The 64-bit block is used when present;
    /// the footer TZ string then supplies the transitions after the last explicit one, so "slim"
    /// files (few explicit transitions) and "fat" files give the same answers. Footer rules are
    /// expanded through 2200; later instants keep the offset in force at the end of 2200.
    /// Leap-second records are checked for size and ignored: the system clock counts POSIX
    /// seconds, so the `right/` zones are not meaningful here.
    public init(identifier: String, tzif bytes: [UInt8]) throws(ZoneRulesError) {
        var reader = TZifReader(bytes: bytes)
        let first = try reader.header()
        let block: TZifBlock
        var footer: PosixTimeZone?
        if first.isVersion1 {
            block = try reader.block(first, timeSize: 4)
        } else {
            try reader.skip(first.blockLength(timeSize: 4), "version 1 data block")
            block = try reader.block(try reader.header(), timeSize: 8)
            footer = try reader.footer()
        }
        var transitions = zip(block.times, block.typeIndices).map { (at: $0, offset: block.offsets[$1]) }
        var initialOffset = block.offsets[0]
        if let footer {
            let lastExplicit = transitions.last?.at
            // Start a year early: the last explicit transition may fall late in a UTC year
            // whose local year has footer transitions still to come.
            let firstYear = max(lastExplicit.map { ZoneRules.yearContaining($0) - 1 } ?? Int.min,
                                ZoneRules.firstExpandedFooterYear)
            if firstYear <= ZoneRules.lastExpandedYear {
                let ruled = footer.transitions(years: firstYear...ZoneRules.lastExpandedYear)
                    .filter { $0.at.secondsSinceEpoch > lastExplicit ?? Int64.min }
                if lastExplicit == nil {
                    initialOffset = ruled.first?.offsetBefore ?? footer.standardOffset
                }
                transitions += ruled.map { (at: $0.at.secondsSinceEpoch, offset: $0.offsetAfter) }
            }
        }
        self.init(identifier: identifier, initialOffset: initialOffset, transitions: transitions)
    }

    /// The UTC year of `seconds`, clamped to a range where date arithmetic cannot overflow.
    static func yearContaining(_ seconds: Int64) -> Int {
        let limit: Int64 = 400 * 366 * 86_400 * 100
        let clamped = min(max(seconds, -limit), limit)
        return CivilDate(daysSinceEpoch: clamped / 86_400).year
    }
}

/// The counts from one TZif header; they size the data block that follows it.
struct TZifHeader {
    var isVersion1: Bool
    var isUTCount: Int
    var isStdCount: Int
    var leapCount: Int
    var timeCount: Int
    var typeCount: Int
    var charCount: Int

    /// Bytes in the data block, computed with overflow checks since counts are untrusted.
    func blockLength(timeSize: Int) throws(ZoneRulesError) -> Int {
        let parts = [(timeCount, timeSize + 1), (typeCount, 6), (charCount, 1),
                     (leapCount, timeSize + 4), (isStdCount, 1), (isUTCount, 1)]
        var total = 0
        for (count, size) in parts {
            let (product, productOverflow) = count.multipliedReportingOverflow(by: size)
            let (sum, sumOverflow) = total.addingReportingOverflow(product)
            guard !productOverflow, !sumOverflow else { throw ZoneRulesError("TZif: counts overflow") }
            total = sum
        }
        return total
    }
}

/// The parts of a TZif data block that describe offsets: transition times, the type each
/// switches to, and each type's UTC offset.
struct TZifBlock {
    var times: [Int64]
    var typeIndices: [Int]
    var offsets: [Int]
}

/// A bounds-checked big-endian cursor over untrusted TZif bytes.
struct TZifReader {
    let bytes: [UInt8]
    var position = 0

    /// RFC 8536 bounds for a local time type's offset (-24:59:59 through +25:59:59).
    static let offsetRange = -89_999...93_599

    mutating func take(_ count: Int, _ what: String) throws(ZoneRulesError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= bytes.count - position else {
            throw ZoneRulesError("TZif: truncated \(what) (needs \(count) bytes at offset \(position), file has \(bytes.count))")
        }
        defer { position += count }
        return bytes[position..<position + count]
    }

    mutating func skip(_ count: Int, _ what: String) throws(ZoneRulesError) {
        _ = try take(count, what)
    }

    mutating func unsigned(_ size: Int, _ what: String) throws(ZoneRulesError) -> UInt64 {
        try take(size, what).reduce(0) { $0 << 8 | UInt64($1) }
    }

    mutating func header() throws(ZoneRulesError) -> TZifHeader {
        guard try take(4, "header") == [0x54, 0x5A, 0x69, 0x66][...] else {
            throw ZoneRulesError("TZif: missing \"TZif\" magic at offset \(position - 4)")
        }
        let version = try take(1, "header")
        try skip(15, "header")
        var counts: [Int] = []
        for _ in 0..<6 {
            guard let count = Int(exactly: try unsigned(4, "header")) else {
                throw ZoneRulesError("TZif: header count does not fit this platform")
            }
            counts.append(count)
        }
        // Any non-zero version byte has the v2 layout: RFC 8536 keeps it for later versions.
        return TZifHeader(isVersion1: version.first == 0, isUTCount: counts[0], isStdCount: counts[1],
                          leapCount: counts[2], timeCount: counts[3], typeCount: counts[4], charCount: counts[5])
    }

    mutating func block(_ header: TZifHeader, timeSize: Int) throws(ZoneRulesError) -> TZifBlock {
        guard header.typeCount >= 1 else { throw ZoneRulesError("TZif: no local time types") }
        guard header.isStdCount == 0 || header.isStdCount == header.typeCount,
              header.isUTCount == 0 || header.isUTCount == header.typeCount else {
            throw ZoneRulesError("TZif: standard/UT indicator counts do not match the type count")
        }
        // Checking the whole block first means a huge count fails before any allocation.
        let length = try header.blockLength(timeSize: timeSize)
        guard length <= bytes.count - position else {
            throw ZoneRulesError("TZif: truncated data block (needs \(length) bytes at offset \(position), file has \(bytes.count))")
        }
        var times: [Int64] = []
        times.reserveCapacity(header.timeCount)
        for _ in 0..<header.timeCount {
            let raw = try unsigned(timeSize, "transition times")
            // Both widths are two's complement; a 32-bit value is sign-extended.
            let value = timeSize == 8 ? Int64(bitPattern: raw) : Int64(Int32(truncatingIfNeeded: raw))
            if let last = times.last, value <= last {
                throw ZoneRulesError("TZif: transition times are not strictly increasing")
            }
            times.append(value)
        }
        var typeIndices: [Int] = []
        typeIndices.reserveCapacity(header.timeCount)
        for byte in try take(header.timeCount, "transition types") {
            guard Int(byte) < header.typeCount else {
                throw ZoneRulesError("TZif: transition type \(byte) out of range (\(header.typeCount) types)")
            }
            typeIndices.append(Int(byte))
        }
        var offsets: [Int] = []
        for _ in 0..<header.typeCount {
            let offset = Int(Int32(truncatingIfNeeded: try unsigned(4, "local time types")))
            let isDST = try unsigned(1, "local time types")
            let designation = try unsigned(1, "local time types")
            guard TZifReader.offsetRange.contains(offset) else {
                throw ZoneRulesError("TZif: UTC offset \(offset) s is out of range")
            }
            guard isDST <= 1 else { throw ZoneRulesError("TZif: DST flag \(isDST) is not 0 or 1") }
            guard designation < header.charCount else {
                throw ZoneRulesError("TZif: abbreviation index \(designation) past \(header.charCount) characters")
            }
            offsets.append(offset)
        }
        try skip(header.charCount + header.leapCount * (timeSize + 4) + header.isStdCount + header.isUTCount,
                 "abbreviations and indicators")
        return TZifBlock(times: times, typeIndices: typeIndices, offsets: offsets)
    }

    /// The newline-framed TZ string after the v2+ data; an empty one means "no rule".
    mutating func footer() throws(ZoneRulesError) -> PosixTimeZone? {
        guard position < bytes.count, bytes[position] == 0x0A else {
            throw ZoneRulesError("TZif: missing footer newline at offset \(position)")
        }
        let start = position + 1
        guard let end = bytes[start...].firstIndex(of: 0x0A) else {
            throw ZoneRulesError("TZif: footer TZ string is not terminated by a newline")
        }
        position = end + 1
        if start == end { return nil }
        do {
            return try PosixTimeZone(bytes: bytes[start..<end])
        } catch {
            throw ZoneRulesError("TZif footer: \(error.message)")
        }
    }
}

/// How far a mistyped name is from a known one, for every "did you mean" Ascribe prints: job
/// file keys, zone names and command-line options measure typos the same way.
public enum EditDistance {
    /// Levenshtein distance over characters: insertions, deletions and substitutions.
    public static func between(_ lhs: String, _ rhs: String) -> Int {
        let a = Array(lhs)
        let b = Array(rhs)
        var previous = Array(0...b.count)
        var current = previous
        for (i, x) in a.enumerated() {
            current[0] = i + 1
            for (j, y) in b.enumerated() {
                current[j + 1] = min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}

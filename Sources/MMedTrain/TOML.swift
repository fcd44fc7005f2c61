// A TOML reader for what recipes need (TOML 1.0 minus dates, times and arrays of tables): tables and dotted table
// names, `key = value` with bare, quoted and dotted keys, basic and literal strings (single- and multi-line), integers
// (decimal, hex, octal, binary, with underscores), floats (incl. inf and nan), booleans, arrays (over several lines,
// trailing comma, comments between items) and inline tables. Errors are `FILE:LINE: message`.

/// A TOML value. Tables keep their keys in file order, with the line each was defined on.
public indirect enum TOMLValue: Sendable, Equatable {
    case string(String)
    case integer(Int64)
    case float(Double)
    case boolean(Bool)
    case array([TOMLValue])
    case table(TOMLTable)

    /// The TOML type's name, for error messages.
    public var typeName: String {
        switch self {
        case .string: "string"
        case .integer: "integer"
        case .float: "float"
        case .boolean: "boolean"
        case .array: "array"
        case .table: "table"
        }
    }
}

/// A TOML table: ordered entries, each with the line that defined it.
public struct TOMLTable: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var key: String
        public var value: TOMLValue
        public var line: Int
    }
    public var entries: [Entry] = []
    /// The line of the `[header]` (or of the key) that created the table; 0 for the root.
    public var line: Int = 0
    /// Defined by a `[header]` (a second header for it is an error) rather than implicitly by a dotted name.
    var explicitlyDefined = false
    /// An inline table: complete as written, nothing may add to it.
    var inline = false
    /// Created by dotted keys (`a.b = 1`): more dotted keys may add to it, a `[header]` may not define it.
    var dotted = false

    public init(line: Int = 0) { self.line = line }

    public subscript(key: String) -> TOMLValue? { entries.first { $0.key == key }?.value }
    public func line(of key: String) -> Int? { entries.first { $0.key == key }?.line }
    public var keys: [String] { entries.map(\.key) }

    public static func == (lhs: TOMLTable, rhs: TOMLTable) -> Bool { lhs.entries == rhs.entries }

    fileprivate func index(of key: String) -> Int? { entries.firstIndex { $0.key == key } }
}

/// A TOML syntax error, or a recipe error found on a known line.
public struct TOMLError: Error, CustomStringConvertible, Sendable, Equatable {
    public var file: String
    public var line: Int
    public var message: String
    public init(file: String, line: Int, _ message: String) {
        self.file = file
        self.line = line
        self.message = message
    }
    public var description: String { "\(file):\(line): \(message)" }
}

public enum TOML {
    /// Parses a whole document; `file` names it in errors.
    public static func parse(_ text: String, file: String) throws(TOMLError) -> TOMLTable {
        var parser = TOMLParser(bytes: Array(text.utf8), file: file)
        return try parser.document()
    }
}

private struct TOMLParser {
    let bytes: [UInt8]
    let file: String
    var position = 0
    var line = 1
    var root = TOMLTable()
    /// The path of the table that `key = value` lines go into.
    var current: [String] = []

    init(bytes: [UInt8], file: String) {
        // A UTF-8 byte-order mark is allowed at the start.
        self.bytes = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(bytes.dropFirst(3)) : bytes
        self.file = file
    }

    func error(_ message: String, line: Int? = nil) -> TOMLError { TOMLError(file: file, line: line ?? self.line, message) }

    var atEnd: Bool { position >= bytes.count }
    var peek: UInt8? { position < bytes.count ? bytes[position] : nil }
    func peek(_ offset: Int) -> UInt8? { position + offset < bytes.count ? bytes[position + offset] : nil }

    mutating func document() throws(TOMLError) -> TOMLTable {
        while true {
            skipBlanks()
            guard let byte = peek else { break }
            switch byte {
            case UInt8(ascii: "#"): try skipComment()
            case 0x0A: position += 1; line += 1
            case 0x0D:
                guard peek(1) == 0x0A else { throw error("a carriage return must be followed by a newline") }
                position += 2; line += 1
            case UInt8(ascii: "["):
                try tableHeader()
                try endOfLine()
            default:
                try keyValue(in: current)
                try endOfLine()
            }
        }
        return root
    }

    /// Spaces and tabs.
    mutating func skipBlanks() {
        while let byte = peek, byte == 0x20 || byte == 0x09 { position += 1 }
    }

    mutating func skipComment() throws(TOMLError) {
        while let byte = peek, byte != 0x0A {
            if byte == 0x0D && peek(1) == 0x0A { break }
            if byte < 0x20 && byte != 0x09 || byte == 0x7F { throw error("control character U+\(hex(byte)) in a comment") }
            position += 1
        }
    }

    /// After a header or a key/value pair: blanks, an optional comment, then a newline or the end.
    mutating func endOfLine() throws(TOMLError) {
        skipBlanks()
        if peek == UInt8(ascii: "#") { try skipComment() }
        guard let byte = peek else { return }
        if byte == 0x0A { position += 1; line += 1; return }
        if byte == 0x0D && peek(1) == 0x0A { position += 2; line += 1; return }
        throw error("unexpected \(describe(byte)) after the value; one key = value per line")
    }

    mutating func tableHeader() throws(TOMLError) {
        let headerLine = line
        position += 1  // [
        if peek == UInt8(ascii: "[") { throw error("arrays of tables ([[name]]) are not supported in recipes") }
        skipBlanks()
        let path = try key()
        skipBlanks()
        guard peek == UInt8(ascii: "]") else { throw error("expected ']' to close the table header") }
        position += 1
        var table = root
        try defineTable(path, line: headerLine, in: &table)
        root = table
        current = path
    }

    /// `[a.b.c]`: creates the intermediate tables implicitly and the last one explicitly.
    func defineTable(_ path: [String], line headerLine: Int, in root: inout TOMLTable) throws(TOMLError) {
        let name = path.joined(separator: ".")
        func walk(_ table: inout TOMLTable, _ depth: Int) throws(TOMLError) {
            let key = path[depth]
            let last = depth == path.count - 1
            if let index = table.index(of: key) {
                guard case .table(var child) = table.entries[index].value else {
                    throw error("'\(path[0...depth].joined(separator: "."))' is already a \(table.entries[index].value.typeName) (line \(table.entries[index].line)), not a table")
                }
                if child.inline { throw error("table '\(path[0...depth].joined(separator: "."))' is an inline table (line \(child.line)) and cannot be extended") }
                if last {
                    if child.explicitlyDefined { throw error("table [\(name)] is defined twice (first on line \(child.line))") }
                    if child.dotted { throw error("table [\(name)] was already defined by dotted keys on line \(child.line)") }
                    child.explicitlyDefined = true
                    child.line = headerLine
                } else {
                    try walk(&child, depth + 1)
                }
                table.entries[index].value = .table(child)
            } else {
                var child = TOMLTable(line: headerLine)
                child.explicitlyDefined = last
                if !last { try walk(&child, depth + 1) }
                table.entries.append(.init(key: key, value: .table(child), line: headerLine))
            }
        }
        try walk(&root, 0)
    }

    /// `key = value` into the table at `tablePath` (below the root).
    mutating func keyValue(in tablePath: [String]) throws(TOMLError) {
        let valueLine = line
        let path = try key()
        skipBlanks()
        guard peek == UInt8(ascii: "=") else {
            if atEnd || peek == 0x0A || peek == 0x0D { throw error("expected '=' after the key '\(path.joined(separator: "."))'") }
            throw error("expected '=' after the key '\(path.joined(separator: "."))', found \(describe(peek!))")
        }
        position += 1
        skipBlanks()
        let value = try self.value(depth: 0)
        var table = root
        try insert(value, at: tablePath + path, dottedFrom: tablePath.count, line: valueLine, into: &table)
        root = table
    }

    /// Inserts `value` at `path`; the components from `dottedFrom` to the last but one are dotted-key tables.
    func insert(_ value: TOMLValue, at path: [String], dottedFrom: Int, line valueLine: Int, into root: inout TOMLTable) throws(TOMLError) {
        func walk(_ table: inout TOMLTable, _ depth: Int) throws(TOMLError) {
            let key = path[depth]
            let name = path[0...depth].joined(separator: ".")
            if depth == path.count - 1 {
                if let existing = table.entries.first(where: { $0.key == key }) {
                    throw error("duplicate key '\(name)' (first defined on line \(existing.line))", line: valueLine)
                }
                table.entries.append(.init(key: key, value: value, line: valueLine))
                return
            }
            let dotted = depth >= dottedFrom
            if let index = table.index(of: key) {
                guard case .table(var child) = table.entries[index].value else {
                    throw error("'\(name)' is already a \(table.entries[index].value.typeName) (line \(table.entries[index].line)), not a table", line: valueLine)
                }
                if child.inline || (dotted && !child.dotted) {
                    throw error("table '\(name)' was defined on line \(child.line) and cannot be extended by a dotted key", line: valueLine)
                }
                try walk(&child, depth + 1)
                table.entries[index].value = .table(child)
            } else {
                var child = TOMLTable(line: valueLine)
                child.dotted = dotted
                try walk(&child, depth + 1)
                table.entries.append(.init(key: key, value: .table(child), line: valueLine))
            }
        }
        try walk(&root, 0)
    }

    /// A key: bare or quoted parts joined by dots.
    mutating func key() throws(TOMLError) -> [String] {
        var parts: [String] = []
        while true {
            skipBlanks()
            guard let byte = peek else { throw error("expected a key") }
            if byte == UInt8(ascii: "\"") {
                if peek(1) == UInt8(ascii: "\"") && peek(2) == UInt8(ascii: "\"") { throw error("a key cannot be a multi-line string") }
                parts.append(try basicString())
            } else if byte == UInt8(ascii: "'") {
                if peek(1) == UInt8(ascii: "'") && peek(2) == UInt8(ascii: "'") { throw error("a key cannot be a multi-line string") }
                parts.append(try literalString())
            } else {
                let start = position
                while let byte = peek, isBareKeyByte(byte) { position += 1 }
                guard position > start else { throw error("expected a key, found \(describe(byte))") }
                parts.append(String(decoding: bytes[start..<position], as: UTF8.self))
            }
            skipBlanks()
            guard peek == UInt8(ascii: ".") else { return parts }
            position += 1
        }
    }

    func isBareKeyByte(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
            || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
    }

    mutating func value(depth: Int) throws(TOMLError) -> TOMLValue {
        guard depth < 64 else { throw error("values nested too deeply") }
        guard let byte = peek, byte != 0x0A, byte != 0x0D, byte != UInt8(ascii: "#") else { throw error("expected a value") }
        switch byte {
        case UInt8(ascii: "\""):
            if peek(1) == UInt8(ascii: "\"") && peek(2) == UInt8(ascii: "\"") { return .string(try multiLineBasicString()) }
            return .string(try basicString())
        case UInt8(ascii: "'"):
            if peek(1) == UInt8(ascii: "'") && peek(2) == UInt8(ascii: "'") { return .string(try multiLineLiteralString()) }
            return .string(try literalString())
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "{"): return try inlineTable(depth: depth)
        default: return try scalar()
        }
    }

    mutating func array(depth: Int) throws(TOMLError) -> TOMLValue {
        let startLine = line
        position += 1
        var items: [TOMLValue] = []
        while true {
            try skipWhitespaceNewlinesAndComments()
            guard let byte = peek else { throw error("unterminated array (opened on line \(startLine))") }
            if byte == UInt8(ascii: "]") { position += 1; return .array(items) }
            items.append(try value(depth: depth + 1))
            try skipWhitespaceNewlinesAndComments()
            guard let next = peek else { throw error("unterminated array (opened on line \(startLine))") }
            if next == UInt8(ascii: ",") { position += 1; continue }
            if next == UInt8(ascii: "]") { position += 1; return .array(items) }
            throw error("expected ',' or ']' in the array, found \(describe(next))")
        }
    }

    mutating func skipWhitespaceNewlinesAndComments() throws(TOMLError) {
        while let byte = peek {
            if byte == 0x20 || byte == 0x09 { position += 1 }
            else if byte == 0x0A { position += 1; line += 1 }
            else if byte == 0x0D && peek(1) == 0x0A { position += 2; line += 1 }
            else if byte == UInt8(ascii: "#") { try skipComment() }
            else { return }
        }
    }

    mutating func inlineTable(depth: Int) throws(TOMLError) -> TOMLValue {
        position += 1
        var table = TOMLTable(line: line)
        skipBlanks()
        if peek == UInt8(ascii: "}") { position += 1; table.inline = true; return .table(table) }
        while true {
            skipBlanks()
            let entryLine = line
            let path = try key()
            skipBlanks()
            guard peek == UInt8(ascii: "=") else { throw error("expected '=' after the key '\(path.joined(separator: "."))' in the inline table") }
            position += 1
            skipBlanks()
            let value = try self.value(depth: depth + 1)
            try insert(value, at: path, dottedFrom: 0, line: entryLine, into: &table)
            skipBlanks()
            guard let byte = peek else { throw error("unterminated inline table") }
            if byte == UInt8(ascii: ",") {
                position += 1
                skipBlanks()
                if peek == UInt8(ascii: "}") { throw error("trailing comma in an inline table") }
                if peek == 0x0A || peek == 0x0D { throw error("an inline table must be on one line") }
                continue
            }
            if byte == UInt8(ascii: "}") { position += 1; break }
            if byte == 0x0A || byte == 0x0D { throw error("an inline table must be on one line") }
            throw error("expected ',' or '}' in the inline table, found \(describe(byte))")
        }
        table.inline = true
        return .table(table)
    }

    // MARK: strings

    mutating func basicString() throws(TOMLError) -> String {
        position += 1
        var scalars: [UInt8] = []
        while true {
            guard let byte = peek else { throw error("unterminated string") }
            if byte == UInt8(ascii: "\"") { position += 1; break }
            if byte == 0x0A || byte == 0x0D { throw error("unterminated string (a newline in a single-line string)") }
            if byte == UInt8(ascii: "\\") {
                try escape(into: &scalars)
                continue
            }
            if (byte < 0x20 && byte != 0x09) || byte == 0x7F { throw error("control character U+\(hex(byte)) in a string; escape it") }
            scalars.append(byte)
            position += 1
        }
        return try utf8String(scalars)
    }

    mutating func multiLineBasicString() throws(TOMLError) -> String {
        let startLine = line
        position += 3
        // A newline right after the opening delimiter is trimmed.
        if peek == 0x0A { position += 1; line += 1 } else if peek == 0x0D && peek(1) == 0x0A { position += 2; line += 1 }
        var scalars: [UInt8] = []
        while true {
            guard let byte = peek else { throw error("unterminated multi-line string (opened on line \(startLine))") }
            if byte == UInt8(ascii: "\"") && peek(1) == UInt8(ascii: "\"") && peek(2) == UInt8(ascii: "\"") {
                position += 3
                // Up to two more quotes belong to the string.
                var extra = 0
                while peek == UInt8(ascii: "\"") && extra < 2 { scalars.append(0x22); position += 1; extra += 1 }
                break
            }
            if byte == UInt8(ascii: "\\") {
                // A line-ending backslash trims the newline and the whitespace that follows.
                var look = position + 1
                while look < bytes.count, bytes[look] == 0x20 || bytes[look] == 0x09 { look += 1 }
                if look < bytes.count, bytes[look] == 0x0A || (bytes[look] == 0x0D && look + 1 < bytes.count && bytes[look + 1] == 0x0A) {
                    position = look
                    while let next = peek, next == 0x20 || next == 0x09 || next == 0x0A || next == 0x0D {
                        if next == 0x0A { line += 1 }
                        position += 1
                    }
                    continue
                }
                try escape(into: &scalars)
                continue
            }
            if byte == 0x0A { line += 1 } else if (byte < 0x20 && byte != 0x09 && byte != 0x0D) || byte == 0x7F {
                throw error("control character U+\(hex(byte)) in a string; escape it")
            }
            scalars.append(byte)
            position += 1
        }
        return try utf8String(scalars)
    }

    mutating func literalString() throws(TOMLError) -> String {
        position += 1
        let start = position
        while true {
            guard let byte = peek else { throw error("unterminated string") }
            if byte == UInt8(ascii: "'") { break }
            if byte == 0x0A || byte == 0x0D { throw error("unterminated string (a newline in a single-line string)") }
            if (byte < 0x20 && byte != 0x09) || byte == 0x7F { throw error("control character U+\(hex(byte)) in a string") }
            position += 1
        }
        let text = try utf8String(Array(bytes[start..<position]))
        position += 1
        return text
    }

    mutating func multiLineLiteralString() throws(TOMLError) -> String {
        let startLine = line
        position += 3
        if peek == 0x0A { position += 1; line += 1 } else if peek == 0x0D && peek(1) == 0x0A { position += 2; line += 1 }
        var content: [UInt8] = []
        while true {
            guard let byte = peek else { throw error("unterminated multi-line string (opened on line \(startLine))") }
            if byte == UInt8(ascii: "'") && peek(1) == UInt8(ascii: "'") && peek(2) == UInt8(ascii: "'") {
                position += 3
                var extra = 0
                while peek == UInt8(ascii: "'") && extra < 2 { content.append(0x27); position += 1; extra += 1 }
                break
            }
            if byte == 0x0A { line += 1 }
            content.append(byte)
            position += 1
        }
        return try utf8String(content)
    }

    mutating func escape(into scalars: inout [UInt8]) throws(TOMLError) {
        position += 1
        guard let code = peek else { throw error("unterminated string") }
        position += 1
        switch code {
        case UInt8(ascii: "b"): scalars.append(0x08)
        case UInt8(ascii: "t"): scalars.append(0x09)
        case UInt8(ascii: "n"): scalars.append(0x0A)
        case UInt8(ascii: "f"): scalars.append(0x0C)
        case UInt8(ascii: "r"): scalars.append(0x0D)
        case UInt8(ascii: "e"): scalars.append(0x1B)
        case UInt8(ascii: "\""): scalars.append(0x22)
        case UInt8(ascii: "\\"): scalars.append(0x5C)
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            let count = code == UInt8(ascii: "u") ? 4 : 8
            guard position + count <= bytes.count else { throw error("truncated \\\(Character(Unicode.Scalar(code))) escape") }
            var value: UInt32 = 0
            for _ in 0..<count {
                guard let digit = hexDigit(bytes[position]) else { throw error("bad hex digit in a \\\(Character(Unicode.Scalar(code))) escape") }
                value = value << 4 | digit
                position += 1
            }
            guard let scalar = Unicode.Scalar(value) else { throw error("escape \\\(Character(Unicode.Scalar(code)))\(String(value, radix: 16)) is not a Unicode scalar value") }
            scalars.append(contentsOf: Array(String(scalar).utf8))
        default:
            throw error("invalid escape \\\(describeRaw(code)) in a string")
        }
    }

    func utf8String(_ bytes: [UInt8]) throws(TOMLError) -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw error("invalid UTF-8 in a string") }
        return text
    }

    // MARK: numbers, booleans

    mutating func scalar() throws(TOMLError) -> TOMLValue {
        let start = position
        while let byte = peek, !(byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D || byte == UInt8(ascii: ",")
            || byte == UInt8(ascii: "]") || byte == UInt8(ascii: "}") || byte == UInt8(ascii: "#")) {
            position += 1
        }
        let token = String(decoding: bytes[start..<position], as: UTF8.self)
        if token == "true" { return .boolean(true) }
        if token == "false" { return .boolean(false) }
        if token.isEmpty { throw error("expected a value") }
        if let value = parseInteger(token) { return .integer(value) }
        if let value = parseFloat(token) { return .float(value) }
        if token.count >= 10, token.contains("-") || token.contains(":"), token.first?.isNumber == true {
            throw error("dates and times are not supported in recipes ('\(token)')")
        }
        if isIntegerShaped(token) { throw error("invalid integer '\(token)' (out of the 64-bit range, a leading zero, or a misplaced '_')") }
        throw error("invalid value '\(token)'; strings need quotes")
    }

    func isIntegerShaped(_ token: String) -> Bool {
        var body = Substring(token)
        if body.first == "+" || body.first == "-" { body = body.dropFirst() }
        return !body.isEmpty && body.allSatisfy { $0.isNumber || $0 == "_" }
    }

    /// Underscores must sit between two digits.
    func withoutUnderscores(_ text: Substring, digit: (Character) -> Bool) -> String? {
        var result = ""
        var previous: Character?
        let characters = Array(text)
        for (index, character) in characters.enumerated() {
            if character == "_" {
                guard let before = previous, digit(before), index + 1 < characters.count, digit(characters[index + 1]) else { return nil }
            } else {
                result.append(character)
            }
            previous = character
        }
        return result
    }

    func parseInteger(_ token: String) -> Int64? {
        var body = Substring(token)
        var negative = false
        if body.first == "+" || body.first == "-" { negative = body.first == "-"; body = body.dropFirst() }
        let radixes: [(String, Int)] = [("0x", 16), ("0o", 8), ("0b", 2)]
        for (prefix, radix) in radixes where body.hasPrefix(prefix) {
            guard token.first != "+" && token.first != "-" else { return nil }  // no sign on prefixed integers
            guard let digits = withoutUnderscores(body.dropFirst(2), digit: { $0.isHexDigit }), !digits.isEmpty else { return nil }
            return Int64(digits, radix: radix)
        }
        guard let digits = withoutUnderscores(body, digit: { $0.isNumber }), !digits.isEmpty,
              digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        if digits.count > 1 && digits.first == "0" { return nil }  // leading zeros are not allowed
        guard let magnitude = UInt64(digits) else { return nil }
        if negative { return magnitude <= UInt64(Int64.max) + 1 ? Int64(truncatingIfNeeded: 0 &- magnitude) : nil }
        return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
    }

    func parseFloat(_ token: String) -> Double? {
        var body = Substring(token)
        var sign = 1.0
        if body.first == "+" || body.first == "-" { sign = body.first == "-" ? -1 : 1; body = body.dropFirst() }
        if body == "inf" { return sign * .infinity }
        if body == "nan" { return .nan }
        guard let text = withoutUnderscores(body, digit: { $0.isNumber }) else { return nil }
        // digits [. digits] [e [+-] digits], with an integer part and at least a fraction or an exponent.
        let characters = Array(text)
        var index = 0
        func digits() -> Int {
            let start = index
            while index < characters.count, characters[index].isASCII, characters[index].isNumber { index += 1 }
            return index - start
        }
        let integerStart = index
        let integerDigits = digits()
        guard integerDigits > 0 else { return nil }
        if integerDigits > 1 && characters[integerStart] == "0" { return nil }
        var hasFraction = false, hasExponent = false
        if index < characters.count, characters[index] == "." {
            index += 1
            guard digits() > 0 else { return nil }
            hasFraction = true
        }
        if index < characters.count, characters[index] == "e" || characters[index] == "E" {
            index += 1
            if index < characters.count, characters[index] == "+" || characters[index] == "-" { index += 1 }
            guard digits() > 0 else { return nil }
            hasExponent = true
        }
        guard index == characters.count, hasFraction || hasExponent, let value = Double(text) else { return nil }
        return sign * value
    }

    func hexDigit(_ byte: UInt8) -> UInt32? {
        switch byte {
        case 0x30...0x39: UInt32(byte - 0x30)
        case 0x41...0x46: UInt32(byte - 0x41 + 10)
        case 0x61...0x66: UInt32(byte - 0x61 + 10)
        default: nil
        }
    }

    func hex(_ byte: UInt8) -> String {
        let text = String(byte, radix: 16, uppercase: true)
        return String(repeating: "0", count: 4 - text.count) + text
    }

    func describeRaw(_ byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F ? String(Character(Unicode.Scalar(byte))) : "U+\(hex(byte))"
    }

    func describe(_ byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : "U+\(hex(byte))"
    }
}

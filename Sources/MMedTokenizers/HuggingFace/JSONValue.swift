import Foundation

/// A parsed JSON value. Strings keep their exact scalars and objects their member order and duplicates (a
/// vocabulary is read as pairs, never through a `[String: …]`, whose keys compare canonically: "é" and "e\u{301}"
/// are distinct tokens). Foundation's JSONSerialization is not used: it drops U+FEFF from strings and takes a second
/// to read Llama 3's 9 MB file.
indirect enum JSONValue: Sendable {
    case object([(key: String, value: JSONValue)])
    case array([JSONValue])
    case string(String)
    case number(Double)
    case bool(Bool)
    case null

    var string: String? { if case .string(let value) = self { return value }; return nil }
    var int: Int? { if case .number(let value) = self, value == value.rounded(), abs(value) < 1e15 { return Int(value) }; return nil }
    var bool: Bool? { if case .bool(let value) = self { return value }; return nil }
    var array: [JSONValue]? { if case .array(let value) = self { return value }; return nil }
    var isNull: Bool { if case .null = self { return true }; return false }

    /// Parses a whole document; errors name the byte offset.
    static func parse(_ bytes: [UInt8]) throws(JSONParseError) -> JSONValue {
        try bytes.withUnsafeBufferPointer { (buffer) throws(JSONParseError) -> JSONValue in
            var parser = JSONParser(bytes: buffer)
            parser.skipWhitespace()
            let value = try parser.value(depth: 0)
            parser.skipWhitespace()
            guard parser.position == buffer.count else { throw JSONParseError(offset: parser.position, message: "trailing characters") }
            return value
        }
    }
}

struct JSONParseError: Error {
    var offset: Int
    var message: String
}

private struct JSONParser {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0
    var scratch: [UInt8] = []

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    func error(_ message: String) -> JSONParseError { JSONParseError(offset: position, message: message) }

    mutating func skipWhitespace() {
        while position < bytes.count {
            let byte = bytes[position]
            guard byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 else { return }
            position += 1
        }
    }

    mutating func value(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth < 512 else { throw error("nested too deeply") }
        guard position < bytes.count else { throw error("unexpected end of the document") }
        switch bytes[position] {
        case UInt8(ascii: "{"):
            position += 1
            var members: [(key: String, value: JSONValue)] = []
            skipWhitespace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "}") { position += 1; return .object(members) }
            while true {
                skipWhitespace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw error("expected a string key") }
                let key = try string()
                skipWhitespace()
                guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw error("expected ':'") }
                position += 1
                skipWhitespace()
                members.append((key, try value(depth: depth + 1)))
                skipWhitespace()
                guard position < bytes.count else { throw error("unexpected end in an object") }
                if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
                if bytes[position] == UInt8(ascii: "}") { position += 1; return .object(members) }
                throw error("expected ',' or '}'")
            }
        case UInt8(ascii: "["):
            position += 1
            var items: [JSONValue] = []
            skipWhitespace()
            if position < bytes.count, bytes[position] == UInt8(ascii: "]") { position += 1; return .array(items) }
            while true {
                skipWhitespace()
                items.append(try value(depth: depth + 1))
                skipWhitespace()
                guard position < bytes.count else { throw error("unexpected end in an array") }
                if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
                if bytes[position] == UInt8(ascii: "]") { position += 1; return .array(items) }
                throw error("expected ',' or ']'")
            }
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default: return .number(try number())
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONParseError) {
        let count = word.utf8CodeUnitCount
        guard position + count <= bytes.count else { throw error("unexpected end of the document") }
        for index in 0..<count where bytes[position + index] != word.utf8Start[index] { throw error("unknown literal") }
        position += count
    }

    mutating func number() throws(JSONParseError) -> Double {
        let start = position
        while position < bytes.count {
            let byte = bytes[position]
            guard (byte >= 0x30 && byte <= 0x39) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".")
                || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") else { break }
            position += 1
        }
        guard position > start, let value = Double(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)) else {
            throw JSONParseError(offset: start, message: "expected a value")
        }
        return value
    }

    mutating func hexQuad() throws(JSONParseError) -> UInt32 {
        guard position + 4 <= bytes.count else { throw error("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt32
            switch byte {
            case 0x30...0x39: digit = UInt32(byte - 0x30)
            case 0x41...0x46: digit = UInt32(byte - 0x41 + 10)
            case 0x61...0x66: digit = UInt32(byte - 0x61 + 10)
            default: throw error("bad \\u escape")
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    mutating func string() throws(JSONParseError) -> String {
        position += 1  // the opening quote
        let start = position
        // Fast path: no escapes.
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
                position += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            position += 1
        }
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<position]))
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                position += 1
                return String(decoding: scratch, as: UTF8.self)
            }
            guard byte == UInt8(ascii: "\\") else { scratch.append(byte); position += 1; continue }
            position += 1
            guard position < bytes.count else { break }
            let escape = bytes[position]
            position += 1
            switch escape {
            case UInt8(ascii: "\""): scratch.append(0x22)
            case UInt8(ascii: "\\"): scratch.append(0x5C)
            case UInt8(ascii: "/"): scratch.append(0x2F)
            case UInt8(ascii: "b"): scratch.append(0x08)
            case UInt8(ascii: "f"): scratch.append(0x0C)
            case UInt8(ascii: "n"): scratch.append(0x0A)
            case UInt8(ascii: "r"): scratch.append(0x0D)
            case UInt8(ascii: "t"): scratch.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hexQuad()
                if scalar >= 0xD800 && scalar < 0xDC00, position + 6 <= bytes.count, bytes[position] == UInt8(ascii: "\\"),
                   bytes[position + 1] == UInt8(ascii: "u") {
                    let save = position
                    position += 2
                    let low = try hexQuad()
                    if low >= 0xDC00 && low < 0xE000 { scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00) } else { position = save }
                }
                // A lone surrogate cannot be a Swift string: it becomes U+FFFD, as Rust's serde_json would refuse it.
                let value = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                scratch.append(contentsOf: String(value).utf8)
            default: throw error("bad escape")
            }
        }
        throw error("unterminated string")
    }
}

/// Typed access to a JSON object, with errors that name the JSON path.
struct JSONObject {
    let members: [(key: String, value: JSONValue)]
    let path: String
    let file: String

    init(_ value: JSONValue?, path: String, file: String) throws {
        guard case .object(let members)? = value else {
            throw TokenizerError(.malformed, file: file, "\(path): expected a JSON object")
        }
        self.members = members; self.path = path; self.file = file
    }

    /// The member's value (the last one, as for duplicate keys in Python and serde).
    subscript(key: String) -> JSONValue? { members.last(where: { $0.key == key })?.value }

    func has(_ key: String) -> Bool { if let value = self[key], !value.isNull { return true }; return false }

    func string(_ key: String) throws -> String {
        guard let value = self[key]?.string else { throw error("\(key): expected a string") }
        return value
    }
    func optionalString(_ key: String) -> String? { self[key]?.string }

    func bool(_ key: String, default fallback: Bool) -> Bool { self[key]?.bool ?? fallback }

    func int(_ key: String) throws -> Int {
        guard let value = self[key]?.int else { throw error("\(key): expected an integer") }
        return value
    }
    func optionalInt(_ key: String) -> Int? { self[key]?.int }

    func object(_ key: String) throws -> JSONObject { try JSONObject(self[key], path: "\(path).\(key)", file: file) }
    func optionalObject(_ key: String) throws -> JSONObject? {
        guard has(key) else { return nil }
        return try object(key)
    }

    func array(_ key: String) throws -> [JSONValue] {
        guard let value = self[key]?.array else { throw error("\(key): expected an array") }
        return value
    }

    func objects(_ key: String) throws -> [JSONObject] {
        try array(key).enumerated().map { try JSONObject($1, path: "\(path).\(key)[\($0)]", file: file) }
    }

    /// An object of token → id, in file order.
    func tokenIDs(_ key: String) throws -> [(token: String, id: Int)] {
        guard case .object(let members)? = self[key] else { throw error("\(key): expected an object of token ids") }
        return try members.map { member in
            guard let id = member.value.int else { throw error("\(key).\(member.key.debugDescription): expected an integer id") }
            return (member.key, id)
        }
    }

    func error(_ message: String) -> TokenizerError { TokenizerError(.malformed, file: file, "\(path).\(message)") }
    func unsupported(_ what: String) -> TokenizerError { TokenizerError(.unsupported, file: file, "\(path): \(what) is not supported") }

    /// A `{"String": s}` or `{"Regex": r}` pattern.
    func pattern(_ key: String) throws -> TextPattern {
        let object = try self.object(key)
        if let literal = object.optionalString("String") { return .literal(literal) }
        if let regex = object.optionalString("Regex") {
            if let scanner = SplitPattern.recognize(regex) { return .scanner(scanner, source: regex) }
            do {
                return .regex(try NSRegularExpression(pattern: OnigurumaPattern.icuPattern(regex), options: OnigurumaPattern.options), source: regex)
            } catch {
                throw TokenizerError(.unsupported, file: file, "\(path).\(key): the regex \(regex.debugDescription) does not compile here: \(error)")
            }
        }
        throw object.error("expected {\"String\": …} or {\"Regex\": …}")
    }
}

/// A literal or a regular expression, as tokenizer.json writes patterns. Patterns we have a scanner for use it.
enum TextPattern: @unchecked Sendable {
    // @unchecked: NSRegularExpression is immutable once made and documented thread-safe for matching.
    case literal(String)
    case scanner(SplitPattern, source: String)
    case regex(NSRegularExpression, source: String)

    /// The byte ranges of the matches in UTF-8 `text`, in order, non-overlapping.
    func matches(in text: [UInt8]) -> [Range<Int>] {
        switch self {
        case .literal(let literal):
            let needle = Array(literal.utf8)
            if needle.isEmpty {
                // HF compiles the escaped literal as a regex: the empty one matches at every character boundary.
                guard !text.isEmpty else { return [] }
                var ranges: [Range<Int>] = [0..<0]
                var index = 0
                while index < text.count { index = min(text.count, index + utf8Length(text[index])); ranges.append(index..<index) }
                return ranges
            }
            guard needle.count <= text.count else { return [] }
            var ranges: [Range<Int>] = []
            var index = 0
            while index + needle.count <= text.count {
                if text[index] == needle[0], text[index..<(index + needle.count)].elementsEqual(needle) {
                    ranges.append(index..<(index + needle.count))
                    index += needle.count
                } else {
                    index += 1
                }
            }
            return ranges
        case .scanner(let scanner, _):
            var ranges: [Range<Int>] = []
            text.withUnsafeBufferPointer { bytes in scanner.forEachPiece(bytes) { ranges.append($0..<$1) } }
            return ranges
        case .regex(let regex, _):
            let string = String(decoding: text, as: UTF8.self)
            let utf16 = Array(string.utf16)
            // Map UTF-16 offsets back to UTF-8 offsets.
            var utf8Offsets = [Int](repeating: 0, count: utf16.count + 1)
            var utf8 = 0, index = 0
            for scalar in string.unicodeScalars {
                let units = scalar.utf16.count
                for unit in 0..<units { utf8Offsets[index + unit] = utf8 }
                index += units
                utf8 += scalar.utf8.count
            }
            utf8Offsets[utf16.count] = utf8
            // HF finds nothing in an empty text. It keeps empty matches, except one where the previous match ended
            // (Oniguruma's `find_iter`; ICU reports that one).
            guard !text.isEmpty else { return [] }
            var ranges: [Range<Int>] = []
            var previousEnd = -1
            for match in regex.matches(in: string, range: NSRange(location: 0, length: utf16.count)) {
                let range = match.range
                if range.length == 0, range.location == previousEnd { continue }
                ranges.append(utf8Offsets[range.location]..<utf8Offsets[range.location + range.length])
                previousEnd = range.location + range.length
            }
            return ranges
        }
    }
}

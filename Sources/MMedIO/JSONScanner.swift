import MMedText
/// Validates one JSON object (one JSONL record) and finds the values of a few top-level keys, without
/// building a tree. Strings are validated (escapes, control characters, UTF-8) except for values marked
/// `deferValidation`, whose UTF-8 the caller checks later while it reads them anyway.
/// Accepts what Python's `json.loads` accepts, including `NaN`, `Infinity` and `-Infinity`.
public struct JSONObjectScanner {
    public enum ValueKind: Sendable, Equatable {
        case string, number, bool, null, object, array
    }

    public struct Value {
        public var kind: ValueKind
        /// The raw bytes of the value in the line (for strings: between the quotes, escapes undecoded).
        public var range: Range<Int>
        /// Whether a string value contains backslash escapes.
        public var hasEscapes: Bool
    }

    public struct ScanError: Error, Sendable, CustomStringConvertible {
        public var offset: Int
        public var message: String
        public var description: String { "\(message) at column \(offset + 1)" }
    }

    private let keys: [[UInt8]]
    private let deferred: [Bool]
    /// The decoded value of the (last) deferred string field, filled only when it has escapes.
    public let decoded = ByteBuffer(capacity: 1 << 16)
    /// Why the deferred field's escapes could not be decoded (an unpaired surrogate), if so.
    public private(set) var decodeError: String?
    /// The value found for each requested key (last occurrence wins, as in Python).
    public private(set) var values: [Value?]

    public init(keys: [String], deferValidation: Set<String> = []) {
        self.keys = keys.map { Array($0.utf8) }
        deferred = keys.map { deferValidation.contains($0) }
        values = Array(repeating: nil, count: keys.count)
    }

    public mutating func scan(_ line: UnsafeRawBufferPointer) throws(ScanError) {
        for index in values.indices { values[index] = nil }
        decodeError = nil
        let bytes = line.bindMemory(to: UInt8.self)
        var parser = Parser(bytes: bytes)
        parser.skipWhitespace()
        guard parser.position < bytes.count, bytes[parser.position] == UInt8(ascii: "{") else {
            throw parser.error(bytes.count == 0 || parser.position == bytes.count ? "empty line is not a JSON object" : "expected a JSON object")
        }
        parser.position += 1
        parser.skipWhitespace()
        if parser.peek() == UInt8(ascii: "}") {
            parser.position += 1
        } else {
            while true {
                parser.skipWhitespace()
                guard parser.peek() == UInt8(ascii: "\"") else { throw parser.error("expected a string key") }
                let keyStart = parser.position + 1
                let keyEscapes = try parser.skipString(validateUTF8: true)
                let keyRange = keyStart..<(parser.position - 1)
                parser.skipWhitespace()
                guard parser.peek() == UInt8(ascii: ":") else { throw parser.error("expected ':' after a key") }
                parser.position += 1
                parser.skipWhitespace()
                let wanted = matchKey(bytes, keyRange, escaped: keyEscapes)
                let isDeferred = wanted.map { deferred[$0] } ?? false
                let value: Value
                if isDeferred && parser.peek() == UInt8(ascii: "\"") {
                    let start = parser.position + 1
                    var decodeFailure: String?
                    let escapes = try parser.skipString(validateUTF8: false, decodeInto: decoded, decodeError: &decodeFailure)
                    value = Value(kind: .string, range: start..<(parser.position - 1), hasEscapes: escapes)
                    decodeError = decodeFailure
                } else {
                    value = try parser.skipValue(depth: 0, validateUTF8: !isDeferred)
                }
                if let wanted { values[wanted] = value }
                parser.skipWhitespace()
                guard let next = parser.peek() else { throw parser.error("unterminated object") }
                parser.position += 1
                if next == UInt8(ascii: ",") { continue }
                if next == UInt8(ascii: "}") { break }
                throw parser.error("expected ',' or '}'", at: parser.position - 1)
            }
        }
        parser.skipWhitespace()
        if parser.position != bytes.count {
            throw parser.error("unexpected data after the JSON object")
        }
    }

    private func matchKey(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, escaped: Bool) -> Int? {
        if escaped {
            var decoded: [UInt8] = []
            do { try JSONObjectScanner.unescape(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[range])), into: &decoded) } catch { return nil }
            return keys.firstIndex(of: decoded)
        }
        for (index, key) in keys.enumerated() where key.count == range.count {
            if key.withUnsafeBufferPointer({ k in memcmp(k.baseAddress!, bytes.baseAddress! + range.lowerBound, k.count) == 0 }) {
                return index
            }
        }
        return nil
    }

    /// Decodes the escapes of a JSON string body (without quotes) into UTF-8 bytes.
    /// A lone surrogate escape is an error: it has no UTF-8 form.
    public static func unescape(_ body: UnsafeRawBufferPointer, into output: inout [UInt8]) throws(ScanError) {
        let buffer = ByteBuffer(capacity: body.count + 16)
        try unescape(body, into: buffer)
        output = buffer.array
    }

    /// Decodes the escapes of a JSON string body into `output` (which it empties first).
    public static func unescape(_ body: UnsafeRawBufferPointer, into output: ByteBuffer) throws(ScanError) {
        output.removeAll()
        output.reserve(body.count)
        let count = body.count
        guard count > 0 else { return }
        let base = body.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var index = 0
        while index < count {
            // Copy the run up to the next backslash in one go.
            let found = memchr(base + index, 0x5C, count - index)
            let end = found.map { UnsafeRawPointer($0).assumingMemoryBound(to: UInt8.self) - base } ?? count
            output.append(UnsafeRawBufferPointer(start: base + index, count: end - index))
            index = end
            if index >= count { break }
            let decoded = appendEscape(base, index, count, into: output.writer)
            if let message = decoded.error { throw ScanError(offset: index, message: message) }
            index = decoded.next
        }
    }

    /// Decodes the escape whose backslash is at `index` into `output`. Returns the index after it, and an error
    /// for a malformed escape or an unpaired UTF-16 surrogate (which has no UTF-8 form).
    @inline(__always)
    static func appendEscape(_ base: UnsafePointer<UInt8>, _ index: Int, _ count: Int, into output: ByteBuffer.Writer) -> (next: Int, error: String?) {
        guard index + 1 < count else { return (count, "dangling backslash") }
        switch base[index + 1] {
        case UInt8(ascii: "\""): output.append(0x22)
        case UInt8(ascii: "\\"): output.append(0x5C)
        case UInt8(ascii: "/"): output.append(0x2F)
        case UInt8(ascii: "b"): output.append(0x08)
        case UInt8(ascii: "f"): output.append(0x0C)
        case UInt8(ascii: "n"): output.append(0x0A)
        case UInt8(ascii: "r"): output.append(0x0D)
        case UInt8(ascii: "t"): output.append(0x09)
        case UInt8(ascii: "u"):
            let body = UnsafeRawBufferPointer(start: base, count: count)
            guard let unit = hex4(body, index + 2) else { return (index + 2, "bad \\u escape") }
            var next = index + 6
            var scalar = UInt32(unit)
            if (0xD800...0xDBFF).contains(unit) {
                guard next + 1 < count, base[next] == UInt8(ascii: "\\"), base[next + 1] == UInt8(ascii: "u"),
                      let low = hex4(body, next + 2), (0xDC00...0xDFFF).contains(low) else {
                    return (next, "unpaired UTF-16 surrogate escape \\u\(String(unit, radix: 16))")
                }
                next += 6
                scalar = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(unit) {
                return (next, "unpaired UTF-16 surrogate escape \\u\(String(unit, radix: 16))")
            }
            var utf8: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0)
            withUnsafeMutableBytes(of: &utf8) { raw in
                let length = utf8Encode(scalar, into: raw.baseAddress!.assumingMemoryBound(to: UInt8.self))
                output.append(UnsafeRawBufferPointer(rebasing: raw[0..<length]))
            }
            return (next, nil)
        default:
            return (index + 1, "invalid escape")
        }
        return (index + 2, nil)
    }

    @inline(__always)
    static func hex4(_ body: UnsafeRawBufferPointer, _ at: Int) -> UInt16? {
        guard at + 4 <= body.count else { return nil }
        var value: UInt16 = 0
        for offset in 0..<4 {
            let c = body[at + offset]
            let digit: UInt8
            switch c {
            case 0x30...0x39: digit = c - 0x30
            case 0x41...0x46: digit = c - 0x41 + 10
            case 0x61...0x66: digit = c - 0x61 + 10
            default: return nil
            }
            value = value << 4 | UInt16(digit)
        }
        return value
    }
}

@inline(__always)
public func appendUTF8(_ scalar: UInt32, to output: inout [UInt8]) {
    if scalar < 0x80 {
        output.append(UInt8(scalar))
    } else if scalar < 0x800 {
        output.append(UInt8(0xC0 | (scalar >> 6)))
        output.append(UInt8(0x80 | (scalar & 0x3F)))
    } else if scalar < 0x10000 {
        output.append(UInt8(0xE0 | (scalar >> 12)))
        output.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
        output.append(UInt8(0x80 | (scalar & 0x3F)))
    } else {
        output.append(UInt8(0xF0 | (scalar >> 18)))
        output.append(UInt8(0x80 | ((scalar >> 12) & 0x3F)))
        output.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
        output.append(UInt8(0x80 | (scalar & 0x3F)))
    }
}

private struct Parser {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    func error(_ message: String, at: Int? = nil) -> JSONObjectScanner.ScanError {
        JSONObjectScanner.ScanError(offset: min(at ?? position, max(bytes.count - 1, 0)), message: message)
    }

    @inline(__always)
    func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }

    @inline(__always)
    mutating func skipWhitespace() {
        while position < bytes.count {
            let c = bytes[position]
            if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { position += 1 } else { return }
        }
    }

    /// At an opening quote; moves past the closing quote. Returns whether the string had escapes.
    mutating func skipString(validateUTF8: Bool) throws(JSONObjectScanner.ScanError) -> Bool {
        var unused: String?
        return try skipString(validateUTF8: validateUTF8, decodeInto: nil, decodeError: &unused)
    }

    /// At an opening quote; moves past the closing quote and returns whether the string had escapes. With
    /// `decodeInto`, a string with escapes is also decoded there (from its first escape on; the buffer is not
    /// touched otherwise), and an unpaired surrogate, valid JSON but without UTF-8 form, is reported in
    /// `decodeError` rather than thrown.
    mutating func skipString(validateUTF8: Bool, decodeInto target: ByteBuffer?, decodeError: inout String?) throws(JSONObjectScanner.ScanError) -> Bool {
        let decoded = target?.writer   // no reference counting in the loop; `target` outlives this call
        position += 1
        let contentStart = position
        var runStart = position   // start of the raw bytes not yet copied to `decoded`
        var escapes = false
        let count = bytes.count
        let base = bytes.baseAddress!
        var knownQuote = -1   // position of a '"' found ahead (valid while >= position)
        while true {
            // A deferred (long) field: find the closing quote with memchr once, then hop from backslash to
            // backslash with memchr, checking each span for control characters; escapes are handled below.
            if !validateUTF8 && count - position > 64 {
                if knownQuote < position {
                    guard let found = memchr(base + position, 0x22, count - position) else { throw error("unterminated string") }
                    knownQuote = UnsafeRawPointer(found).assumingMemoryBound(to: UInt8.self) - base
                }
                let backslashAt = memchr(base + position, 0x5C, knownQuote - position)
                let stop = backslashAt.map { UnsafeRawPointer($0).assumingMemoryBound(to: UInt8.self) - base } ?? knownQuote
                if let bad = firstControlCharacter(base, position, stop) {
                    position = bad
                    throw error("control character U+\(String(format2: base[bad])) in a string")
                }
                position = stop
            }
            // Fast path: 32 bytes per step (four words checked together, one branch) while none is '"', '\\',
            // a control character or (when UTF-8 must be validated here) non-ASCII.
            while position + 32 <= count {
                let raw = UnsafeRawPointer(base + position)
                let attention = wordAttention(raw.loadUnaligned(as: UInt64.self), checkHighBit: validateUTF8)
                    | wordAttention(raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self), checkHighBit: validateUTF8)
                    | wordAttention(raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self), checkHighBit: validateUTF8)
                    | wordAttention(raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self), checkHighBit: validateUTF8)
                if attention != 0 { break }
                position += 32
            }
            while position + 8 <= count {
                let word = UnsafeRawPointer(base + position).loadUnaligned(as: UInt64.self)
                if wordNeedsAttention(word, checkHighBit: validateUTF8) { break }
                position += 8
            }
            guard position < count else { throw error("unterminated string") }
            let c = base[position]
            if c == UInt8(ascii: "\"") {
                if escapes, let decoded { decoded.append(UnsafeRawBufferPointer(start: base + runStart, count: position - runStart)) }
                position += 1
                return escapes
            }
            if c == UInt8(ascii: "\\"), let decoded {
                if !escapes {
                    decoded.removeAll()
                    runStart = contentStart
                }
                escapes = true
                decoded.append(UnsafeRawBufferPointer(start: base + runStart, count: position - runStart))
                let step = JSONObjectScanner.appendEscape(base, position, count, into: decoded)
                if let message = step.error {
                    if message.hasPrefix("unpaired") {
                        if decodeError == nil { decodeError = message }
                    } else {
                        throw error(message == "invalid escape" ? "invalid escape '\\\(Character(Unicode.Scalar(base[position + 1])))'" : message)
                    }
                }
                position = step.next
                runStart = position
                continue
            }
            if c == UInt8(ascii: "\\") {
                escapes = true
                guard position + 1 < count else { throw error("unterminated string") }
                let e = base[position + 1]
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                     UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    position += 2
                case UInt8(ascii: "u"):
                    guard JSONObjectScanner.hex4(UnsafeRawBufferPointer(bytes), position + 2) != nil else {
                        throw error("bad \\u escape")
                    }
                    position += 6
                default:
                    throw error("invalid escape '\\\(Character(Unicode.Scalar(e)))'")
                }
                continue
            }
            if c < 0x20 { throw error("control character U+\(String(format2: c)) in a string") }
            if c >= 0x80 && validateUTF8 {
                let length = utf8SequenceLength(base, position, count)
                if length == 0 { throw error("invalid UTF-8") }
                position += length
                continue
            }
            position += 1
        }
    }

    mutating func skipValue(depth: Int, validateUTF8: Bool) throws(JSONObjectScanner.ScanError) -> JSONObjectScanner.Value {
        guard let c = peek() else { throw error("missing value") }
        let start = position
        switch c {
        case UInt8(ascii: "\""):
            let escapes = try skipString(validateUTF8: validateUTF8)
            return .init(kind: .string, range: (start + 1)..<(position - 1), hasEscapes: escapes)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            try skipContainer()
            return .init(kind: c == UInt8(ascii: "{") ? .object : .array, range: start..<position, hasEscapes: false)
        case UInt8(ascii: "t"):
            try literal("true"); return .init(kind: .bool, range: start..<position, hasEscapes: false)
        case UInt8(ascii: "f"):
            try literal("false"); return .init(kind: .bool, range: start..<position, hasEscapes: false)
        case UInt8(ascii: "n"):
            try literal("null"); return .init(kind: .null, range: start..<position, hasEscapes: false)
        case UInt8(ascii: "N"):
            try literal("NaN"); return .init(kind: .number, range: start..<position, hasEscapes: false)
        case UInt8(ascii: "I"):
            try literal("Infinity"); return .init(kind: .number, range: start..<position, hasEscapes: false)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try number()
            return .init(kind: .number, range: start..<position, hasEscapes: false)
        default:
            throw error("unexpected character")
        }
    }

    /// Skips a nested object or array without recursion (the nesting depth never touches the thread's stack),
    /// validating everything in it, strings' UTF-8 included.
    mutating func skipContainer() throws(JSONObjectScanner.ScanError) {
        enum Expect { case firstMember, member, separator }
        var closers: [UInt8] = []
        var expect = Expect.firstMember
        closers.append(bytes[position] == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]"))
        position += 1
        while let closer = closers.last {
            skipWhitespace()
            guard let c = peek() else { throw error(closer == UInt8(ascii: "}") ? "unterminated object" : "unterminated array") }
            switch expect {
            case .separator:
                position += 1
                if c == UInt8(ascii: ",") { expect = .member; continue }
                if c == closer { closers.removeLast(); continue }
                throw error("expected ',' or '\(Character(Unicode.Scalar(closer)))'", at: position - 1)
            case .firstMember, .member:
                if expect == .firstMember && c == closer {
                    position += 1
                    closers.removeLast()
                    expect = .separator
                    continue
                }
                if closer == UInt8(ascii: "}") {
                    guard c == UInt8(ascii: "\"") else { throw error("expected a string key") }
                    _ = try skipString(validateUTF8: true)
                    skipWhitespace()
                    guard peek() == UInt8(ascii: ":") else { throw error("expected ':' after a key") }
                    position += 1
                    skipWhitespace()
                }
                guard let v = peek() else { throw error("missing value") }
                if v == UInt8(ascii: "{") || v == UInt8(ascii: "[") {
                    if closers.count >= 10_000 { throw error("nesting deeper than 10000 levels") }
                    closers.append(v == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]"))
                    position += 1
                    expect = .firstMember
                } else {
                    _ = try skipValue(depth: 0, validateUTF8: true)
                    expect = .separator
                }
            }
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONObjectScanner.ScanError) {
        let length = word.utf8CodeUnitCount
        guard position + length <= bytes.count,
              memcmp(bytes.baseAddress! + position, word.utf8Start, length) == 0 else {
            throw error("invalid literal")
        }
        position += length
    }

    mutating func number() throws(JSONObjectScanner.ScanError) {
        if peek() == UInt8(ascii: "-") {
            position += 1
            if peek() == UInt8(ascii: "I") { try literal("Infinity"); return }
        }
        guard let first = peek(), isDigit(first) else { throw error("invalid number") }
        position += 1
        if first != UInt8(ascii: "0") { while let d = peek(), isDigit(d) { position += 1 } }
        if peek() == UInt8(ascii: ".") {
            position += 1
            guard let d = peek(), isDigit(d) else { throw error("invalid number") }
            while let d = peek(), isDigit(d) { position += 1 }
        }
        if let e = peek(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            position += 1
            if let sign = peek(), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { position += 1 }
            guard let d = peek(), isDigit(d) else { throw error("invalid number") }
            while let d = peek(), isDigit(d) { position += 1 }
        }
    }

    @inline(__always)
    func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
}

/// Index of the first byte below 0x20 in `base[start..<end]`, if any.
@inline(__always)
func firstControlCharacter(_ base: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Int? {
    let ones: UInt64 = 0x0101_0101_0101_0101
    let highs: UInt64 = 0x8080_8080_8080_8080
    var index = start
    while index + 32 <= end {
        let raw = UnsafeRawPointer(base + index)
        var mask: UInt64 = 0
        for offset in stride(from: 0, to: 32, by: 8) {
            let word = raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            mask |= (word &- (ones &* 0x20)) & ~word & highs
        }
        if mask != 0 { break }
        index += 32
    }
    while index < end {
        if base[index] < 0x20 { return index }
        index += 1
    }
    return nil
}

/// Nonzero when some byte of `word` is '"', '\\', below 0x20, or (when asked) at or above 0x80.
@inline(__always)
func wordAttention(_ word: UInt64, checkHighBit: Bool) -> UInt64 {
    let ones: UInt64 = 0x0101_0101_0101_0101
    let highs: UInt64 = 0x8080_8080_8080_8080
    func hasZeroByte(_ v: UInt64) -> UInt64 { (v &- ones) & ~v & highs }
    var mask = hasZeroByte(word ^ (ones &* 0x22)) | hasZeroByte(word ^ (ones &* 0x5C)) | ((word &- (ones &* 0x20)) & ~word & highs)
    if checkHighBit { mask |= word & highs }
    return mask
}

/// Whether any byte of `word` is '"', '\\', below 0x20, or (when asked) at or above 0x80.
@inline(__always)
func wordNeedsAttention(_ word: UInt64, checkHighBit: Bool) -> Bool {
    let ones: UInt64 = 0x0101_0101_0101_0101
    let highs: UInt64 = 0x8080_8080_8080_8080
    func hasZeroByte(_ v: UInt64) -> UInt64 { (v &- ones) & ~v & highs }
    let quote = hasZeroByte(word ^ (ones &* 0x22))
    let backslash = hasZeroByte(word ^ (ones &* 0x5C))
    // bytes < 0x20: (b - 0x20) borrows into the high bit when b < 0x20 and b < 0x80.
    let control = (word &- (ones &* 0x20)) & ~word & highs
    var mask = quote | backslash | control
    if checkHighBit { mask |= word & highs }
    return mask != 0
}

extension String {
    init(format2 byte: UInt8) {
        let digits = Array("0123456789ABCDEF")
        self = "00" + String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 15)])
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension JSONObjectScanner.ValueKind {
    /// The kind as an error message says it: "a string", "null", ….
    public var phrase: String {
        switch self {
        case .string: "a string"
        case .number: "a number"
        case .bool: "a boolean"
        case .null: "null"
        case .object: "an object"
        case .array: "an array"
        }
    }
}

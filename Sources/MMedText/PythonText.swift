/// Text rules of CPython 3 that the MMedLM filter relies on: `str.lower()` (full Unicode lower-case
/// mapping with the Final_Sigma rule), `str.isspace()` / `str.split()` whitespace, and `len()` in code points.
/// Everything works on UTF-8 bytes; Unicode properties come from the Swift runtime's Unicode tables.
public enum PythonText {
    /// Whether `scalar` is whitespace for Python's `str.split()` (bidi class WS/B/S or category Zs).
    @inline(__always)
    public static func isWhitespace(_ scalar: UInt32) -> Bool {
        if scalar < 0x80 { return asciiWhitespace[Int(scalar)] }
        switch scalar {
        case 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: return true
        default: return false
        }
    }

    /// ASCII whitespace for `str.split()`: \t \n \v \f \r, the separators U+001C–U+001F, and space.
    public static let asciiWhitespace: [Bool] = (0..<128).map { c in
        (0x09...0x0D).contains(c) || (0x1C...0x20).contains(c)
    }

    /// Python's `str.lower()` of a Swift string.
    public static func lowercased(_ string: String) -> String {
        var input = string
        return input.withUTF8 { bytes in
            let output = UnsafeMutablePointer<UInt8>.allocate(capacity: bytes.count * 2 + 16)
            defer { output.deallocate() }
            let result = lowercase(UnsafeRawBufferPointer(bytes), into: output)
            return String(decoding: UnsafeBufferPointer(start: output, count: result.outputCount), as: UTF8.self)
        }
    }

    /// Python's `len()`: the number of Unicode scalars.
    public static func codePointCount(_ string: String) -> Int {
        string.unicodeScalars.count
    }

    /// Python's `str.split()` with no arguments.
    public static func split(_ string: String) -> [String] {
        var tokens: [String] = []
        var current = String.UnicodeScalarView()
        for scalar in string.unicodeScalars {
            if isWhitespace(scalar.value) {
                if !current.isEmpty { tokens.append(String(current)); current = .init() }
            } else {
                current.append(scalar)
            }
        }
        if !current.isEmpty { tokens.append(String(current)) }
        return tokens
    }

    public struct LowercaseResult: Sendable, Equatable {
        /// Bytes written to the output.
        public var outputCount: Int
        /// Code points in the input (Python `len` of the original text).
        public var codePoints: Int
        /// Byte offset of the first invalid UTF-8 sequence in the input, if any (output stops there).
        public var invalidUTF8Offset: Int?
    }

    /// Lower-cases UTF-8 `input` into `output` as Python's `str.lower()` does, validating the UTF-8 and
    /// counting code points on the way. `output` must have room for `2 * input.count + 16` bytes
    /// (lower-casing grows UTF-8 by at most half).
    public static func lowercase(_ input: UnsafeRawBufferPointer, into output: UnsafeMutablePointer<UInt8>) -> LowercaseResult {
        let count = input.count
        guard count > 0 else { return LowercaseResult(outputCount: 0, codePoints: 0, invalidUTF8Offset: nil) }
        let source = input.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let tables = CaseTables.shared
        var i = 0
        var o = 0
        var codePoints = 0
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        while i < count {
            // ASCII fast path, 8 bytes at a time: set bit 5 of every byte in 'A'...'Z'.
            while i + 8 <= count {
                let word = UnsafeRawPointer(source + i).loadUnaligned(as: UInt64.self)
                if word & highs != 0 { break }
                let atLeastA = word &+ ones &* (0x80 - 0x41)
                let aboveZ = word &+ ones &* (0x80 - 0x5B)
                let upper = atLeastA & ~aboveZ & highs
                UnsafeMutableRawPointer(output + o).storeBytes(of: word | (upper >> 2), as: UInt64.self)
                i += 8
                o += 8
                codePoints += 8
            }
            // Caseless three-byte run: U+3000–U+9FFF (kana, CJK ideographs) and U+B000–U+CFFF (Hangul),
            // copied after checking the continuation bytes (these lead bytes have no overlong or surrogate forms).
            while i + 3 <= count {
                let lead = source[i]
                guard (lead >= 0xE3 && lead <= 0xE9) || lead == 0xEB || lead == 0xEC else { break }
                let b1 = source[i + 1], b2 = source[i + 2]
                guard b1 & 0xC0 == 0x80, b2 & 0xC0 == 0x80 else { break }
                output[o] = lead
                output[o + 1] = b1
                output[o + 2] = b2
                i += 3
                o += 3
                codePoints += 1
            }
            if i >= count { break }
            let b0 = source[i]
            if b0 < 0x80 {
                output[o] = (b0 >= 0x41 && b0 <= 0x5A) ? b0 | 0x20 : b0
                i += 1
                o += 1
                codePoints += 1
                continue
            }
            let length = utf8Length(source, i, count)
            if length == 0 {
                return LowercaseResult(outputCount: o, codePoints: codePoints, invalidUTF8Offset: i)
            }
            let scalar = decode(source, i, length)
            codePoints += 1
            if scalar >= 0x2E80 && scalar < 0xA640 || scalar >= 0xAC00 && scalar < 0xD800 {
                // CJK, kana, Hangul and neighbours have no case: copy.
                for k in 0..<length { output[o + k] = source[i + k] }
                o += length
                i += length
                continue
            }
            var mapped: UInt32
            if scalar == 0x3A3 {
                mapped = isFinalSigma(source, count, at: i) ? 0x3C2 : 0x3C3
            } else if scalar == 0x130 {
                // U+0130 İ → "i̇" (U+0069 U+0307), the one multi-scalar lower-case mapping.
                output[o] = 0x69; output[o + 1] = 0xCC; output[o + 2] = 0x87
                o += 3
                i += length
                continue
            } else {
                mapped = tables.lower(scalar)
            }
            if mapped == scalar {
                for k in 0..<length { output[o + k] = source[i + k] }
                o += length
            } else {
                o += encode(mapped, into: output + o)
            }
            i += length
        }
        return LowercaseResult(outputCount: o, codePoints: codePoints, invalidUTF8Offset: nil)
    }

    /// Counts code points of valid UTF-8 (bytes that are not continuation bytes).
    public static func codePointCount(_ input: UnsafeRawBufferPointer) -> Int {
        var total = 0
        for byte in input where byte & 0xC0 != 0x80 { total += 1 }
        return total
    }

    /// The Final_Sigma condition of Unicode (and CPython's `handle_capital_sigma`): the Σ at `index` is
    /// preceded by a cased letter (skipping case-ignorable ones) and not followed by one.
    static func isFinalSigma(_ source: UnsafePointer<UInt8>, _ count: Int, at index: Int) -> Bool {
        let tables = CaseTables.shared
        var j = index
        var precededByCased = false
        while j > 0 {
            var start = j - 1
            while start > 0 && source[start] & 0xC0 == 0x80 { start -= 1 }
            let length = utf8Length(source, start, count)
            guard length == j - start else { return false }
            let scalar = decode(source, start, length)
            if !tables.isCaseIgnorable(scalar) {
                precededByCased = tables.isCased(scalar)
                break
            }
            j = start
        }
        guard precededByCased else { return false }
        var k = index + 2  // Σ is two bytes
        while k < count {
            let length = utf8Length(source, k, count)
            guard length > 0 else { return true }
            let scalar = decode(source, k, length)
            if !tables.isCaseIgnorable(scalar) { return !tables.isCased(scalar) }
            k += length
        }
        return true
    }

    @inline(__always)
    static func utf8Length(_ base: UnsafePointer<UInt8>, _ index: Int, _ count: Int) -> Int {
        utf8SequenceLength(base, index, count)
    }

    @inline(__always)
    static func decode(_ base: UnsafePointer<UInt8>, _ index: Int, _ length: Int) -> UInt32 {
        switch length {
        case 1: return UInt32(base[index])
        case 2: return UInt32(base[index] & 0x1F) << 6 | UInt32(base[index + 1] & 0x3F)
        case 3: return UInt32(base[index] & 0x0F) << 12 | UInt32(base[index + 1] & 0x3F) << 6 | UInt32(base[index + 2] & 0x3F)
        default:
            return UInt32(base[index] & 0x07) << 18 | UInt32(base[index + 1] & 0x3F) << 12
                | UInt32(base[index + 2] & 0x3F) << 6 | UInt32(base[index + 3] & 0x3F)
        }
    }

    @inline(__always)
    static func encode(_ scalar: UInt32, into out: UnsafeMutablePointer<UInt8>) -> Int {
        if scalar < 0x80 {
            out[0] = UInt8(scalar); return 1
        } else if scalar < 0x800 {
            out[0] = UInt8(0xC0 | (scalar >> 6)); out[1] = UInt8(0x80 | (scalar & 0x3F)); return 2
        } else if scalar < 0x10000 {
            out[0] = UInt8(0xE0 | (scalar >> 12)); out[1] = UInt8(0x80 | ((scalar >> 6) & 0x3F))
            out[2] = UInt8(0x80 | (scalar & 0x3F)); return 3
        } else {
            out[0] = UInt8(0xF0 | (scalar >> 18)); out[1] = UInt8(0x80 | ((scalar >> 12) & 0x3F))
            out[2] = UInt8(0x80 | ((scalar >> 6) & 0x3F)); out[3] = UInt8(0x80 | (scalar & 0x3F)); return 4
        }
    }
}

/// Lower-case mappings tabulated once from the Swift runtime's Unicode data. Only the blocks that hold letters
/// with a lower-case mapping are read (a few milliseconds at start-up instead of every scalar); the test suite
/// checks every assigned scalar against CPython. Cased / Case_Ignorable (for the final sigma) are looked up
/// when needed.
final class CaseTables: Sendable {
    static let shared = CaseTables()

    static let tableLimit: UInt32 = 0x20000
    /// Ranges of scalars that have (or may get) a lower-case mapping; every other scalar maps to itself.
    static let casedRanges: [Range<UInt32>] = [
        0x0000..<0x2E80,      // Latin, Greek, Cyrillic, Armenian, Georgian, Glagolitic, Coptic, letterlike, ...
        0xA640..<0xAC00,      // Cyrillic Extended-B, Latin Extended-D, Cherokee supplement, ...
        0xFB00..<0x10000,     // ligatures, fullwidth Latin
        0x10400..<0x11000,    // Deseret, Osage, Vithkuqi, Old Hungarian, Garay
        0x118A0..<0x11900,    // Warang Citi
        0x16E40..<0x16E80,    // Medefaidrin
        0x1E900..<0x1E960,    // Adlam
    ]
    /// For each scalar below `tableLimit`: its single-scalar lower-case mapping.
    private let lowerMap: [UInt32]

    private init() {
        var lowerMap = (0..<Self.tableLimit).map { $0 }
        for range in Self.casedRanges {
            for value in range {
                guard let scalar = Unicode.Scalar(value) else { continue }
                let properties = scalar.properties
                if properties.changesWhenLowercased {
                    let mapping = properties.lowercaseMapping.unicodeScalars
                    if mapping.count == 1 { lowerMap[Int(value)] = mapping.first!.value }
                }
            }
        }
        self.lowerMap = lowerMap
    }

    @inline(__always)
    func lower(_ scalar: UInt32) -> UInt32 {
        scalar < Self.tableLimit ? lowerMap[Int(scalar)] : scalar
    }

    func isCased(_ scalar: UInt32) -> Bool {
        Unicode.Scalar(scalar)?.properties.isCased ?? false
    }

    func isCaseIgnorable(_ scalar: UInt32) -> Bool {
        Unicode.Scalar(scalar)?.properties.isCaseIgnorable ?? false
    }
}

/// Length of the valid UTF-8 sequence starting at `index`, or 0 when it is invalid (overlong forms, surrogates,
/// code points above U+10FFFF, stray continuation bytes and truncated sequences are all invalid).
@inline(__always)
public func utf8SequenceLength(_ base: UnsafePointer<UInt8>, _ index: Int, _ count: Int) -> Int {
    let b0 = base[index]
    if b0 < 0x80 { return 1 }
    if b0 < 0xC2 { return 0 }
    if b0 < 0xE0 {
        return index + 1 < count && base[index + 1] & 0xC0 == 0x80 ? 2 : 0
    }
    if b0 < 0xF0 {
        guard index + 2 < count else { return 0 }
        let b1 = base[index + 1], b2 = base[index + 2]
        guard b1 & 0xC0 == 0x80, b2 & 0xC0 == 0x80 else { return 0 }
        if b0 == 0xE0 && b1 < 0xA0 { return 0 }        // overlong
        if b0 == 0xED && b1 >= 0xA0 { return 0 }       // surrogates
        return 3
    }
    if b0 < 0xF5 {
        guard index + 3 < count else { return 0 }
        let b1 = base[index + 1], b2 = base[index + 2], b3 = base[index + 3]
        guard b1 & 0xC0 == 0x80, b2 & 0xC0 == 0x80, b3 & 0xC0 == 0x80 else { return 0 }
        if b0 == 0xF0 && b1 < 0x90 { return 0 }        // overlong
        if b0 == 0xF4 && b1 >= 0x90 { return 0 }       // above U+10FFFF
        return 4
    }
    return 0
}

/// Encodes `scalar` as UTF-8 at `out` (room for 4 bytes); returns the number of bytes written.
@inline(__always)
public func utf8Encode(_ scalar: UInt32, into out: UnsafeMutablePointer<UInt8>) -> Int {
    PythonText.encode(scalar, into: out)
}

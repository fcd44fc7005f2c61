/// Hand-written scanners for the split patterns byte-level BPE tokenizers use. They give exactly the matches the
/// regular expressions give (leftmost alternative first, greedy, with the patterns' backtracking worked out by
/// hand), in one left-to-right pass over valid UTF-8 without a regex engine.
public enum SplitPattern: Sendable, Equatable {
    /// cl100k_base, and Llama 3's (they are the same pattern):
    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
    case cl100k
    /// GPT-2's: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    case gpt2

    static let cl100kSource = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let gpt2Sources = [
        #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#,
    ]

    /// The scanner for a regex source, if one of ours implements it exactly.
    static func recognize(_ source: String) -> SplitPattern? {
        if source == cl100kSource { return .cl100k }
        if gpt2Sources.contains(source) { return .gpt2 }
        return nil
    }

    /// Calls `body` with the byte range of each match, in order. Together the matches cover the input.
    @inline(__always)
    func forEachPiece(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (Int, Int) -> Void) {
        var start = 0
        while start < bytes.count {
            let end: Int
            switch self {
            case .cl100k: end = cl100kMatch(bytes, start)
            case .gpt2: end = gpt2Match(bytes, start)
            }
            body(start, end)
            start = end
        }
    }
}

@inline(__always)
private func classAt(_ bytes: UnsafeBufferPointer<UInt8>, _ index: Int) -> (CharacterClass, Int) {
    let byte = bytes[index]
    if byte < 0x80 { return (asciiClasses[Int(byte)], 1) }
    let (value, length) = decodeScalar(bytes, index)
    return (CharacterClasses.of(value), length)
}

private let asciiClasses: [CharacterClass] = (0..<128).map { CharacterClasses.compute(Unicode.Scalar(UInt8($0))) }

/// The end of a run of characters of class `wanted`, from `index`.
@inline(__always)
private func runEnd(_ bytes: UnsafeBufferPointer<UInt8>, _ index: Int, _ wanted: CharacterClass) -> Int {
    var position = index
    while position < bytes.count {
        let byte = bytes[position]
        if byte < 0x80 {
            guard asciiClasses[Int(byte)] == wanted else { break }
            position += 1
        } else {
            let (kind, length) = classAt(bytes, position)
            guard kind == wanted else { break }
            position += length
        }
    }
    return position
}

/// Length of a contraction `'s 't 're 've 'm 'll 'd` at `index` (which holds `'`), or 0. `caseInsensitive` follows
/// simple case folding, under which `ſ` (U+017F) is an `s`.
@inline(__always)
private func contractionLength(_ bytes: UnsafeBufferPointer<UInt8>, _ index: Int, caseInsensitive: Bool) -> Int {
    let count = bytes.count
    guard index + 1 < count else { return 0 }
    let fold: (UInt8) -> UInt8 = { caseInsensitive && $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
    let first = fold(bytes[index + 1])
    switch first {
    case UInt8(ascii: "s"), UInt8(ascii: "t"), UInt8(ascii: "m"), UInt8(ascii: "d"): return 2
    case UInt8(ascii: "r"), UInt8(ascii: "v"):
        if index + 2 < count, fold(bytes[index + 2]) == UInt8(ascii: "e") { return 3 }
    case UInt8(ascii: "l"):
        if index + 2 < count, fold(bytes[index + 2]) == UInt8(ascii: "l") { return 3 }
    case 0xC5:
        if caseInsensitive, index + 2 < count, bytes[index + 2] == 0xBF { return 3 }  // 'ſ
    default: break
    }
    return 0
}

/// End of the whitespace run from `index` and where its last character starts; also whether it holds CR/LF and
/// the end of its last CR/LF.
@inline(__always)
private func whitespaceRun(_ bytes: UnsafeBufferPointer<UInt8>, _ index: Int) -> (end: Int, lastStart: Int, newlineEnd: Int) {
    var position = index, lastStart = index, newlineEnd = -1
    while position < bytes.count {
        let (kind, length) = classAt(bytes, position)
        guard kind.isWhitespace else { break }
        if kind == .newline { newlineEnd = position + length }
        lastStart = position
        position += length
    }
    return (position, lastStart, newlineEnd)
}

@inline(__always)
private func cl100kMatch(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int) -> Int {
    let count = bytes.count
    let (kind, length) = classAt(bytes, start)
    let next = start + length
    switch kind {
    case .letter:
        return runEnd(bytes, next, .letter)
    case .number:
        // \p{N}{1,3}
        var position = next, taken = 1
        while taken < 3, position < count {
            let (nextKind, nextLength) = classAt(bytes, position)
            guard nextKind == .number else { break }
            position += nextLength
            taken += 1
        }
        return position
    case .other, .space:
        if bytes[start] == UInt8(ascii: "'") {
            let contraction = contractionLength(bytes, start, caseInsensitive: true)
            if contraction > 0 { return start + contraction }
        }
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if next < count {
            let (nextKind, nextLength) = classAt(bytes, next)
            if nextKind == .letter { return runEnd(bytes, next + nextLength, .letter) }
            // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
            if kind == .other || (bytes[start] == 0x20 && nextKind == .other) {
                let punctuationStart = kind == .other ? start : next
                var position = runEnd(bytes, punctuationStart, .other)
                while position < count, bytes[position] == 0x0D || bytes[position] == 0x0A { position += 1 }
                return position
            }
        } else if kind == .other {
            return next
        }
        return whitespaceMatch(bytes, start)
    case .newline:
        return whitespaceMatch(bytes, start)
    }
}

/// `\s*[\r\n]+|\s+(?!\S)|\s+` at a whitespace character.
@inline(__always)
private func whitespaceMatch(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int) -> Int {
    let run = whitespaceRun(bytes, start)
    if run.newlineEnd >= 0 { return run.newlineEnd }
    if run.end == bytes.count { return run.end }
    // Followed by a non-space: leave the last whitespace character for the next match, unless it is the only one.
    return run.lastStart > start ? run.lastStart : run.end
}

@inline(__always)
private func gpt2Match(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int) -> Int {
    let count = bytes.count
    if bytes[start] == UInt8(ascii: "'") {
        let contraction = contractionLength(bytes, start, caseInsensitive: false)
        if contraction > 0 { return start + contraction }
    }
    var (kind, length) = classAt(bytes, start)
    var body = start
    if bytes[start] == 0x20, start + 1 < count {
        let (nextKind, nextLength) = classAt(bytes, start + 1)
        if nextKind == .letter || nextKind == .number || nextKind == .other {
            body = start + 1
            kind = nextKind
            length = nextLength
        }
    }
    switch kind {
    case .letter, .number, .other: return runEnd(bytes, body + length, kind)
    case .space, .newline:
        let run = whitespaceRun(bytes, start)
        if run.end == count { return run.end }
        return run.lastStart > start ? run.lastStart : run.end
    }
}

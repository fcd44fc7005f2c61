extension SentencePieceTokenizer {
    /// U+2581 LOWER ONE EIGHTH BLOCK, sentencepiece's stand-in for a space, in UTF-8.
    static let spaceSymbol: (UInt8, UInt8, UInt8) = (0xE2, 0x96, 0x81)

    /// The number of bytes of the UTF-8 character at `pointer` if it is well formed by sentencepiece's rules
    /// (shortest form, no surrogates, at most U+10FFFF), else nil. `available` bytes may be read.
    @inline(__always)
    static func validUTF8Length(_ pointer: UnsafePointer<UInt8>, _ available: Int) -> Int? {
        let lead = pointer[0]
        @inline(__always) func isTrail(_ byte: UInt8) -> Bool { byte & 0xC0 == 0x80 }
        if lead < 0x80 { return 1 }
        if available >= 2, lead & 0xE0 == 0xC0 {
            let scalar = UInt32(lead & 0x1F) << 6 | UInt32(pointer[1] & 0x3F)
            return isTrail(pointer[1]) && scalar >= 0x80 ? 2 : nil
        }
        if available >= 3, lead & 0xF0 == 0xE0 {
            let scalar = UInt32(lead & 0x0F) << 12 | UInt32(pointer[1] & 0x3F) << 6 | UInt32(pointer[2] & 0x3F)
            return isTrail(pointer[1]) && isTrail(pointer[2]) && scalar >= 0x800 && !(0xD800...0xDFFF).contains(scalar)
                ? 3 : nil
        }
        if available >= 4, lead & 0xF8 == 0xF0 {
            let scalar = UInt32(lead & 0x07) << 18 | UInt32(pointer[1] & 0x3F) << 12 | UInt32(pointer[2] & 0x3F) << 6
                | UInt32(pointer[3] & 0x3F)
            return isTrail(pointer[1]) && isTrail(pointer[2]) && isTrail(pointer[3]) && scalar >= 0x10000
                && scalar <= 0x10FFFF ? 4 : nil
        }
        return nil
    }

    /// The length sentencepiece gives the character starting with `lead` without validating it (`OneCharLen`).
    @inline(__always)
    static func characterLength(lead: UInt8) -> Int {
        switch lead >> 4 {
        case 0xC, 0xD: return 2
        case 0xE: return 3
        case 0xF: return 4
        default: return 1
        }
    }

    /// Finds user-defined pieces at a position, longest first, as sentencepiece's `PrefixMatcher` does. Both the
    /// normalizer (which leaves them unnormalized) and the BPE/CHAR models (which keep them whole) use it.
    /// (sentencepiece considers only the 64 shortest matches at a position; a model with more than 64 user-defined
    /// pieces that are prefixes of one another is the one case where this matcher could pick a longer one.)
    struct UserDefinedMatcher: Sendable {
        let pieces: ByteStringMap
        /// Distinct piece lengths in bytes, longest first.
        let lengths: [Int]
        private let isFirstByteOwner: FrozenBuffer<Bool>
        /// Whether some user-defined piece starts with the byte: most positions are rejected with one load. (A
        /// plain pointer into `isFirstByteOwner`'s memory, written once in `init`: safe to share, hence
        /// `nonisolated(unsafe)`.)
        nonisolated(unsafe) let isFirstByte: UnsafePointer<Bool>

        init?(pieceBytes: [UInt8], keys: [ByteStringMap.Key]) {
            guard !keys.isEmpty else { return nil }
            pieces = ByteStringMap(blob: pieceBytes, keys: keys)
            lengths = Set(keys.map { Int($0.length) }).sorted(by: >)
            var firstBytes = [Bool](repeating: false, count: 256)
            for key in keys { firstBytes[Int(pieceBytes[Int(key.start)])] = true }
            isFirstByteOwner = FrozenBuffer(firstBytes)
            isFirstByte = isFirstByteOwner.pointer
        }

        /// The byte length of the longest user-defined piece that `pointer[0..<available]` starts with.
        @inline(__always)
        func longestMatch(_ pointer: UnsafePointer<UInt8>, _ available: Int) -> Int? {
            guard isFirstByte[Int(pointer[0])] else { return nil }
            for length in lengths where length <= available {
                if pieces.value(pointer, length) != nil { return length }
            }
            return nil
        }
    }

    /// `precompiled_charsmap`: a Darts-clone double-array trie over input byte strings whose values are offsets
    /// of NUL-terminated replacement strings. Layout: a little-endian UInt32 trie size in bytes, the trie's 32-bit
    /// units, then the replacement strings.
    struct PrecompiledCharsMap: Sendable {
        private let unitsOwner: FrozenBuffer<UInt32>
        private let replacementsOwner: FrozenBuffer<UInt8>
        private let keylessASCIIOwner: FrozenBuffer<Bool>
        // Plain pointers into the owners' memory, which is written once in `init` and only read afterwards, so
        // sharing them between threads is safe (`nonisolated(unsafe)` as UnsafePointer is not Sendable). Reading
        // them costs no reference counting in the per-character loop.
        nonisolated(unsafe) let units: UnsafePointer<UInt32>
        let unitCount: Int
        nonisolated(unsafe) let replacements: UnsafePointer<UInt8>
        let replacementCount: Int
        /// For each ASCII byte, whether no key starts with it: then the character is kept as it is (most text).
        nonisolated(unsafe) let keylessASCII: UnsafePointer<Bool>
        /// Whether every replacement string is valid UTF-8 (then normalized text is valid UTF-8 too).
        let replacementsAreValidUTF8: Bool

        init(_ blob: [UInt8], file: String) throws {
            // The checks of sentencepiece's (0.2.3) DecodePrecompiledCharsMap and Darts' validate(): after them every
            // trie walk stays inside the array and every value points into the replacement strings.
            func malformed(_ message: String) -> TokenizerError {
                TokenizerError(.malformed, file: file, "the normalizer's precompiled_charsmap \(message)")
            }
            guard blob.count > 4 else { throw malformed("is too short") }
            let trieSize = Int(UInt32(blob[0]) | UInt32(blob[1]) << 8 | UInt32(blob[2]) << 16 | UInt32(blob[3]) << 24)
            guard trieSize < blob.count - 4 else { throw malformed("has a trie (\(trieSize) bytes) larger than itself") }
            guard trieSize >= 1024, trieSize % 1024 == 0 else { throw malformed("has a trie of \(trieSize) bytes, not a multiple of 1024") }
            guard blob.last == 0 else { throw malformed("does not end its replacement strings with a NUL") }
            var units = [UInt32](repeating: 0, count: trieSize / 4)
            for index in units.indices {
                let offset = 4 + index * 4
                units[index] = UInt32(blob[offset]) | UInt32(blob[offset + 1]) << 8 | UInt32(blob[offset + 2]) << 16
                    | UInt32(blob[offset + 3]) << 24
            }
            let replacements = Array(blob[(4 + trieSize)...])
            guard Self.isValidTrie(units, valueLimit: replacements.count) else { throw malformed("has an inconsistent trie") }
            unitsOwner = FrozenBuffer(units)
            replacementsOwner = FrozenBuffer(replacements)
            self.units = unitsOwner.pointer
            unitCount = units.count
            self.replacements = replacementsOwner.pointer
            replacementCount = replacements.count
            // A key starts with byte b when the root's child for b exists (its label is b).
            let rootOffset = Int((units[0] >> 10) << ((units[0] & (1 << 9)) >> 6))
            keylessASCIIOwner = FrozenBuffer((0..<128).map { byte in
                let node = rootOffset ^ byte
                return node >= units.count || units[node] & ((1 << 31) | 0xFF) != UInt32(byte)
            })
            keylessASCII = keylessASCIIOwner.pointer
            // The strings are NUL-separated; each must be valid UTF-8 on its own.
            var valid = true
            replacements.withUnsafeBufferPointer { bytes in
                var index = 0
                while index < bytes.count {
                    if bytes[index] == 0 { index += 1; continue }
                    guard let length = validUTF8Length(bytes.baseAddress! + index, bytes.count - index) else {
                        valid = false
                        return
                    }
                    index += length
                }
            }
            replacementsAreValidUTF8 = valid
        }

        /// Darts-clone's `validate`: the root is a plain node, every child block lies inside the array, a node's
        /// leaf flag points at a leaf, and every leaf value is below `valueLimit`.
        private static func isValidTrie(_ units: [UInt32], valueLimit: Int) -> Bool {
            @inline(__always) func offset(_ unit: UInt32) -> Int { Int((unit >> 10) << ((unit & (1 << 9)) >> 6)) }
            @inline(__always) func label(_ unit: UInt32) -> UInt32 { unit & ((1 << 31) | 0xFF) }
            @inline(__always) func hasLeaf(_ unit: UInt32) -> Bool { (unit >> 8) & 1 == 1 }
            let size = units.count
            guard size > 0, label(units[0]) == 0, !hasLeaf(units[0]), offset(units[0]) != 0,
                  (offset(units[0]) | 0xFF) < size else { return false }
            for index in 1..<size {
                let unit = units[index]
                if label(unit) <= 0xFF {
                    guard ((index ^ offset(unit)) | 0xFF) < size else { return false }
                    if hasLeaf(unit) && label(units[index ^ offset(unit)]) <= 0xFF { return false }
                } else if Int(unit & ((1 << 31) - 1)) >= valueLimit {
                    return false
                }
            }
            return true
        }

        /// The longest key that `pointer[0..<available]` starts with, among the first 32 found (sentencepiece looks
        /// no further): its length and its replacement's range. Indices are still checked, as a second guard.
        @inline(__always)
        func longestMatch(_ pointer: UnsafePointer<UInt8>, _ available: Int) -> (length: Int, replacement: Range<Int>)? {
            guard unitCount > 0 else { return nil }
            @inline(__always) func offset(_ unit: UInt32) -> Int { Int((unit >> 10) << ((unit & (1 << 9)) >> 6)) }
            var node = offset(units[0])
            var best: (length: Int, value: Int)? = nil
            var found = 0
            for index in 0..<available {
                if found == 32 { break }
                let label = pointer[index]
                node ^= Int(label)
                guard node < unitCount else { break }
                let unit = units[node]
                // A leaf's label has the top bit set, so it never equals a byte.
                guard unit & ((1 << 31) | 0xFF) == UInt32(label) else { break }
                node ^= offset(unit)
                if (unit >> 8) & 1 == 1 {
                    guard node < unitCount else { break }
                    best = (index + 1, Int(units[node] & ((1 << 31) - 1)))
                    found += 1
                }
            }
            guard let best, best.value < replacementCount else { return nil }
            let start = best.value
            var end = start
            while end < replacementCount, replacements[end] != 0 { end += 1 }
            return (best.length, start..<end)
        }
    }

    /// sentencepiece's `Normalizer`: charsmap normalization, whitespace cleanup, the dummy prefix and escaping of
    /// spaces as "▁". Input to `normalize` is valid UTF-8 from encoding, or decoded text for a denormalizer.
    struct Normalizer: Sendable {
        let addDummyPrefix: Bool
        let removeExtraWhitespaces: Bool
        let escapeWhitespaces: Bool
        let treatWhitespaceAsSuffix: Bool
        let charsMap: PrecompiledCharsMap?
        let userDefined: UserDefinedMatcher?

        init(spec: NormalizerSpec, treatWhitespaceAsSuffix: Bool, userDefined: UserDefinedMatcher?, file: String) throws {
            addDummyPrefix = spec.addDummyPrefix
            removeExtraWhitespaces = spec.removeExtraWhitespaces
            escapeWhitespaces = spec.escapeWhitespaces
            self.treatWhitespaceAsSuffix = treatWhitespaceAsSuffix
            charsMap = spec.precompiledCharsMap.isEmpty ? nil : try PrecompiledCharsMap(spec.precompiledCharsMap, file: file)
            self.userDefined = userDefined
        }

        /// Whether normalized text is valid UTF-8 whenever the input is.
        var preservesValidUTF8: Bool { charsMap?.replacementsAreValidUTF8 ?? true }

        func normalize(_ input: UnsafeBufferPointer<UInt8>) -> [UInt8] {
            guard let base = input.baseAddress, !input.isEmpty else { return [] }
            if charsMap == nil && userDefined == nil { return normalizeWithoutRules(base, input.count) }
            return normalizeWithRules(base, input.count)
        }

        private static let replacementCharacter: [UInt8] = [0xEF, 0xBF, 0xBD]

        /// The general path, unit by unit as sentencepiece's `NormalizePrefix` cuts the input: a user-defined
        /// piece (kept as is), else the longest charsmap key (replaced), else one character (kept), else one
        /// invalid byte (U+FFFD).
        private func normalizeWithRules(_ input: UnsafePointer<UInt8>, _ count: Int) -> [UInt8] {
            Self.replacementCharacter.withUnsafeBufferPointer { replacementBuffer in
                let replacementBase = replacementBuffer.baseAddress!
                let userDefined = self.userDefined, charsMap = self.charsMap
                // The next unit: its normalized bytes and how many input bytes it consumed.
                func unit(at position: Int) -> (UnsafePointer<UInt8>, Int, consumed: Int) {
                    let pointer = input + position, available = count - position
                    if let userDefined, let length = userDefined.longestMatch(pointer, available) {
                        return (pointer, length, length)
                    }
                    if let charsMap {
                        let lead = pointer[0]
                        if lead < 0x80 && charsMap.keylessASCII[Int(lead)] { return (pointer, 1, 1) }
                        if let match = charsMap.longestMatch(pointer, available) {
                            return (charsMap.replacements + match.replacement.lowerBound, match.replacement.count, match.length)
                        }
                    }
                    if let length = validUTF8Length(pointer, available) { return (pointer, length, length) }
                    return (replacementBase, 3, 1)
                }

                var position = 0
                if removeExtraWhitespaces {
                    // Leading units that normalize to exactly one space are dropped.
                    while position < count {
                        let (bytes, length, consumed) = unit(at: position)
                        guard length == 1, bytes[0] == 0x20 else { break }
                        position += consumed
                    }
                }
                if position == count { return [] }

                var output: [UInt8] = []
                output.reserveCapacity((count - position) * 3 + 6)
                func appendSpace() {
                    if escapeWhitespaces {
                        output.append(spaceSymbol.0); output.append(spaceSymbol.1); output.append(spaceSymbol.2)
                    } else {
                        output.append(0x20)
                    }
                }
                if !treatWhitespaceAsSuffix && addDummyPrefix { appendSpace() }
                var previousWasSpace = removeExtraWhitespaces
                while position < count {
                    var (bytes, length, consumed) = unit(at: position)
                    if previousWasSpace {
                        while length > 0 && bytes[0] == 0x20 { bytes += 1; length -= 1 }
                    }
                    if length > 0 {
                        for index in 0..<length {
                            if escapeWhitespaces && bytes[index] == 0x20 { appendSpace() } else { output.append(bytes[index]) }
                        }
                        previousWasSpace = bytes[length - 1] == 0x20
                    }
                    position += consumed
                    if !removeExtraWhitespaces { previousWasSpace = false }
                }
                if removeExtraWhitespaces { removeTrailingSpaces(&output) }
                if treatWhitespaceAsSuffix && addDummyPrefix { appendSpace() }
                return output
            }
        }

        /// sentencepiece strips trailing spaces from the normalized text, so a "▁" typed in the input goes too.
        private func removeTrailingSpaces(_ output: inout [UInt8]) {
            if escapeWhitespaces {
                while output.count >= 3, output[output.count - 3] == spaceSymbol.0, output[output.count - 2] == spaceSymbol.1,
                      output[output.count - 1] == spaceSymbol.2 {
                    output.removeLast(3)
                }
            } else {
                while output.last == 0x20 { output.removeLast() }
            }
        }

        /// Without a charsmap or user-defined pieces every unit is one character kept as is, and only the ASCII
        /// space is special, so valid UTF-8 can be processed byte by byte.
        private func normalizeWithoutRules(_ input: UnsafePointer<UInt8>, _ count: Int) -> [UInt8] {
            var position = 0
            if removeExtraWhitespaces {
                while position < count && input[position] == 0x20 { position += 1 }
                if position == count { return [] }
            }
            let capacity = (count - position) * 3 + 6
            var output = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, initializedCount in
                let out = buffer.baseAddress!
                var written = 0
                @inline(__always) func writeSpace() {
                    if escapeWhitespaces {
                        out[written] = spaceSymbol.0; out[written + 1] = spaceSymbol.1; out[written + 2] = spaceSymbol.2
                        written += 3
                    } else {
                        out[written] = 0x20
                        written += 1
                    }
                }
                if !treatWhitespaceAsSuffix && addDummyPrefix { writeSpace() }
                if removeExtraWhitespaces {
                    var previousWasSpace = true
                    while position < count {
                        let byte = input[position]
                        position += 1
                        if byte == 0x20 {
                            if !previousWasSpace { writeSpace(); previousWasSpace = true }
                        } else {
                            out[written] = byte
                            written += 1
                            previousWasSpace = false
                        }
                    }
                } else if escapeWhitespaces {
                    while position < count {
                        let byte = input[position]
                        position += 1
                        if byte == 0x20 { writeSpace() } else { out[written] = byte; written += 1 }
                    }
                } else {
                    out.advanced(by: written).update(from: input + position, count: count - position)
                    written += count - position
                }
                initializedCount = written
            }
            if removeExtraWhitespaces { removeTrailingSpaces(&output) }
            if treatWhitespaceAsSuffix && addDummyPrefix {
                if escapeWhitespaces { output.append(contentsOf: [spaceSymbol.0, spaceSymbol.1, spaceSymbol.2]) } else { output.append(0x20) }
            }
            return output
        }
    }
}

/// GPT-2's byte-to-character table: printable bytes stand for themselves, the others map to U+0100 onwards, so every
/// byte string has a printable spelling (`Ġ` is a space).
enum ByteLevelAlphabet {
    static let characterOfByte: [Unicode.Scalar] = {
        var printable = Array(33...126) + Array(161...172) + Array(174...255)
        var characters = [Unicode.Scalar](repeating: " ", count: 256)
        let printableSet = Set(printable)
        var extra = 0
        for byte in 0..<256 {
            if printableSet.contains(byte) {
                characters[byte] = Unicode.Scalar(UInt32(byte))!
            } else {
                characters[byte] = Unicode.Scalar(UInt32(256 + extra))!
                extra += 1
            }
        }
        printable.removeAll()
        return characters
    }()

    /// The UTF-8 of each byte's character.
    static let utf8OfCharacter: [[UInt8]] = characterOfByte.map { Array(String($0).utf8) }

    static let byteOfCharacter: [UInt32: UInt8] = {
        var table: [UInt32: UInt8] = [:]
        for (byte, character) in characterOfByte.enumerated() { table[character.value] = UInt8(byte) }
        return table
    }()

    /// The raw bytes a byte-level token string spells, or nil if it holds a character outside the alphabet.
    static func bytes(of token: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(token.unicodeScalars.count)
        for scalar in token.unicodeScalars {
            let value = scalar.value
            // Fast path: the printable ASCII range maps to itself.
            if value >= 33, value <= 126 { bytes.append(UInt8(value)); continue }
            guard let byte = byteOfCharacter[value] else { return nil }
            bytes.append(byte)
        }
        return bytes
    }

    /// The byte-level spelling of raw bytes.
    static func spelling(of bytes: some Sequence<UInt8>) -> String {
        var scalars = String.UnicodeScalarView()
        for byte in bytes { scalars.append(characterOfByte[Int(byte)]) }
        return String(scalars)
    }
}

/// Text as an array of Unicode scalar values (Python `str` indexing), and back.
enum ScalarText {
    static func scalars(of text: String) -> [UInt32] {
        var result: [UInt32] = []
        result.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars { result.append(scalar.value) }
        return result
    }

    static func string(_ scalars: ArraySlice<UInt32>) -> String {
        var length = 0
        for c in scalars { length += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4 }
        return String(unsafeUninitializedCapacity: length) { buffer in
            var written = 0
            for c in scalars { written += utf8Encode(c, into: buffer.baseAddress! + written) }
            return written
        }
    }

    /// Python's `str.lower()` of the scalars, as UTF-8.
    static func lowercasedUTF8(_ scalars: ArraySlice<UInt32>) -> [UInt8] {
        if scalars.allSatisfy({ $0 < 0x80 }) {
            return scalars.map { c in UInt8(c >= 0x41 && c <= 0x5A ? c | 0x20 : c) }
        }
        return Array(PythonText.lowercased(string(scalars)).utf8)
    }
}

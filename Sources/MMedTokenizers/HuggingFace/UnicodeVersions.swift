/// HF `tokenizers` takes its character data from crates frozen at older Unicode versions than Swift's (Unicode 17
/// in Swift 6.3): characters encoded later have no properties there. They are "unknown" to that component:
/// - `unicode-normalization-alignments` (NFC/NFD/NFKC/NFKD, StripAccents' combining marks): Unicode 9.0, so a later
///   character neither decomposes, composes nor reorders;
/// - `unicode_categories` (BertNormalizer's control characters and non-spacing marks, the Punctuation and
///   BertPreTokenizer punctuation): Unicode 8.0;
/// - Rust's `regex` (the Whitespace pre-tokenizer's `\w`, added tokens' `single_word`): Unicode 16.0.
/// (Rust's `char` methods — lowercase, whitespace, numeric — are as recent as Swift's.)
enum HFUnicode {
    /// Characters assigned after Unicode `major.minor`, one bit each.
    final class NewerThan: Sendable {
        private let bits: [UInt64]

        init(_ major: Int, _ minor: Int) {
            var bits = [UInt64](repeating: 0, count: 0x110000 / 64)
            for value in 0..<0x110000 {
                guard let scalar = Unicode.Scalar(UInt32(value)), let age = scalar.properties.age else { continue }
                if age.major > major || (age.major == major && age.minor > minor) { bits[value >> 6] |= 1 << UInt64(value & 63) }
            }
            self.bits = bits
        }

        @inline(__always)
        func contains(_ scalar: Unicode.Scalar) -> Bool {
            let value = Int(scalar.value)
            return bits[value >> 6] & (1 << UInt64(value & 63)) != 0
        }
    }

    static let normalization = NewerThan(9, 0)
    static let categories = NewerThan(8, 0)
    static let regex = NewerThan(16, 0)
}

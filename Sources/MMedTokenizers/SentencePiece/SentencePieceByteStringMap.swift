import Foundation

extension SentencePieceTokenizer {
    /// A read-only copy of an array in memory this object owns, readable through a plain pointer. Hot loops index
    /// `pointer` directly instead of going through an Array (no bounds checks, no retain of the array buffer).
    ///
    /// `@unchecked Sendable` is safe: the memory is allocated and written only in `init` and freed only in `deinit`;
    /// in between nothing writes it (the pointer is exposed as `UnsafePointer`), so concurrent readers cannot race.
    final class FrozenBuffer<Element: BitwiseCopyable>: @unchecked Sendable {
        let pointer: UnsafePointer<Element>
        let count: Int

        init(_ elements: [Element]) {
            // One element at least, so that `pointer` is valid even for an empty array.
            let memory = UnsafeMutablePointer<Element>.allocate(capacity: max(1, elements.count))
            elements.withUnsafeBufferPointer { source in
                if let base = source.baseAddress { memory.initialize(from: base, count: source.count) }
            }
            pointer = UnsafePointer(memory)
            count = elements.count
        }

        deinit { UnsafeMutablePointer(mutating: pointer).deallocate() }

        @inline(__always) subscript(index: Int) -> Element { pointer[index] }
    }

    /// An open-addressing hash map from byte strings to `Int32`, built once at load. Lookups take a pointer and a
    /// length, so encoding never builds a key object.
    ///
    /// Lookups are bound by memory latency (BPE makes a few per character, most of them misses), so a slot holds
    /// everything a lookup of a key of up to 8 bytes needs: the key's bytes, its length, a hash tag and the value.
    /// Only longer keys are also compared with the key blob.
    struct ByteStringMap: Sendable {
        struct Key {
            var start: Int32
            var length: Int32
            var value: Int32
        }
        struct Slot {
            /// The key's first (up to) 8 bytes, little-endian, zero-padded.
            var prefix: UInt64
            /// High 24 bits: hash bits; low 8 bits: the key length (255 for 255 or more). 0 marks an empty slot.
            var tagAndLength: UInt32
            var value: Int32
        }

        // The owners of the memory, and plain pointers into it for the lookups (reading a pointer out of a struct
        // costs no reference counting; the owners keep the memory alive as long as the map exists). The pointers
        // are `nonisolated(unsafe)` because UnsafePointer is not Sendable; sharing them is safe: they point into
        // memory that their owner (a `FrozenBuffer` held by the same struct) wrote once in `init` and never writes
        // again, so concurrent readers cannot race.
        private let blobOwner: FrozenBuffer<UInt8>
        private let slotsOwner: FrozenBuffer<Slot>
        private let slotKeyStartsOwner: FrozenBuffer<Int32>
        nonisolated(unsafe) private let blob: UnsafePointer<UInt8>
        nonisolated(unsafe) private let slots: UnsafePointer<Slot>
        /// Where each slot's key starts in `blob` (read only for keys longer than 8 bytes).
        nonisolated(unsafe) private let slotKeyStarts: UnsafePointer<Int32>
        private let slotShift: UInt64
        private let slotMask: Int
        /// The longest key in bytes: a longer string cannot be in the map.
        let longestKey: Int
        let count: Int
        /// Indices (into the `keys` given to `init`) of keys that were already present; the first one wins.
        let duplicateKeys: [Int]

        /// Builds the map. `keys` are ranges of `blob`; a key that repeats an earlier one is left out and listed
        /// in `duplicateKeys`.
        init(blob: [UInt8], keys: [Key]) {
            var slotCount = 8
            while slotCount < keys.count * 2 { slotCount <<= 1 }   // load factor at most 1/2
            let shift = UInt64(64 - slotCount.trailingZeroBitCount)
            var slots = [Slot](repeating: Slot(prefix: 0, tagAndLength: 0, value: 0), count: slotCount)
            var keyStarts = [Int32](repeating: 0, count: slotCount)
            var duplicates: [Int] = []
            var longest = 0, stored = 0
            blob.withUnsafeBufferPointer { bytes in
                let base = bytes.baseAddress ?? UnsafePointer(bitPattern: 1)!
                for (index, key) in keys.enumerated() {
                    let keyPointer = base + Int(key.start), length = Int(key.length)
                    guard length > 0 else { continue }   // never looked up (see `value`)
                    let (hash, prefix) = Self.hashAndPrefix(keyPointer, length)
                    let tagAndLength = Self.tagAndLength(hash, length)
                    var slot = Int(truncatingIfNeeded: hash >> shift)
                    var isDuplicate = false
                    while slots[slot].tagAndLength != 0 {
                        if slots[slot].tagAndLength == tagAndLength, slots[slot].prefix == prefix,
                           memcmp(base + Int(keyStarts[slot]), keyPointer, length) == 0 {
                            isDuplicate = true
                            break
                        }
                        slot = (slot + 1) & (slotCount - 1)
                    }
                    if isDuplicate { duplicates.append(index); continue }
                    slots[slot] = Slot(prefix: prefix, tagAndLength: tagAndLength, value: key.value)
                    keyStarts[slot] = key.start
                    stored += 1
                    longest = max(longest, length)
                }
            }
            blobOwner = FrozenBuffer(blob)
            slotsOwner = FrozenBuffer(slots)
            slotKeyStartsOwner = FrozenBuffer(keyStarts)
            self.blob = blobOwner.pointer
            self.slots = slotsOwner.pointer
            self.slotKeyStarts = slotKeyStartsOwner.pointer
            self.slotShift = shift
            self.slotMask = slotCount - 1
            self.longestKey = longest
            self.count = stored
            self.duplicateKeys = duplicates
        }

        @inline(__always)
        private static func tagAndLength(_ hash: UInt64, _ length: Int) -> UInt32 {
            UInt32(truncatingIfNeeded: hash) & 0xFFFF_FF00 | UInt32(min(length, 255))
        }

        /// The value stored for the `length` bytes at `pointer`, or nil.
        @inline(__always)
        func value(_ pointer: UnsafePointer<UInt8>, _ length: Int) -> Int32? {
            if length > longestKey || length == 0 { return nil }
            let (hash, prefix) = Self.hashAndPrefix(pointer, length)
            let wanted = Self.tagAndLength(hash, length)
            var slot = Int(truncatingIfNeeded: hash >> slotShift)
            while true {
                let candidate = slots[slot]
                if candidate.tagAndLength == 0 { return nil }
                if candidate.tagAndLength == wanted && candidate.prefix == prefix
                    && (length <= 8 || tailMatches(slot, pointer, length)) {
                    return candidate.value
                }
                slot = (slot + 1) & slotMask
            }
        }

        /// Whether the key in `slot` equals `pointer[0..<length]` past the first 8 bytes (kept out of line: rare).
        @inline(never)
        private func tailMatches(_ slot: Int, _ pointer: UnsafePointer<UInt8>, _ length: Int) -> Bool {
            Self.bytesEqual(blob + Int(slotKeyStarts[slot]) + 8, pointer + 8, length - 8)
        }

        @inline(__always)
        private static func bytesEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ length: Int) -> Bool {
            // Keys are short (a piece is rarely over 16 bytes); a word-wise loop beats a call to memcmp.
            var index = 0
            let rawA = UnsafeRawPointer(a), rawB = UnsafeRawPointer(b)
            while index + 8 <= length {
                if rawA.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                    != rawB.loadUnaligned(fromByteOffset: index, as: UInt64.self) { return false }
                index += 8
            }
            while index < length {
                if a[index] != b[index] { return false }
                index += 1
            }
            return true
        }

        /// A multiply-xorshift hash of the bytes, and their first (up to) 8 bytes as a zero-padded little-endian
        /// word. No byte past `length` is read: short keys are assembled from overlapping loads inside the key.
        @inline(__always)
        static func hashAndPrefix(_ pointer: UnsafePointer<UInt8>, _ length: Int) -> (hash: UInt64, prefix: UInt64) {
            let multiplier: UInt64 = 0x9E37_79B9_7F4A_7C15
            let raw = UnsafeRawPointer(pointer)
            let prefix: UInt64
            if length >= 8 {
                prefix = UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self))
            } else if length >= 4 {
                let low = UInt64(UInt32(littleEndian: raw.loadUnaligned(as: UInt32.self)))
                let high = UInt64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: length - 4, as: UInt32.self)))
                prefix = low | high << UInt64((length - 4) * 8)
            } else {
                let middle = length / 2
                prefix = UInt64(pointer[0]) | UInt64(pointer[middle]) << UInt64(middle * 8)
                    | UInt64(pointer[length - 1]) << UInt64((length - 1) * 8)
            }
            var state = (prefix ^ UInt64(truncatingIfNeeded: length)) &* multiplier
            var index = 8
            while index < length {
                // Whole words while they fit; the last one ends at the key's end (overlapping the one before).
                let word = index + 8 <= length
                    ? raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                    : raw.loadUnaligned(fromByteOffset: length - 8, as: UInt64.self)
                state = (state ^ (state >> 29) ^ word) &* multiplier
                index += 8
            }
            state ^= state >> 32
            state &*= 0xD6E8_FEB8_6659_FD93
            state ^= state >> 29
            return (state, prefix)
        }
    }
}

/// Token byte strings and a hash index from bytes to id, in two flat arrays: no per-token allocation, so a
/// 128k-token vocabulary loads in milliseconds and a lookup is one hash and one `memcmp`.
struct TokenTable: Sendable {
    /// All token bytes back to back; token `id` is `storage[offsets[id] ..< offsets[id + 1]]`.
    private(set) var storage: [UInt8] = []
    private(set) var offsets: [Int32] = [0]
    /// Open addressing: slot holds id + 1 (0 = empty). Power-of-two size, at most half full.
    private var slots: [UInt32] = []
    private var hashes: [UInt32] = []
    private var mask = 0

    var count: Int { offsets.count - 1 }

    /// Builds from byte strings indexed by id; `nil` marks an id with no bytes (it is never found by lookup).
    init<S: Sequence>(tokens: S, count: Int) where S.Element == [UInt8]? {
        var present = [Bool]()
        present.reserveCapacity(count)
        offsets.reserveCapacity(count + 1)
        for token in tokens {
            if let token { storage.append(contentsOf: token) }
            offsets.append(Int32(storage.count))
            present.append(token != nil)
        }
        var size = 16
        while size < count * 2 { size <<= 1 }
        slots = [UInt32](repeating: 0, count: size)
        hashes = [UInt32](repeating: 0, count: size)
        mask = size - 1
        storage.withUnsafeBufferPointer { all in
            for id in 0..<self.count where present[id] {
                let bytes = UnsafeBufferPointer(rebasing: all[Int(offsets[id])..<Int(offsets[id + 1])])
                let hash = TokenTable.hash(bytes)
                var slot = Int(hash) & mask
                // The first id wins for duplicate byte strings, as a dictionary built in id order would keep.
                var duplicate = false
                while slots[slot] != 0 {
                    if hashes[slot] == hash, equal(Int(slots[slot]) - 1, bytes, all) { duplicate = true; break }
                    slot = (slot + 1) & mask
                }
                if !duplicate { slots[slot] = UInt32(id + 1); hashes[slot] = hash }
            }
        }
    }

    private func equal(_ id: Int, _ bytes: UnsafeBufferPointer<UInt8>, _ all: UnsafeBufferPointer<UInt8>) -> Bool {
        let start = Int(offsets[id]), end = Int(offsets[id + 1])
        guard end - start == bytes.count else { return false }
        if bytes.isEmpty { return true }
        return memcmp(all.baseAddress! + start, bytes.baseAddress!, bytes.count) == 0
    }

    /// The id whose bytes are exactly `bytes`, if any.
    @inline(__always)
    func lookup(_ bytes: UnsafeBufferPointer<UInt8>) -> Int32? {
        let hash = TokenTable.hash(bytes)
        return slots.withUnsafeBufferPointer { slots in
            hashes.withUnsafeBufferPointer { hashes in
                storage.withUnsafeBufferPointer { all in
                    var slot = Int(hash) & mask
                    while true {
                        let entry = slots[slot]
                        if entry == 0 { return nil }
                        if hashes[slot] == hash, equal(Int(entry) - 1, bytes, all) { return Int32(entry - 1) }
                        slot = (slot + 1) & mask
                    }
                }
            }
        }
    }

    func lookup(_ bytes: [UInt8]) -> Int32? { bytes.withUnsafeBufferPointer { lookup($0) } }

    /// The bytes of token `id`.
    func bytes(of id: Int) -> ArraySlice<UInt8> { storage[Int(offsets[id])..<Int(offsets[id + 1])] }

    func byteCount(of id: Int) -> Int { Int(offsets[id + 1] - offsets[id]) }

    /// A fast 32-bit hash of short byte strings (8 bytes per step, multiply-xorshift mixing).
    @inline(__always)
    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(bytes.count)
        guard let base = bytes.baseAddress else { return UInt32(truncatingIfNeeded: h >> 32) }
        let raw = UnsafeRawPointer(base)
        var index = 0
        let count = bytes.count
        while index + 8 <= count {
            let word = raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            h = (h ^ word) &* 0xFF51_AFD7_ED55_8CCD
            h ^= h >> 32
            index += 8
        }
        if index < count {
            var word: UInt64 = 0
            var shift: UInt64 = 0
            while index < count { word |= UInt64(base[index]) << shift; shift += 8; index += 1 }
            h = (h ^ word) &* 0xFF51_AFD7_ED55_8CCD
            h ^= h >> 32
        }
        h = h &* 0xC4CE_B9FE_1A85_EC53
        return UInt32(truncatingIfNeeded: h >> 29)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Merge ranks by pair of ids, for BPE models that list their merges (tokenizer.json): open addressing on the
/// packed pair.
struct PairTable: Sendable {
    private var keys: [UInt64] = []
    private var values: [UInt64] = []  // rank << 32 | merged id
    private var mask = 0
    private static let empty = UInt64.max

    init(count: Int) {
        var size = 16
        while size < count * 2 { size <<= 1 }
        keys = [UInt64](repeating: PairTable.empty, count: size)
        values = [UInt64](repeating: 0, count: size)
        mask = size - 1
    }

    @inline(__always)
    private static func slot(_ key: UInt64, _ mask: Int) -> Int {
        var h = key &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 29
        return Int(truncatingIfNeeded: h) & mask
    }

    /// Adds a merge; the first listing of a pair (the lowest rank) wins, as in HF tokenizers.
    mutating func insert(left: UInt32, right: UInt32, rank: UInt32, merged: UInt32) {
        let key = UInt64(left) << 32 | UInt64(right)
        var slot = PairTable.slot(key, mask)
        while keys[slot] != PairTable.empty {
            if keys[slot] == key { return }
            slot = (slot + 1) & mask
        }
        keys[slot] = key
        values[slot] = UInt64(rank) << 32 | UInt64(merged)
    }

    /// Runs `body` with a lookup function that reads the table through raw pointers (no per-call array access).
    @inline(__always)
    func withLookup<R>(_ body: ((UInt32, UInt32) -> (rank: UInt32, merged: UInt32)?) -> R) -> R {
        keys.withUnsafeBufferPointer { keys in
            values.withUnsafeBufferPointer { values in
                let mask = self.mask
                return body { left, right in
                    let key = UInt64(left) << 32 | UInt64(right)
                    var slot = PairTable.slot(key, mask)
                    while true {
                        let stored = keys[slot]
                        if stored == key {
                            let value = values[slot]
                            return (UInt32(value >> 32), UInt32(truncatingIfNeeded: value))
                        }
                        if stored == PairTable.empty { return nil }
                        slot = (slot + 1) & mask
                    }
                }
            }
        }
    }

    @inline(__always)
    func lookup(left: UInt32, right: UInt32) -> (rank: UInt32, merged: UInt32)? {
        let key = UInt64(left) << 32 | UInt64(right)
        return keys.withUnsafeBufferPointer { keys in
            var slot = PairTable.slot(key, mask)
            while true {
                let stored = keys[slot]
                if stored == key {
                    let value = values[slot]
                    return (UInt32(value >> 32), UInt32(truncatingIfNeeded: value))
                }
                if stored == PairTable.empty { return nil }
                slot = (slot + 1) & mask
            }
        }
    }
}

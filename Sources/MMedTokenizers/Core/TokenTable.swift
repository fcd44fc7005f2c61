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

/// Merge ranks by pair of ids, for BPE models that list their merges (tokenizer.json), and for tiktoken (see
/// `TiktokenTokenizer.pairsOfConcatenation`): open addressing on the packed pair, key and value side by side in one
/// array, so a lookup touches one cache line (the table is tens of megabytes: lookups are cache misses).
struct PairTable: Sendable {
    /// slot i: entries[2i] = key (left << 32 | right), entries[2i + 1] = rank << 32 | merged id.
    private var entries: [UInt64] = []
    private var mask = 0
    private(set) var count = 0
    private static let empty = UInt64.max
    /// Per left id, 64 bits of a hash of the right ids it merges with: most pairs that do not merge are turned away
    /// here, in a table small enough for the L2 cache, without touching `entries`.
    private var filter: [UInt64] = []

    @inline(__always)
    private static func filterBit(_ right: UInt32) -> UInt64 { 1 << ((UInt64(right) &* 0x9E37_79B9_7F4A_7C15) >> 58) }

    /// A table for `count` pairs, at most a third full: most lookups are of pairs that do not merge, and misses
    /// probe until an empty slot.
    init(count: Int) {
        var size = 16
        while size < count * 3 { size <<= 1 }
        entries = [UInt64](repeating: PairTable.empty, count: size * 2)
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
        while entries[2 * slot] != PairTable.empty {
            if entries[2 * slot] == key { return }
            slot = (slot + 1) & mask
        }
        entries[2 * slot] = key
        entries[2 * slot + 1] = UInt64(rank) << 32 | UInt64(merged)
        count += 1
        if Int(left) >= filter.count { filter.append(contentsOf: repeatElement(0, count: Int(left) + 1 - filter.count)) }
        filter[Int(left)] |= PairTable.filterBit(right)
    }

    /// Runs `body` with a lookup function that reads the table through a raw pointer.
    @inline(__always)
    func withLookup<R>(_ body: ((UInt32, UInt32) -> (rank: UInt32, merged: UInt32)?) -> R) -> R {
        entries.withUnsafeBufferPointer { entries in filter.withUnsafeBufferPointer { filter in
            let mask = self.mask
            let base = entries.baseAddress!
            let filterCount = UInt32(filter.count)
            return body { left, right in
                guard left < filterCount, filter[Int(left)] & PairTable.filterBit(right) != 0 else { return nil }
                let key = UInt64(left) << 32 | UInt64(right)
                var slot = PairTable.slot(key, mask)
                while true {
                    let stored = base[2 * slot]
                    if stored == key {
                        let value = base[2 * slot + 1]
                        return (UInt32(value >> 32), UInt32(truncatingIfNeeded: value))
                    }
                    if stored == PairTable.empty { return nil }
                    slot = (slot + 1) & mask
                }
            }
        } }
    }

    func lookup(left: UInt32, right: UInt32) -> (rank: UInt32, merged: UInt32)? { withLookup { $0(left, right) } }
}

import Foundation
import Synchronization

extension SentencePieceTokenizer {
    /// One piece of a BPE segment's result: its byte length and the id the model gives it.
    struct BPEPiece {
        var length: Int32
        var id: Int32
    }

    /// A memo of BPE segments (words, with their leading "▁") → their pieces. A segment's pieces depend only on its
    /// bytes, and replaying them through the `PieceEmitter` gives exactly what merging it again would; words repeat
    /// so much in text that most segments are found here.
    ///
    /// `@unchecked Sendable` is safe: a cache is only ever used by one `encode` at a time. It is taken out of the
    /// tokenizer's `BPEWordCachePool` under the pool's mutex, used by that call alone, and put back under the mutex
    /// (which orders the writes of one user before the reads of the next); no reference to it is kept elsewhere.
    final class BPEWordCache: @unchecked Sendable {
        /// Longer segments (rare) are not cached.
        static let longestSegment = 64
        /// When either limit is reached the cache starts over (3 MB in all: enough for the distinct words of a
        /// few MB of English, and the frequent ones come back at once after a restart).
        private static let slotBits = 16
        private static let slotCount = 1 << slotBits
        private static let maximumEntries = slotCount / 2
        private static let arenaCapacity = 2 << 20

        struct Slot {
            /// Hash bits, never 0 (0 marks an empty slot).
            var tag: UInt32
            /// The entry's offset in `arena`: the key bytes, padded to 8 bytes, then its pieces.
            var offset: UInt32
            var keyLength: UInt16
            var pieceCount: UInt16
        }

        private let slots: UnsafeMutablePointer<Slot>
        private let arena: UnsafeMutableRawPointer
        private var arenaUsed = 0
        private var entries = 0

        init() {
            slots = .allocate(capacity: Self.slotCount)
            slots.initialize(repeating: Slot(tag: 0, offset: 0, keyLength: 0, pieceCount: 0), count: Self.slotCount)
            arena = .allocate(byteCount: Self.arenaCapacity, alignment: 8)
        }

        deinit {
            slots.deallocate()
            arena.deallocate()
        }

        /// Where the pieces stored for the `length` bytes at `key` are (read them with `piece(_:at:)`) and how many,
        /// or the empty slot where they would go.
        @inline(__always)
        func find(_ key: UnsafePointer<UInt8>, _ length: Int) -> (pieces: UnsafeRawPointer?, count: Int, slot: Int, tag: UInt32) {
            let hash = ByteStringMap.hashAndPrefix(key, length).hash
            let tag = UInt32(truncatingIfNeeded: hash) | 1
            var slot = Int(truncatingIfNeeded: hash >> UInt64(64 - Self.slotBits))
            while true {
                let entry = slots[slot]
                if entry.tag == 0 { return (nil, 0, slot, tag) }
                if entry.tag == tag && Int(entry.keyLength) == length
                    && Self.bytesEqual(UnsafeRawPointer(arena + Int(entry.offset)), UnsafeRawPointer(key), length) {
                    return (UnsafeRawPointer(arena + Int(entry.offset) + Self.paddedLength(length)), Int(entry.pieceCount), slot, tag)
                }
                slot = (slot + 1) & (Self.slotCount - 1)
            }
        }

        @inline(__always)
        private static func paddedLength(_ length: Int) -> Int { (length + 7) & ~7 }

        /// Word-wise comparison; segments are short, so this beats a call to memcmp.
        @inline(__always)
        private static func bytesEqual(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ length: Int) -> Bool {
            var index = 0
            while index + 8 <= length {
                if a.loadUnaligned(fromByteOffset: index, as: UInt64.self) != b.loadUnaligned(fromByteOffset: index, as: UInt64.self) {
                    return false
                }
                index += 8
            }
            while index < length {
                if a.load(fromByteOffset: index, as: UInt8.self) != b.load(fromByteOffset: index, as: UInt8.self) { return false }
                index += 1
            }
            return true
        }

        /// The `index`th piece of an entry `find` returned. (The arena is raw memory holding key bytes and pieces;
        /// pieces are read and written with raw loads and stores, never through a typed binding.)
        @inline(__always)
        static func piece(_ pieces: UnsafeRawPointer, at index: Int) -> BPEPiece {
            pieces.load(fromByteOffset: index * MemoryLayout<BPEPiece>.stride, as: BPEPiece.self)
        }

        /// Stores a segment's pieces at the empty slot `find` returned. When the cache is full it is emptied first,
        /// and the entry goes wherever it now hashes to.
        func store(slot: Int, tag: UInt32, key: UnsafePointer<UInt8>, length: Int, pieces: [BPEPiece]) {
            guard length <= Self.longestSegment, pieces.count <= Int(UInt16.max) else { return }
            let size = Self.paddedLength(length) + pieces.count * MemoryLayout<BPEPiece>.stride
            var slot = slot
            if entries >= Self.maximumEntries || arenaUsed + size > Self.arenaCapacity {
                slots.update(repeating: Slot(tag: 0, offset: 0, keyLength: 0, pieceCount: 0), count: Self.slotCount)
                entries = 0
                arenaUsed = 0
                slot = find(key, length).slot
            }
            let offset = arenaUsed
            (arena + offset).copyMemory(from: key, byteCount: length)
            let piecesStart = arena + offset + Self.paddedLength(length)
            for (index, piece) in pieces.enumerated() {
                piecesStart.storeBytes(of: piece, toByteOffset: index * MemoryLayout<BPEPiece>.stride, as: BPEPiece.self)
            }
            slots[slot] = Slot(tag: tag, offset: UInt32(offset), keyLength: UInt16(length), pieceCount: UInt16(pieces.count))
            arenaUsed += size
            entries += 1
        }
    }

    /// The caches of one tokenizer, handed out one per running `encode`: no locking while encoding, and no sharing
    /// of a cache between threads. The pool keeps at most as many caches as there have been concurrent encodes.
    final class BPEWordCachePool: Sendable {
        private let idle = Mutex<[BPEWordCache]>([])

        func take() -> BPEWordCache {
            idle.withLock { $0.popLast() } ?? BPEWordCache()
        }

        func giveBack(_ cache: BPEWordCache) {
            idle.withLock { caches in
                // More than this many concurrent encodes are rare; their extra caches are dropped.
                if caches.count < 64 { caches.append(cache) }
            }
        }
    }
}

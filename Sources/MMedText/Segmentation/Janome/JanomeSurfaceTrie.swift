/// The system dictionary's surfaces as a trie over Unicode scalars, to answer the question janome asks its FST at
/// every position: which dictionary entries are prefixes of the text here. janome's FST maps each surface's UTF-8 to
/// the entry ids with that surface; a trie built from the entries' own surfaces holds the same map (checked for
/// janome 0.5.1: 325,872 surfaces, 392,127 ids, no difference), and a byte prefix of valid UTF-8 that is itself a
/// whole surface is a scalar prefix, so both find the same entries.
///
/// Edges live in one open-addressing hash table keyed by (parent node, scalar), which builds in one pass over the
/// entries and needs no sorting; the entries ending at each node are a slice of one id array.
struct JanomeSurfaceTrie: Sendable {
    /// `parent << 21 | scalar`, plus one so that zero marks an empty slot.
    private let edgeKeys: [UInt64]
    private let edgeChildren: [UInt32]
    private let shift: UInt64
    /// Entry ids ending at node `n` are `entryIds[entryStarts[n] ..< entryStarts[n + 1]]`, in increasing order.
    private let entryStarts: [UInt32]
    private let entryIds: [UInt32]

    static let root: UInt32 = 0

    /// The node reached from `node` by `scalar`, if the dictionary has a surface that continues that way.
    @inline(__always)
    func child(of node: UInt32, scalar: UInt32) -> UInt32? {
        let key = (UInt64(node) << 21 | UInt64(scalar)) &+ 1
        var slot = Int(truncatingIfNeeded: (key &* Self.hashMultiplier) >> shift)
        let mask = edgeKeys.count - 1
        while true {
            let stored = edgeKeys[slot]
            if stored == key { return edgeChildren[slot] }
            if stored == 0 { return nil }
            slot = (slot + 1) & mask
        }
    }

    /// The ids of the entries whose surface ends at `node`.
    @inline(__always)
    func entries(at node: UInt32) -> Range<Int> {
        Int(entryStarts[Int(node)])..<Int(entryStarts[Int(node) + 1])
    }

    @inline(__always)
    func entryId(_ index: Int) -> UInt32 { entryIds[index] }

    fileprivate static let hashMultiplier: UInt64 = 0x9E37_79B9_7F4A_7C15

    /// Collects surfaces one entry at a time, then freezes into a trie.
    struct Builder {
        private var edgeKeys: [UInt64]
        private var edgeChildren: [UInt32]
        private var shift: UInt64
        private var edgeCount = 0
        private(set) var nodeCount = 1
        /// The node each entry's surface ends at, by entry id.
        private var terminals: [UInt32]

        init(entryCount: Int) {
            let bits = 20
            edgeKeys = Array(repeating: 0, count: 1 << bits)
            edgeChildren = Array(repeating: 0, count: 1 << bits)
            shift = UInt64(64 - bits)
            terminals = Array(repeating: UInt32.max, count: entryCount)
        }

        /// Whether entry `id` has been given a surface.
        func hasSurface(_ id: Int) -> Bool { terminals[id] != UInt32.max }

        /// Records that entry `id` has the surface `scalars` (not empty).
        mutating func insert<Scalars: Sequence<UInt32>>(_ scalars: Scalars, id: Int) {
            var node = JanomeSurfaceTrie.root
            for scalar in scalars { node = childInserting(node, scalar) }
            terminals[id] = node
        }

        private mutating func childInserting(_ node: UInt32, _ scalar: UInt32) -> UInt32 {
            let key = (UInt64(node) << 21 | UInt64(scalar)) &+ 1
            let mask = edgeKeys.count - 1
            var slot = Int(truncatingIfNeeded: (key &* JanomeSurfaceTrie.hashMultiplier) >> shift)
            while true {
                let stored = edgeKeys[slot]
                if stored == key { return edgeChildren[slot] }
                if stored == 0 { break }
                slot = (slot + 1) & mask
            }
            let child = UInt32(nodeCount)
            nodeCount += 1
            edgeKeys[slot] = key
            edgeChildren[slot] = child
            edgeCount += 1
            // Keep the table at most half full so that probes stay short.
            if edgeCount * 2 > edgeKeys.count { grow() }
            return child
        }

        private mutating func grow() {
            let oldKeys = edgeKeys, oldChildren = edgeChildren
            edgeKeys = Array(repeating: 0, count: oldKeys.count * 2)
            edgeChildren = Array(repeating: 0, count: oldKeys.count * 2)
            shift -= 1
            let mask = edgeKeys.count - 1
            for (key, child) in zip(oldKeys, oldChildren) where key != 0 {
                var slot = Int(truncatingIfNeeded: (key &* JanomeSurfaceTrie.hashMultiplier) >> shift)
                while edgeKeys[slot] != 0 { slot = (slot + 1) & mask }
                edgeKeys[slot] = key
                edgeChildren[slot] = child
            }
        }

        /// The trie; every entry must have a surface.
        func build() -> JanomeSurfaceTrie {
            // Counting sort of the entry ids by terminal node keeps each node's ids in increasing order.
            var starts = Array(repeating: UInt32(0), count: nodeCount + 1)
            for node in terminals { starts[Int(node) + 1] += 1 }
            for n in 0..<nodeCount { starts[n + 1] += starts[n] }
            var next = starts
            var ids = Array(repeating: UInt32(0), count: terminals.count)
            for (id, node) in terminals.enumerated() {
                ids[Int(next[Int(node)])] = UInt32(id)
                next[Int(node)] += 1
            }
            return JanomeSurfaceTrie(
                edgeKeys: edgeKeys, edgeChildren: edgeChildren, shift: shift, entryStarts: starts, entryIds: ids)
        }
    }
}

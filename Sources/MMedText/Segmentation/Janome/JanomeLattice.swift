/// The word lattice of one chunk, filled as janome's `Lattice` is: nodes are added position by position, and each
/// node at once picks its best predecessor among the nodes ending where it starts (Viterbi forward). Positions are
/// Unicode scalar offsets into the chunk; a node covers `start ..< start + length`.
struct JanomeLattice {
    struct Node {
        /// The cost of the best path from BOS through this node.
        var minCost: Int
        var rightId: Int32
        /// The dictionary entry id, or -1 for BOS and unknown words (janome's `Node` rather than `SurfaceNode`).
        var entryNumber: Int32
        var back: Int32
        /// The next node ending at the same position, in insertion order; -1 at the end.
        var nextWithSameEnd: Int32
        var start: Int32
        var length: Int32
    }

    private var nodes: [Node] = []
    /// The first and last node ending at each position (-1: none).
    private var firstEndingAt: [Int32] = []
    private var lastEndingAt: [Int32] = []

    /// janome starts every node's cost at 2^31 - 1 and looks for predecessors below that, less the word cost.
    private static let unreachedCost = 2_147_483_647

    /// Empties the lattice for a chunk of `size` scalars and puts BOS at position 0.
    mutating func reset(size: Int) {
        nodes.removeAll(keepingCapacity: true)
        firstEndingAt.removeAll(keepingCapacity: true)
        lastEndingAt.removeAll(keepingCapacity: true)
        firstEndingAt.append(contentsOf: repeatElement(-1, count: size + 1))
        lastEndingAt.append(contentsOf: repeatElement(-1, count: size + 1))
        nodes.append(Node(minCost: 0, rightId: 0, entryNumber: -1, back: -1, nextWithSameEnd: -1, start: 0, length: 0))
        firstEndingAt[0] = 0
        lastEndingAt[0] = 0
    }

    @inline(__always)
    func hasNodes(endingAt position: Int) -> Bool { firstEndingAt[position] >= 0 }

    /// Adds a node and links it to its best predecessor, as janome's `Lattice.add`: the lowest path cost wins; on a
    /// tie the first node met wins, except that a dictionary word gives way to another dictionary word with a
    /// smaller entry id. Nodes ending at a position are met in the order they were added.
    @inline(__always)
    mutating func add(
        start: Int, length: Int, leftId: Int32, rightId: Int32, cost: Int32, entryNumber: Int32,
        dictionary: JanomeDictionary
    ) {
        let best = bestPredecessor(endingAt: start, leftId: leftId, cost: cost, dictionary: dictionary)
        let index = Int32(nodes.count)
        nodes.append(Node(
            minCost: best.cost + Int(cost), rightId: rightId, entryNumber: entryNumber, back: best.node,
            nextWithSameEnd: -1, start: Int32(start), length: Int32(length)))
        let end = start + length
        if lastEndingAt[end] >= 0 {
            nodes[Int(lastEndingAt[end])].nextWithSameEnd = index
        } else {
            firstEndingAt[end] = index
        }
        lastEndingAt[end] = index
    }

    @inline(__always)
    private func bestPredecessor(
        endingAt position: Int, leftId: Int32, cost: Int32, dictionary: JanomeDictionary
    ) -> (node: Int32, cost: Int) {
        var bestNode: Int32 = -1
        var bestCost = Self.unreachedCost - Int(cost)
        let columns = dictionary.connectionColumns
        dictionary.connectionCosts.withUnsafeBufferPointer { connections in
            nodes.withUnsafeBufferPointer { nodes in
                var candidate = firstEndingAt[position]
                while candidate >= 0 {
                    let node = nodes[Int(candidate)]
                    let pathCost = node.minCost + Int(connections[Int(node.rightId) * columns + Int(leftId)])
                    if pathCost < bestCost {
                        bestCost = pathCost
                        bestNode = candidate
                    } else if pathCost == bestCost, bestNode >= 0, node.entryNumber >= 0,
                        nodes[Int(bestNode)].entryNumber >= 0, node.entryNumber < nodes[Int(bestNode)].entryNumber
                    {
                        bestNode = candidate
                    }
                    candidate = node.nextWithSameEnd
                }
            }
        }
        // janome asserts a predecessor was found. Path costs of a chunk stay far below 2^31 (IPADIC's word and
        // connection costs are under 2^15 and a chunk has at most 1,024 words), so one always is.
        if bestNode < 0 { bestNode = firstEndingAt[position] }
        return (bestNode, bestCost)
    }

    /// The best path's words (BOS and EOS left out), ending with EOS at `end`: `(start, length)` in text order.
    mutating func bestPath(endingAt end: Int, dictionary: JanomeDictionary) -> [(start: Int, length: Int)] {
        var path: [(start: Int, length: Int)] = []
        var node = bestPredecessor(endingAt: end, leftId: 0, cost: 0, dictionary: dictionary).node
        while node > 0 {
            path.append((Int(nodes[Int(node)].start), Int(nodes[Int(node)].length)))
            node = nodes[Int(node)].back
        }
        path.reverse()
        return path
    }
}

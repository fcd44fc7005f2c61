/// janome's system dictionary (IPADIC as janome 0.5.1 packages it), read from the package's own `sysdic` modules:
/// the compact entries (surface, left id, right id, cost), the connection-cost matrix and the unknown-word rules.
/// Immutable after loading; segmenters share one through a reference.
final class JanomeDictionary: Sendable {
    /// By entry id (janome's `num`): the connection ids and the word cost.
    let leftIds: [Int32]
    let rightIds: [Int32]
    let costs: [Int32]
    let surfaces: JanomeSurfaceTrie
    /// `connectionCosts[rightId * connectionColumns + leftId]`: the cost of a word whose right id is `rightId`
    /// followed by one whose left id is `leftId` (janome's `connections[rightId][leftId]`).
    let connectionCosts: [Int32]
    let connectionColumns: Int
    let unknownWords: JanomeUnknownWords

    /// Reads the dictionary through `packageFile`, which returns a file's bytes by its path inside the janome package.
    init(packageFile: (String) throws -> [UInt8]) throws {
        // The connection matrix: DATA = [[cost, ...], ...] in two halves.
        var matrix: [Int32] = []
        var rows = 0
        var columns: Int? = nil
        for part in 1...2 {
            let source = "sysdic/connections\(part).py"
            var parser = PythonLiteralParser(bytes: try packageFile(source), source: source)
            guard try parser.seekAssignment("DATA") else { throw parser.error("no DATA = assignment") }
            try parser.expect("[")
            while !parser.consume("]") {
                let rowStart = parser.position
                try parser.expect("[")
                var count = 0
                while !parser.consume("]") {
                    let at = parser.position
                    guard let cost = Int32(exactly: try parser.integer()) else {
                        throw parser.error("connection cost out of range", at: at)
                    }
                    matrix.append(cost)
                    count += 1
                    if !parser.consume(",") { try parser.expect("]"); break }
                }
                if columns == nil { columns = count }
                guard count == columns else {
                    throw parser.error("row \(rows) has \(count) costs, the first row \(columns!)", at: rowStart)
                }
                rows += 1
                if !parser.consume(",") { try parser.expect("]"); break }
            }
        }
        // BOS and EOS connect with id 0, so the matrix needs a row and a column.
        guard let columns, rows > 0, columns > 0 else {
            throw PythonLiteralError(
                source: "sysdic/connections1.py", line: 1, offset: 0, message: "the connection matrix is empty")
        }

        // Which ids each entries_compact file holds.
        let bucketSource = "sysdic/entries_buckets.py"
        let bucketBytes = try packageFile(bucketSource)
        var bucketParser = PythonLiteralParser(bytes: bucketBytes, source: bucketSource)
        guard try bucketParser.seekAssignment("DATA") else { throw bucketParser.error("no DATA = assignment") }
        guard case .dict(let bucketKeys, let bucketRanges) = try bucketParser.value() else {
            throw bucketParser.error("DATA must be a dict {file number: (first id, end id)}")
        }
        var buckets: [(file: Int, ids: Range<Int>)] = []
        for (key, value) in zip(bucketKeys, bucketRanges) {
            guard let file = key.intValue, let bounds = value.elements, bounds.count == 2,
                let first = bounds[0].intValue, let end = bounds[1].intValue, 0 <= first, first <= end
            else { throw bucketParser.error("bucket \(key) must be file number: (first id, end id)") }
            buckets.append((file, first..<end))
        }
        let entryCount = buckets.map(\.ids.upperBound).max() ?? 0

        var leftIds = Array(repeating: Int32(0), count: entryCount)
        var rightIds = Array(repeating: Int32(0), count: entryCount)
        var costs = Array(repeating: Int32(0), count: entryCount)
        var trie = JanomeSurfaceTrie.Builder(entryCount: entryCount)
        for bucket in buckets {
            // DATA = {id: (surface, left_id, right_id, cost), ...}
            let source = "sysdic/entries_compact\(bucket.file).py"
            var parser = PythonLiteralParser(bytes: try packageFile(source), source: source)
            guard try parser.seekAssignment("DATA") else { throw parser.error("no DATA = assignment") }
            try parser.expect("{")
            while !parser.consume("}") {
                let at = parser.position
                let id = try parser.integer()
                guard bucket.ids.contains(id) else {
                    throw parser.error("id \(id) is outside this file's \(bucket.ids)", at: at)
                }
                guard !trie.hasSurface(id) else { throw parser.error("id \(id) appears twice", at: at) }
                try parser.expect(":")
                try parser.expect("(")
                let surface = try parser.string()
                guard !surface.isEmpty else { throw parser.error("entry \(id) has an empty surface", at: at) }
                try parser.expect(",")
                let left = try parser.integer()
                try parser.expect(",")
                let right = try parser.integer()
                try parser.expect(",")
                let cost = try parser.integer()
                try parser.expect(")")
                guard (0..<rows).contains(right), (0..<columns).contains(left) else {
                    throw parser.error(
                        "entry \(id): ids (\(left), \(right)) outside the \(rows)×\(columns) connection matrix", at: at)
                }
                guard let wordCost = Int32(exactly: cost) else {
                    throw parser.error("entry \(id): cost out of range", at: at)
                }
                leftIds[id] = Int32(left)
                rightIds[id] = Int32(right)
                costs[id] = wordCost
                trie.insert(surface.unicodeScalars.lazy.map(\.value), id: id)
                if !parser.consume(",") { try parser.expect("}"); break }
            }
            if let missing = bucket.ids.first(where: { !trie.hasSurface($0) }) {
                throw parser.error("entry \(missing) is missing")
            }
        }

        if let missing = (0..<entryCount).first(where: { !trie.hasSurface($0) }) {
            throw bucketParser.error("no entries_compact file holds entry \(missing)")
        }

        let unknownWords = try JanomeUnknownWords(
            chardef: try packageFile("sysdic/chardef.py"), unknowns: try packageFile("sysdic/unknowns.py"))
        for category in unknownWords.categories {
            for entry in category.entries
            where !(0..<rows).contains(Int(entry.rightId)) || !(0..<columns).contains(Int(entry.leftId)) {
                throw PythonLiteralError(source: "sysdic/unknowns.py", line: 1, offset: 0,
                    message: "an entry of \(category.name) has ids outside the \(rows)×\(columns) connection matrix")
            }
        }
        self.leftIds = leftIds
        self.rightIds = rightIds
        self.costs = costs
        self.surfaces = trie.build()
        self.connectionCosts = matrix
        self.connectionColumns = columns
        self.unknownWords = unknownWords
    }
}

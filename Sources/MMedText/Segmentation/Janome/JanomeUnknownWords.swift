/// janome's rules for words not in the dictionary: IPADIC's char.def (character categories with their INVOKE,
/// GROUP and LENGTH) and unk.def (the costs of an unknown word of each category), as janome ships them in
/// `sysdic/chardef.py` and `sysdic/unknowns.py`.
struct JanomeUnknownWords: Sendable {
    struct Category: Sendable {
        var name: String
        /// INVOKE: an unknown word is proposed even where a dictionary word starts.
        var invokedAlways: Bool
        /// GROUP: the unknown word runs as far as the category does (up to janome's 1,024 characters); otherwise
        /// it runs for up to LENGTH more characters.
        var groups: Bool
        var length: Int
        /// One lattice node per entry, all with the same surface.
        var entries: [Entry]
    }

    struct Entry: Sendable {
        var leftId: Int32
        var rightId: Int32
        var cost: Int32
    }

    /// What janome's `get_char_categories` answers for a character, precomputed.
    struct CharacterClass: Sendable {
        /// Indexes into `categories`, in janome's order (first matching range first).
        var categories: [Int]
        /// Bit `c` is set when a run of category `c` may continue through this character: `c` is one of its
        /// categories or among their compatible categories.
        var continues: UInt64
    }

    let categories: [Category]
    let classes: [CharacterClass]
    /// The class index of each scalar below `classOfScalar.count`; scalars above it have `classBeyondTable`.
    private let classOfScalar: [UInt16]
    private let classBeyondTable: Int

    @inline(__always)
    func characterClass(_ scalar: UInt32) -> Int {
        scalar < UInt32(classOfScalar.count) ? Int(classOfScalar[Int(scalar)]) : classBeyondTable
    }

    /// Reads `chardef.py` and `unknowns.py`; every category a character can get must have unknown-word entries,
    /// as janome asserts when it meets one.
    init(chardef: [UInt8], unknowns: [UInt8]) throws {
        let chardefSource = "sysdic/chardef.py", unknownsSource = "sysdic/unknowns.py"
        let (definition, definitionError) = try Self.data(chardef, source: chardefSource)
        guard case .tuple(let parts) = definition, parts.count == 2,
            case .dict(let categoryNames, let categorySettings) = parts[0], let ranges = parts[1].elements
        else { throw definitionError("DATA must be a tuple (categories dict, ranges list)") }
        let (unknownTable, unknownError) = try Self.data(unknowns, source: unknownsSource)
        guard let unknownEntries = unknownTable.dictionary else { throw unknownError("DATA must be a dict of str keys") }

        // Categories, in the order of the dict (a repeated key keeps its first place and its last value, as in Python).
        var categories: [Category] = []
        var indexOfCategory: [String: Int] = [:]
        for (key, value) in zip(categoryNames, categorySettings) {
            guard let name = key.stringValue, let settings = value.dictionary,
                case .bool(let invoke) = settings["INVOKE"], case .bool(let group) = settings["GROUP"],
                let length = settings["LENGTH"]?.intValue
            else { throw definitionError("category \(key) needs bool INVOKE and GROUP and int LENGTH") }
            var entries: [Entry] = []
            for entry in unknownEntries[name]?.elements ?? [] {
                guard let fields = entry.elements, fields.count == 4, let left = fields[0].intValue,
                    let right = fields[1].intValue, let cost = fields[2].intValue,
                    let leftId = Int32(exactly: left), let rightId = Int32(exactly: right),
                    let wordCost = Int32(exactly: cost)
                else { throw unknownError("entries of \(name) must be (left_id, right_id, cost, part_of_speech)") }
                entries.append(Entry(leftId: leftId, rightId: rightId, cost: wordCost))
            }
            let category = Category(name: name, invokedAlways: invoke, groups: group, length: length, entries: entries)
            if let index = indexOfCategory[name] { categories[index] = category } else {
                indexOfCategory[name] = categories.count
                categories.append(category)
            }
        }
        guard categories.count <= 64 else { throw definitionError("more than 64 categories") }

        struct CharacterRange { var from: UInt32, to: UInt32, category: String, compatible: [String] }
        var characterRanges: [CharacterRange] = []
        for (number, range) in ranges.enumerated() {
            guard let fields = range.dictionary, let category = fields["cate"]?.stringValue,
                let from = fields["from"]?.stringValue?.unicodeScalars, from.count == 1,
                let to = fields["to"]?.stringValue?.unicodeScalars, to.count == 1
            else { throw definitionError("range \(number) needs one-character 'from' and 'to' and a 'cate'") }
            var compatible: [String] = []
            if let listed = fields["compat_cates"] {
                guard let names = listed.elements?.compactMap(\.stringValue), names.count == listed.elements?.count
                else { throw definitionError("range \(number): 'compat_cates' must be a list of str") }
                compatible = names
            }
            characterRanges.append(CharacterRange(
                from: from.first!.value, to: to.first!.value, category: category, compatible: compatible))
        }

        // The ranges cut the scalars into segments whose characters all get the same answer.
        var cuts: Set<UInt32> = [0]
        for range in characterRanges where range.from <= range.to {
            cuts.insert(range.from)
            cuts.insert(range.to + 1)
        }
        let tableEnd = cuts.max()!
        var classes: [CharacterClass] = []
        var classIndex: [[Int]: [UInt64: Int]] = [:]
        var classOfScalar = Array(repeating: UInt16(0), count: Int(tableEnd))
        func classOf(_ scalar: UInt32) throws -> Int {
            // janome's get_char_categories: a dict from category to compatible categories, filled range by range.
            var order: [String] = []
            var compatibleOf: [String: [String]] = [:]
            for range in characterRanges where range.from <= scalar && scalar <= range.to {
                if compatibleOf[range.category] == nil { order.append(range.category) }
                compatibleOf[range.category] = range.compatible
            }
            if order.isEmpty {
                order = ["DEFAULT"]
                compatibleOf["DEFAULT"] = []
            }
            var indexes: [Int] = []
            var continues: UInt64 = 0
            for name in order {
                guard let index = indexOfCategory[name] else {
                    let code = String(scalar, radix: 16, uppercase: true)
                    throw definitionError("category \(name) (of U+\(code)) is not defined")
                }
                guard !categories[index].entries.isEmpty else { throw unknownError("no entries for category \(name)") }
                guard categories[index].groups || categories[index].length >= 0 else {
                    throw definitionError("category \(name) has a negative LENGTH")
                }
                indexes.append(index)
                continues |= 1 << UInt64(index)
                for other in compatibleOf[name]! {
                    // A compatible category that is not defined never matches a run's category.
                    if let otherIndex = indexOfCategory[other] { continues |= 1 << UInt64(otherIndex) }
                }
            }
            if let known = classIndex[indexes]?[continues] { return known }
            guard classes.count <= Int(UInt16.max) else { throw definitionError("too many distinct character classes") }
            classes.append(CharacterClass(categories: indexes, continues: continues))
            classIndex[indexes, default: [:]][continues] = classes.count - 1
            return classes.count - 1
        }
        let sortedCuts = cuts.sorted()
        for (start, end) in zip(sortedCuts, sortedCuts.dropFirst()) {
            let index = UInt16(try classOf(start))
            for scalar in Int(start)..<Int(end) { classOfScalar[scalar] = index }
        }
        classBeyondTable = try classOf(tableEnd)
        self.classOfScalar = classOfScalar
        self.classes = classes
        self.categories = categories
    }

    /// The `DATA` value of a small module, and a function making errors that point at it.
    private static func data(
        _ bytes: [UInt8], source: String
    ) throws -> (PythonLiteral, (String) -> PythonLiteralError) {
        var parser = PythonLiteralParser(bytes: bytes, source: source)
        guard try parser.seekAssignment("DATA") else { throw parser.error("no DATA = assignment") }
        parser.skipTrivia()
        let at = parser.position
        let value = try parser.value()
        let located = parser
        let makeError = { (message: String) in located.error(message, at: at) }
        return (value, makeError)
    }
}

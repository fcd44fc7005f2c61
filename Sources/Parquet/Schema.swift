/// One leaf column of a Parquet schema, with what a reader needs to decode it.
public struct ColumnDescriptor: Sendable {
    /// Index of the column chunk in each row group (leaves in schema order).
    public var index: Int
    /// Dotted path from the root, e.g. `text` or `meta.url`.
    public var path: [String]
    public var element: SchemaElement
    public var physicalType: PhysicalType
    /// Byte width of FIXED_LEN_BYTE_ARRAY values.
    public var typeLength: Int
    public var maxDefinitionLevel: Int
    public var maxRepetitionLevel: Int

    public var name: String { path.joined(separator: ".") }
    /// A top-level REQUIRED or OPTIONAL column: the only kind this reader decodes. Columns inside groups, lists
    /// or maps are nested.
    public var isFlat: Bool { path.count == 1 && maxRepetitionLevel == 0 }
    public var isOptional: Bool { maxDefinitionLevel > 0 }

    /// Whether byte arrays of this column are text (STRING, ENUM or JSON annotations).
    public var isText: Bool {
        if let logical = element.logicalType {
            switch logical {
            case .string, .enumeration, .json: return true
            default: break
            }
        }
        if let converted = element.convertedType {
            return converted == .utf8 || converted == .enumeration || converted == .json
        }
        return false
    }

    /// Whether an INT32/INT64 column holds unsigned integers.
    public var isUnsigned: Bool {
        if case .integer(_, let signed)? = element.logicalType { return !signed }
        if let converted = element.convertedType {
            return [.uint8, .uint16, .uint32, .uint64].contains(converted)
        }
        return false
    }

    /// The annotation to show, if any.
    public var annotation: String? {
        if let logical = element.logicalType { return logical.description }
        return element.convertedType?.description
    }
}

/// The schema tree flattened into leaf columns.
public struct Schema: Sendable {
    public var columns: [ColumnDescriptor]
    /// Names of top-level fields that are groups, lists or maps (their leaves are nested columns).
    public var nestedFields: [String]

    init(elements: [SchemaElement]) throws {
        guard let root = elements.first else { throw DecodeFailure("the schema is empty") }
        guard (root.childCount ?? 0) >= 0 else { throw DecodeFailure("the schema root has a negative child count") }
        var columns: [ColumnDescriptor] = []
        var nested: [String] = []
        var position = 1

        // Walks the children of a group; depth-first order is the order of column chunks.
        func walk(childCount: Int, path: [String], definition: Int, repetition: Int, depth: Int) throws {
            guard depth <= 64 else { throw DecodeFailure("the schema is nested deeper than 64 levels") }
            for _ in 0..<childCount {
                guard position < elements.count else {
                    throw DecodeFailure("the schema tree promises more elements than the \(elements.count) it has")
                }
                let element = elements[position]
                position += 1
                var definition = definition, repetition = repetition
                switch element.repetition ?? .required {
                case .optional: definition += 1
                case .repeated: definition += 1; repetition += 1
                default: break
                }
                let elementPath = path + [element.name]
                let children = Int(element.childCount ?? 0)
                if children > 0 || element.type == nil {
                    guard children >= 0 else { throw DecodeFailure("schema element \"\(element.name)\" has a negative child count") }
                    if path.isEmpty { nested.append(element.name) }
                    try walk(childCount: children, path: elementPath, definition: definition, repetition: repetition, depth: depth + 1)
                } else {
                    let type = element.type!
                    var length = 0
                    if type == .fixedLenByteArray {
                        guard let typeLength = element.typeLength, typeLength > 0 else {
                            throw DecodeFailure("FIXED_LEN_BYTE_ARRAY column \"\(elementPath.joined(separator: "."))\" has no positive type_length")
                        }
                        length = Int(typeLength)
                    }
                    if path.isEmpty && element.repetition == .repeated { nested.append(element.name) }
                    columns.append(ColumnDescriptor(index: columns.count, path: elementPath, element: element, physicalType: type,
                                                    typeLength: length, maxDefinitionLevel: definition, maxRepetitionLevel: repetition))
                }
            }
        }
        try walk(childCount: Int(root.childCount ?? 0), path: [], definition: 0, repetition: 0, depth: 0)
        guard position == elements.count else {
            throw DecodeFailure("the schema has \(elements.count - position) elements outside its tree")
        }
        self.columns = columns
        self.nestedFields = nested
    }

    /// The leaf column called `name` (a top-level name or a dotted path).
    public func column(named name: String) -> ColumnDescriptor? {
        columns.first { $0.name == name }
    }
}

/// Document and byte counts for one slice of a run (a language, an input, a unit, or all of it).
/// Every document read ends up kept, dropped or rejected: `read == kept + dropped + rejected`.
public struct Tally: Codable, Sendable, Equatable {
    public var documentsRead = 0
    public var documentsKept = 0
    public var documentsDropped = 0
    public var documentsRejected = 0
    public var bytesRead: Int64 = 0
    public var bytesKept: Int64 = 0
    public var bytesDropped: Int64 = 0
    public var bytesRejected: Int64 = 0

    public init() {}

    public enum Outcome: Sendable { case kept, dropped, rejected }

    public mutating func record(_ outcome: Outcome, bytes: Int64) {
        documentsRead += 1
        bytesRead += bytes
        switch outcome {
        case .kept: documentsKept += 1; bytesKept += bytes
        case .dropped: documentsDropped += 1; bytesDropped += bytes
        case .rejected: documentsRejected += 1; bytesRejected += bytes
        }
    }

    public mutating func add(_ other: Tally) {
        documentsRead += other.documentsRead
        documentsKept += other.documentsKept
        documentsDropped += other.documentsDropped
        documentsRejected += other.documentsRejected
        bytesRead += other.bytesRead
        bytesKept += other.bytesKept
        bytesDropped += other.bytesDropped
        bytesRejected += other.bytesRejected
    }

    /// Kept documents over documents scored (kept + dropped).
    public var keepRate: Double {
        let scored = documentsKept + documentsDropped
        return scored == 0 ? 0 : Double(documentsKept) / Double(scored)
    }

    public var isBalanced: Bool {
        documentsRead == documentsKept + documentsDropped + documentsRejected
            && bytesRead == bytesKept + bytesDropped + bytesRejected
    }

    enum CodingKeys: String, CodingKey {
        case documentsRead = "documents_read", documentsKept = "documents_kept"
        case documentsDropped = "documents_dropped", documentsRejected = "documents_rejected"
        case bytesRead = "bytes_read", bytesKept = "bytes_kept", bytesDropped = "bytes_dropped", bytesRejected = "bytes_rejected"
    }
}

/// Counts a work unit keeps per language, per input and in total (the filter's `Tally`, the pretrain job's).
public protocol UnitCounts: Codable, Sendable, Equatable {
    init()
}

extension Tally: UnitCounts {}

/// What one finished work unit reports; stored as its done-marker `units/<unit>.json`. The filter's is
/// `UnitReport`; other jobs on the work runner bring their own counts.
public struct WorkUnitReport<Counts: UnitCounts>: Codable, Sendable, Equatable {
    public var unit: String
    public var item: Int
    public var total = Counts()
    /// By the value of the language field, for documents that have one.
    public var languages: [String: Counts] = [:]
    public var inputs: [String: Counts] = [:]
    public var rejectReasons: [String: Int] = [:]
    public var blankLines = 0
    /// Compressed files of the unit that could not be read (their documents do not count).
    public var quarantined: [Quarantine] = []
    /// Output files written by the unit, relative to the output directory.
    public var outputs: [String] = []
    public var seconds: Double = 0

    public init(unit: String, item: Int) {
        self.unit = unit
        self.item = item
    }

    enum CodingKeys: String, CodingKey {
        case unit, item, total, languages, inputs, outputs, seconds, quarantined
        case rejectReasons = "reject_reasons", blankLines = "blank_lines"
    }
}

/// The filter's unit report.
public typealias UnitReport = WorkUnitReport<Tally>

/// Written when every unit of a plan item (an input file, or a group of text files) is done.
public struct ItemReport: Codable, Sendable, Equatable {
    public var item: Int
    public var inputs: [String]
    public var units: [String]
}

/// A compressed input that could not be read to the end; none of its documents count.
public struct Quarantine: Codable, Sendable, Equatable {
    public var item: Int
    public var file: String
    public var error: String

    public init(item: Int, file: String, error: String) {
        self.item = item
        self.file = file
        self.error = error
    }
}

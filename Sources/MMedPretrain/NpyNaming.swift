import MMedIO

/// Names of the `--format mmedlm-npy` window files, `<document>_<window>.npy`.
///
/// The original names a text file's windows `{basename.split('.')[0]}_{cnt}.npy`, so `a.en.txt` and `a.fr.txt`, or
/// `x/a.txt` and `y/a.txt`, overwrite each other's windows. We keep its names where they are unambiguous and extend
/// them where they are not; the extensions always contain a `.`, which the original's names never do (its stem stops at
/// the first `.`), so no extended name can equal an original one, and no two documents share a name:
/// - a text file (one document): `<stem>`, as the original;
/// - a JSONL record: `<stem>.line<N>` (N: 1-based line in the decompressed file);
/// - a Parquet row: `<stem>.row<N>` (N: 0-based row index in the file);
/// - when several inputs of the run share a stem (compared case-insensitively, for case-insensitive file systems), each
///   of them is `<stem>.input<I>` instead of `<stem>` (I: the input's 0-based position in the run's input list), then
///   `.line<N>` / `.row<N>` as above.
/// The window number is the last `_`-separated field, so names also stay apart when stems contain `_`.
public struct NpyNaming: Sendable {
    private let prefixes: [String: String]

    /// Names for the documents of a run whose inputs are `inputs`, in the run's order.
    public init(inputs: [String]) {
        var stemCounts: [String: Int] = [:]
        for input in inputs { stemCounts[Self.originalStem(input).lowercased(), default: 0] += 1 }
        var prefixes: [String: String] = [:]
        for (index, input) in inputs.enumerated() {
            let stem = Self.originalStem(input)
            prefixes[input] = stemCounts[stem.lowercased(), default: 0] > 1 ? "\(stem).input\(index)" : stem
        }
        self.prefixes = prefixes
    }

    /// Python's `os.path.basename(path).split('.')[0]`.
    public static func originalStem(_ path: String) -> String {
        String(lastPathComponent(path).split(separator: ".", omittingEmptySubsequences: false).first ?? "")
    }

    /// The name of a document: of a whole text file (`line` and `row` nil), a JSONL line, or a Parquet row.
    public func documentName(input: String, line: Int? = nil, row: Int64? = nil) -> String {
        let prefix = prefixes[input] ?? Self.originalStem(input)
        if let line { return "\(prefix).line\(line)" }
        if let row { return "\(prefix).row\(row)" }
        return prefix
    }

    /// The file name of a document's window.
    public static func fileName(document: String, window: Int) -> String { "\(document)_\(window).npy" }
}

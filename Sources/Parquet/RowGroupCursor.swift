/// Reads the rows of one row group across several flat columns in step: each column keeps one decoded page,
/// and the cursor moves all of them a row at a time. Checks that every column has exactly the row group's rows.
public final class RowGroupCursor {
    public let columns: [ColumnDescriptor]
    public let rowGroup: Int
    public let rowCount: Int64
    private let readers: [ColumnChunkReader]
    private var states: [ColumnState]
    /// Index of the current row within the row group (-1 before the first `next`).
    public private(set) var row: Int64 = -1

    struct ColumnState {
        var page: DataPage?
        /// Slot of the current row in the page, and index of its value among the page's present values.
        var slot = -1
        var value = -1
        var present = false
    }

    init(file: ParquetFile, rowGroup: Int, columns: [ColumnDescriptor]) throws {
        guard rowGroup >= 0 && rowGroup < file.metadata.rowGroups.count else {
            throw ParquetError(.usage, ParquetLocation(file: file.path), "has no row group \(rowGroup) (it has \(file.metadata.rowGroups.count))")
        }
        self.columns = columns
        self.rowGroup = rowGroup
        rowCount = file.metadata.rowGroups[rowGroup].rowCount
        var readers: [ColumnChunkReader] = []
        for column in columns {
            guard column.isFlat else {
                throw ParquetError(.usage, ParquetLocation(file: file.path, rowGroup: rowGroup, column: column.name),
                                   "is a nested column; only flat columns can be read")
            }
            let reader = try ColumnChunkReader(file: file, rowGroup: rowGroup, column: column)
            guard reader.metaData.valueCount == rowCount else {
                throw ParquetError(.badMetadata, ParquetLocation(file: file.path, rowGroup: rowGroup, column: column.name),
                                   "the chunk has \(reader.metaData.valueCount) values, the row group \(rowCount) rows")
            }
            readers.append(reader)
        }
        self.readers = readers
        states = Array(repeating: ColumnState(), count: columns.count)
    }

    /// Moves to the next row; false after the last.
    public func next() throws -> Bool {
        guard row + 1 < rowCount else { return false }
        row += 1
        for c in 0..<states.count {
            var state = states[c]
            state.slot += 1
            if state.page == nil || state.slot >= state.page!.slotCount {
                state.page = nil   // release the old page before decoding the next
                states[c].page = nil
                repeat {
                    guard let page = try readers[c].nextPage() else {
                        throw ParquetError(.corruptPage, ParquetLocation(file: readers[c].file.path, rowGroup: rowGroup, column: columns[c].name),
                                           "the column's pages end at row \(row) of \(rowCount)")
                    }
                    state.page = page
                } while state.page!.slotCount == 0
                state.slot = 0
                state.value = -1
            }
            if let levels = state.page!.definitionLevels {
                state.present = levels[state.slot] != 0
            } else {
                state.present = true
            }
            if state.present { state.value += 1 }
            states[c] = state
        }
        return true
    }

    /// Whether column `c` (index into `columns`) is null in the current row.
    @inlinable public func isNull(_ c: Int) -> Bool { !presentFlag(c) }

    @usableFromInline func presentFlag(_ c: Int) -> Bool { states[c].present }

    /// The current page of column `c` and the index of the current row's value among its values (-1 if null).
    public func position(_ c: Int) -> (page: DataPage, value: Int) {
        let state = states[c]
        return (state.page!, state.present ? state.value : -1)
    }

    /// Calls `body` with the bytes of a byte-array column's value in the current row, or nil when null.
    public func withBytes<R>(_ c: Int, _ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        let state = states[c]
        guard state.present, case .bytes(let values) = state.page!.values else { return try body(nil) }
        return try values.withValue(state.value, body)
    }
}

import Foundation
import Parquet
import Testing

/// Damaged files: each kind of damage gives a `ParquetError` naming the file and, where it applies, the row
/// group, column and page; and a fuzz run of truncations and bit flips of real files never crashes or hangs.
@Suite struct CorruptFileTests {
    /// Reads every flat column of every row group to the end, and walks every chunk's pages.
    static func readEverything(_ path: String) throws -> Int {
        let file = try ParquetFile(path: path)
        let columns = try file.columns(named: nil)
        var rows = 0
        for group in 0..<file.rowGroupCount {
            for column in columns { _ = try file.columnReader(rowGroup: group, column: column).pageCensus() }
            let cursor = try file.rows(rowGroup: group, columns: columns)
            while try cursor.next() {
                rows += 1
                for c in columns.indices { _ = cursor.withBytes(c) { $0?.count ?? 0 } }
            }
        }
        return rows
    }

    static func mutated(_ source: String, name: String, _ change: (inout [UInt8]) -> Void) throws -> String {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: source)))
        change(&bytes)
        let path = NSTemporaryDirectory() + "mmed-corrupt-\(getpid())-\(name).parquet"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func expectError(_ path: String, kind: ParquetError.Kind, containing parts: [String]) {
        do {
            _ = try readEverything(path)
            Issue.record("\(path): read without error")
        } catch let error as ParquetError {
            #expect(error.kind == kind, "\(error)")
            #expect(error.location.file == path)
            for part in parts { #expect(error.description.contains(part), "\(error) lacks \(part)") }
        } catch {
            Issue.record("\(path): not a ParquetError: \(error)")
        }
    }

    /// Body offset of the first data page of `column` in row group 0.
    static func firstDataPage(_ path: String, column: String) throws -> PageInfo {
        let file = try ParquetFile(path: path)
        let descriptor = try #require(file.schema.column(named: column))
        return try #require(try file.columnReader(rowGroup: 0, column: descriptor).pageCensus().first { $0.type == .dataPage || $0.type == .dataPageV2 })
    }

    @Test func truncatedFooter() throws {
        let source = try OracleFiles.get().directory + "/culturax.parquet"
        let path = try Self.mutated(source, name: "truncated") { $0.removeLast(3) }
        Self.expectError(path, kind: .badFooter, containing: ["not PAR1"])
        let short = try Self.mutated(source, name: "short") { $0 = Array($0.prefix(7)) }
        Self.expectError(short, kind: .badFooter, containing: ["too short"])
    }

    @Test func wrongMagic() throws {
        let source = try OracleFiles.get().directory + "/culturax.parquet"
        let path = try Self.mutated(source, name: "magic") { $0[0] = UInt8(ascii: "X") }
        Self.expectError(path, kind: .badFooter, containing: ["first 4 bytes are not PAR1"])
    }

    @Test func footerLengthLies() throws {
        let source = try OracleFiles.get().directory + "/culturax.parquet"
        let path = try Self.mutated(source, name: "footerlength") { bytes in
            let n = bytes.count
            bytes[n - 8] = 0xFF; bytes[n - 7] = 0xFF; bytes[n - 6] = 0xFF; bytes[n - 5] = 0x7F
        }
        Self.expectError(path, kind: .badFooter, containing: ["footer length 2147483647 exceeds the file"])
    }

    /// Damages the body of the first data page of `string2` in a PLAIN file of the given codec.
    static func damageFirstPage(codec: String, _ damage: (inout [UInt8], _ body: Int, _ size: Int) -> Void) throws -> String {
        let source = try OracleFiles.get().directory + "/matrix_\(codec)_v1_plain.parquet"
        let page = try firstDataPage(source, column: "string2")
        return try mutated(source, name: codec) { bytes in damage(&bytes, Int(page.offset) + page.headerSize, page.compressedSize) }
    }

    @Test func corruptSnappyPage() throws {
        let path = try Self.damageFirstPage(codec: "snappy") { bytes, body, size in
            for i in 0..<min(64, size) { bytes[body + i] = 0xFF }
        }
        Self.expectError(path, kind: .corruptPage, containing: ["row group 0", "column \"string2\"", "page 0", "Snappy"])
    }

    @Test func corruptZstdPage() throws {
        let path = try Self.damageFirstPage(codec: "zstd") { bytes, body, size in
            for i in 0..<min(16, size) { bytes[body + i] = UInt8(i) }
        }
        Self.expectError(path, kind: .corruptPage, containing: ["row group 0", "column \"string2\"", "page 0", "ZSTD"])
    }

    @Test func corruptGzipPage() throws {
        let path = try Self.damageFirstPage(codec: "gzip") { bytes, body, size in
            for i in 10..<min(40, size) { bytes[body + i] ^= 0x5A }
        }
        Self.expectError(path, kind: .corruptPage, containing: ["row group 0", "column \"string2\"", "GZIP"])
    }

    @Test func dictionaryIndexOutOfRange() throws {
        // int64 is REQUIRED and dictionary-encoded, uncompressed: the body is [bit width][hybrid runs].
        let source = try OracleFiles.get().directory + "/matrix_none_v1_dict.parquet"
        let page = try Self.firstDataPage(source, column: "int64")
        let path = try Self.mutated(source, name: "dictindex") { bytes in
            let body = Int(page.offset) + page.headerSize
            // bit width 31; an RLE run of 400 values of 0x7FFFFFFF.
            let patch: [UInt8] = [31, 0xA0, 0x06, 0xFF, 0xFF, 0xFF, 0x7F]
            for (i, byte) in patch.enumerated() { bytes[body + i] = byte }
        }
        Self.expectError(path, kind: .corruptPage, containing: ["row group 0", "column \"int64\"", "page 1", "dictionary index 2147483647", "out of range"])
    }

    @Test func valueLengthLies() throws {
        // string2 is REQUIRED, PLAIN, uncompressed: the body starts with the first value's 4-byte length.
        let source = try OracleFiles.get().directory + "/matrix_none_v1_plain.parquet"
        let page = try Self.firstDataPage(source, column: "string2")
        let path = try Self.mutated(source, name: "valuelength") { bytes in
            let body = Int(page.offset) + page.headerSize
            bytes[body] = 0xFF; bytes[body + 1] = 0xFF; bytes[body + 2] = 0xFF; bytes[body + 3] = 0x7F
        }
        Self.expectError(path, kind: .corruptPage, containing: ["column \"string2\"", "page 0", "value 0 of", "claims 2147483647 bytes"])
    }

    @Test func pageSizeLies() throws {
        // The last data page of a chunk ends where the chunk ends: claiming one byte more is a lie the reader must catch.
        let source = try OracleFiles.get().directory + "/matrix_none_v1_plain.parquet"
        let file = try ParquetFile(path: source)
        let column = try #require(file.schema.column(named: "string2"))
        let page = try #require(try file.columnReader(rowGroup: 0, column: column).pageCensus().last)
        let path = try Self.mutated(source, name: "pagesize") { bytes in
            // Header: field 1 (type), field 2 (uncompressed size), field 3 (compressed size), each a zigzag varint.
            var i = Int(page.offset) + 2                   // field 1 header byte and the one-byte page type
            i += 1                                         // field 2 header
            while bytes[i] & 0x80 != 0 { i += 1 }
            i += 2                                         // last byte of field 2, field 3 header
            var raw: UInt64 = 0, shift: UInt64 = 0, j = i
            while true { raw |= UInt64(bytes[j] & 0x7F) << shift; if bytes[j] & 0x80 == 0 { break }; shift += 7; j += 1 }
            raw += 2                                       // zigzag: one more byte
            for k in i...j { bytes[k] = UInt8(raw & 0x7F) | (k < j ? 0x80 : 0); raw >>= 7 }
        }
        Self.expectError(path, kind: .corruptPage, containing: ["column \"string2\"", "page \(page.index)", "claims \(page.compressedSize + 1) bytes",
                                                              "the column chunk has \(page.compressedSize) left"])
    }

    @Test func chunkOffsetOutsideTheFile() throws {
        let generated = try OracleFiles.get()
        let file = try ParquetFile(path: generated.directory + "/matrix_none_v1_plain.parquet")
        let meta = try #require(file.metadata.rowGroups[0].columns[0].metaData)
        #expect(meta.dictionaryPageOffset == nil)   // so the chunk starts at data_page_offset
        // Find the chunk's data_page_offset in the footer by its zigzag varint encoding and make it point past the end.
        func zigzag(_ value: Int64) -> [UInt8] {
            var raw = UInt64(bitPattern: (value << 1) ^ (value >> 63)), out: [UInt8] = []
            repeat { out.append(UInt8(raw & 0x7F) | (raw > 0x7F ? 0x80 : 0)); raw >>= 7 } while raw > 0
            return out
        }
        let path = try Self.mutated(generated.directory + "/matrix_none_v1_plain.parquet", name: "chunkoffset") { bytes in
            let footerStart = bytes.count - 8 - file.footerLength
            var found = -1
            var needle: [UInt8] = []
            // An i64 field header (delta in the high nibble, type 6) followed by the offset's varint.
            search: for delta in [1, 2, 3] as [UInt8] {
                needle = [delta << 4 | 6] + zigzag(meta.dataPageOffset)
                for i in footerStart..<(bytes.count - needle.count) where Array(bytes[i..<(i + needle.count)]) == needle { found = i; break search }
            }
            #expect(found >= 0, "data_page_offset not found in the footer")
            guard found >= 0 else { return }
            for k in 1..<needle.count { bytes[found + k] = k == needle.count - 1 ? 0x7F : 0xFF }
        }
        do {
            _ = try Self.readEverything(path)
            Issue.record("read without error")
        } catch let error as ParquetError {
            #expect(error.kind == .badMetadata || error.kind == .corruptPage, "\(error)")
            #expect(error.description.contains("row group 0"), "\(error)")
        }
    }

    /// Truncations at many lengths and single-bit flips at seeded random positions of real files: every case
    /// must end in a value or a `ParquetError`, without crashing (which would kill the test process) or hanging.
    static let fuzzFiles = ["culturax", "matrix_snappy_v1_dict", "matrix_zstd_v2_delta", "matrix_gzip_v2_plain", "matrix_lz4_v1_delta",
                            "matrix_none_v2_dict", "matrix_none_v1_plain", "format1_plain_dictionary", "int96", "dict_fallback_v2",
                            "extra_types_plain_v2", "bool_encodings_v2", "decimal_int", "page_index_stats", "all_null", "empty_strings"]

    @Test(.timeLimit(.minutes(10)), arguments: fuzzFiles) func fuzzTruncationsAndBitFlips(name: String) throws {
        let generated = try OracleFiles.get()
        let names = [name]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(name.utf8.count)
        func random(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(bound))
        }
        var cases = 0, failures = 0, successes = 0, truncationFailures = 0
        let scratch = NSTemporaryDirectory() + "mmed-fuzz-\(getpid())-\(name).parquet"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        for name in names {
            let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: generated.directory + "/" + name + ".parquet")))
            let expectedRows = try Self.readEverything(generated.directory + "/" + name + ".parquet")
            var variants: [[UInt8]] = []
            // Truncations: evenly spread, plus every length in the last 64 bytes (footer and its length).
            for k in 1...40 { variants.append(Array(original.prefix(original.count * k / 41))) }
            for cut in 1...64 { variants.append(Array(original.dropLast(cut))) }
            // Bit flips: 150 anywhere, 100 inside the footer.
            let footerLength = Int(UInt32(original[original.count - 8]) | UInt32(original[original.count - 7]) << 8
                                   | UInt32(original[original.count - 6]) << 16 | UInt32(original[original.count - 5]) << 24)
            for k in 0..<250 {
                var copy = original
                let position = k < 150 ? random(copy.count) : copy.count - 8 - 1 - random(footerLength)
                copy[position] ^= UInt8(1 << random(8))
                variants.append(copy)
            }
            for (index, variant) in variants.enumerated() {
                let truncated = index < 104
                cases += 1
                try Data(variant).write(to: URL(fileURLWithPath: scratch))
                do {
                    let rows = try Self.readEverything(scratch)
                    successes += 1
                    // A flip may leave a readable file, but never one with other row counts than its metadata says.
                    _ = rows
                } catch is ParquetError {
                    failures += 1
                    if truncated { truncationFailures += 1 }
                } catch {
                    Issue.record("\(name): not a ParquetError: \(error)")
                }
            }
            _ = expectedRows
        }
        print("parquet fuzz \(name): \(cases) cases (truncations and bit flips): \(failures) clean errors, \(successes) still readable")
        #expect(cases == 40 + 64 + 250)
        // A truncated file has lost its footer (or the pages it points to): every truncation must be an error.
        #expect(truncationFailures == 104, "\(name): \(104 - truncationFailures) truncated files read without error")
    }
}

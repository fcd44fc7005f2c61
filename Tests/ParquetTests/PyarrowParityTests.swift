import Foundation
import Parquet
import Testing

/// Every value of every file the oracle writes (each codec × encoding × page version, nulls, huge strings,
/// dictionary fallback, INT96, decimals, the CulturaX schema...) read by our reader and compared with what
/// pyarrow reads, in the oracle's canonical form; and each chunk's metadata compared with pyarrow's.
@Suite struct PyarrowParityTests {
    @Test("values match pyarrow", arguments: OracleFiles.names)
    func values(name: String) throws {
        let generated = try OracleFiles.get()
        let entry = try #require(generated.files.first { $0["name"] as? String == name })
        guard let goldenName = entry["golden"] as? String else { return }
        let file = try ParquetFile(path: generated.directory + "/" + name)
        let golden = try String(contentsOfFile: generated.directory + "/" + goldenName, encoding: .utf8)
        var lines = golden.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }
        let header = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        let names = try #require(header["columns"] as? [String])
        #expect(file.rowCount == Int64(header["num_rows"] as! Int))
        let columns = try file.columns(named: names)
        var row = 0
        var mismatches = 0
        for group in 0..<file.rowGroupCount {
            let cursor = try file.rows(rowGroup: group, columns: columns)
            while try cursor.next() {
                row += 1
                guard row < lines.count else { Issue.record("\(name): more rows than the golden's \(lines.count - 1)"); return }
                let ours = "[" + columns.indices.map { Canonical.value(cursor, $0, column: columns[$0]) }.joined(separator: ",") + "]"
                if ours != lines[row] {
                    mismatches += 1
                    if mismatches <= 3 {
                        Issue.record("\(name) row \(row - 1):\n ours:    \(ours.prefix(600))\n pyarrow: \(lines[row].prefix(600))")
                    }
                }
            }
        }
        #expect(row == lines.count - 1, "\(name): read \(row) rows, pyarrow \(lines.count - 1)")
        #expect(mismatches == 0, "\(name): \(mismatches) rows differ")
    }

    @Test("metadata and page census match pyarrow's", arguments: OracleFiles.names)
    func metadata(name: String) throws {
        let generated = try OracleFiles.get()
        let entry = try #require(generated.files.first { $0["name"] as? String == name })
        let file = try ParquetFile(path: generated.directory + "/" + name)
        #expect(file.rowCount == Int64(entry["num_rows"] as! Int))
        let groups = entry["row_groups"] as! [[String: Any]]
        #expect(file.rowGroupCount == groups.count)
        for (g, group) in groups.enumerated() {
            #expect(file.metadata.rowGroups[g].rowCount == Int64(group["num_rows"] as! Int))
            let chunks = group["columns"] as! [[String: Any]]
            #expect(chunks.count == file.schema.columns.count)
            for (c, chunk) in chunks.enumerated() {
                let column = file.schema.columns[c]
                let meta = try #require(file.metadata.rowGroups[g].columns[c].metaData)
                let label = "\(name) rg \(g) \(column.name)"
                #expect(column.name == chunk["path"] as! String, "\(label)")
                #expect(meta.type.description == chunk["physical_type"] as! String, "\(label)")
                #expect(meta.codec.description == (chunk["codec_thrift"] as? String ?? chunk["codec"] as! String), "\(label)")
                #expect(Set(meta.encodings.map(\.description)) == Set(chunk["encodings"] as! [String]), "\(label)")
                #expect(meta.valueCount == Int64(chunk["num_values"] as! Int), "\(label)")
                #expect(meta.totalCompressedSize == Int64(chunk["total_compressed_size"] as! Int), "\(label)")
                #expect(meta.totalUncompressedSize == Int64(chunk["total_uncompressed_size"] as! Int), "\(label)")
                // The page walk agrees with the oracle's own walk of the headers.
                let census = try file.columnReader(rowGroup: g, column: column).pageCensus()
                var counts: [String: Int] = [:]
                for page in census { counts[page.type.description, default: 0] += 1 }
                if let expected = chunk["page_counts"] as? [String: Int] {
                    #expect(counts == expected, "\(label): page types")
                }
                if let expected = chunk["data_page_encodings"] as? [String] {
                    var seen: [String] = []
                    for page in census where page.type == .dataPage || page.type == .dataPageV2 {
                        if !seen.contains(page.encoding.description) { seen.append(page.encoding.description) }
                    }
                    #expect(seen == expected, "\(label): data page encodings in order of first use")
                }
            }
        }
    }

    @Test func nestedColumnsAreAClearError() throws {
        let generated = try OracleFiles.get()
        let file = try ParquetFile(path: generated.directory + "/nested.parquet")
        #expect(file.schema.nestedFields.contains("lst") && file.schema.nestedFields.contains("st"))
        for name in ["lst", "st", "st.a", "lst.list.element"] {
            do {
                _ = try file.columns(named: [name])
                Issue.record("selecting nested \(name) did not fail")
            } catch let error as ParquetError {
                #expect(error.kind == .usage)
                #expect(error.description.contains("nested"), "\(error)")
                #expect(error.description.contains(name))
            }
        }
        // The flat column next to them reads, and unselected nested columns are left out.
        #expect(try file.columns(named: nil).map(\.name) == ["id"])
        do {
            _ = try file.columns(named: ["nope"])
            Issue.record("a missing column did not fail")
        } catch let error as ParquetError {
            #expect(error.description.contains("has no column \"nope\""), "\(error)")
        }
    }
}

import ArgumentParser
import Dispatch
import Foundation
import MMedCorpus
import MMedIO
import Parquet
import Synchronization

struct ParquetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parquet",
        abstract: "Look inside Parquet files: schema and page census, rows as JSONL, full decoding checks.",
        subcommands: [ParquetInspect.self, ParquetCat.self, ParquetVerify.self]
    )
}

/// Splits "a,b" into column names (nil when not given).
private func columnList(_ text: String?) -> [String]? {
    text.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
}

struct ParquetInspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Schema, row groups, rows, and per column the codec, encodings, page types and sizes.",
        discussion: "Page figures come from walking every page header (bodies are not decoded). With several files, a census across them follows."
    )

    @Argument(help: "Parquet files.")
    var files: [String]

    @Flag(help: "Write one JSON object per file instead of text.")
    var json = false

    @Flag(help: "List every page, not only per-chunk summaries.")
    var pages = false

    @Flag(help: "Skip the page walk (footer only; fast on huge files).")
    var footerOnly = false

    func run() throws {
        var failures = 0
        var census: [String: [String: Int]] = [:]   // column -> "codec encodings pagetypes" -> chunks
        for path in files {
            do {
                let file = try ParquetFile(path: path)
                let report = try inspect(file)
                if json {
                    let data = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys, .withoutEscapingSlashes])
                    FileHandle.standardOutput.write(data + Data("\n".utf8))
                } else {
                    print(render(report))
                }
                for group in report["row_groups"] as! [[String: Any]] {
                    for column in group["columns"] as! [[String: Any]] {
                        let key = "\(column["codec"]!) [\((column["encodings"] as! [String]).joined(separator: ","))]"
                            + (footerOnly ? "" : " pages: \((column["page_types"] as! [String: Int]).keys.sorted().joined(separator: ","))")
                        census[column["path"] as! String, default: [:]][key, default: 0] += 1
                    }
                }
            } catch {
                failures += 1
                printError("error: \(error)")
            }
        }
        if files.count > 1 && !json {
            print("census of \(files.count - failures) file(s): column chunks by codec, encodings and page types")
            for column in census.keys.sorted() {
                for (key, count) in census[column]!.sorted(by: { $0.key < $1.key }) {
                    print("  \(column): \(key) x\(count)")
                }
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }

    private func inspect(_ file: ParquetFile) throws -> [String: Any] {
        let metadata = file.metadata
        var columns: [[String: Any]] = []
        for column in file.schema.columns {
            var entry: [String: Any] = [
                "path": column.name, "physical_type": column.physicalType.description,
                "repetition": (column.element.repetition ?? .required).description, "flat": column.isFlat,
            ]
            if let annotation = column.annotation { entry["annotation"] = annotation }
            if column.physicalType == .fixedLenByteArray { entry["type_length"] = column.typeLength }
            columns.append(entry)
        }
        var groups: [[String: Any]] = []
        for (index, group) in metadata.rowGroups.enumerated() {
            var chunks: [[String: Any]] = []
            for column in file.schema.columns {
                guard let meta = group.columns[column.index].metaData else {
                    throw ParquetError(.badMetadata, ParquetLocation(file: file.path, rowGroup: index, column: column.name), "the column chunk has no metadata")
                }
                var chunk: [String: Any] = [
                    "path": column.name, "physical_type": meta.type.description, "codec": meta.codec.description,
                    "encodings": meta.encodings.map(\.description), "num_values": meta.valueCount,
                    "total_compressed_size": meta.totalCompressedSize, "total_uncompressed_size": meta.totalUncompressedSize,
                    "has_dictionary_page": (meta.dictionaryPageOffset ?? 0) > 0,
                ]
                if !footerOnly {
                    let reader = try file.columnReader(rowGroup: index, column: column)
                    let census = try reader.pageCensus()
                    var types: [String: Int] = [:]
                    var encodings: [String: Int] = [:]
                    for page in census {
                        types[page.type.description, default: 0] += 1
                        encodings["\(page.type == .dictionaryPage ? "dictionary " : "")\(page.encoding)", default: 0] += 1
                    }
                    let dataPages = census.filter { $0.type == .dataPage || $0.type == .dataPageV2 }
                    chunk["page_types"] = types
                    chunk["page_encodings"] = encodings
                    chunk["has_dictionary_page"] = census.contains { $0.type == .dictionaryPage }
                    if !dataPages.isEmpty {
                        let sizes = dataPages.map(\.compressedSize)
                        chunk["data_page_compressed_bytes"] = ["min": sizes.min()!, "max": sizes.max()!, "mean": sizes.reduce(0, +) / sizes.count]
                    }
                    if pages {
                        chunk["pages"] = census.map { page in
                            ["index": page.index, "type": page.type.description, "encoding": page.encoding.description,
                             "compressed_size": page.compressedSize, "uncompressed_size": page.uncompressedSize,
                             "num_values": page.valueCount, "offset": page.offset] as [String: Any]
                        }
                    }
                }
                chunks.append(chunk)
            }
            groups.append(["index": index, "num_rows": group.rowCount, "total_byte_size": group.totalByteSize, "columns": chunks])
        }
        return [
            "file": file.path, "size": file.size, "format_version": metadata.version, "created_by": metadata.createdBy ?? NSNull(),
            "num_rows": metadata.rowCount, "num_row_groups": metadata.rowGroups.count, "footer_bytes": file.footerLength,
            "schema": columns, "nested_fields": file.schema.nestedFields, "row_groups": groups,
            "key_value_metadata": metadata.keyValueMetadata.map(\.key),
        ]
    }

    private func render(_ report: [String: Any]) -> String {
        var lines: [String] = []
        lines.append("\(report["file"]!): \(report["num_rows"]!) rows in \(report["num_row_groups"]!) row group(s), \(formatBytes(Double(report["size"] as! Int64))), "
            + "format version \(report["format_version"]!), created by \((report["created_by"] as? String) ?? "unknown")")
        lines.append("schema:")
        for column in report["schema"] as! [[String: Any]] {
            let annotation = (column["annotation"] as? String).map { " \($0)" } ?? ""
            let length = (column["type_length"] as? Int).map { "(\($0))" } ?? ""
            lines.append("  \(column["path"]!): \(column["physical_type"]!)\(length)\(annotation) \(column["repetition"]!)\((column["flat"] as! Bool) ? "" : " (nested)")")
        }
        for group in report["row_groups"] as! [[String: Any]] {
            lines.append("row group \(group["index"]!): \(group["num_rows"]!) rows, \(formatBytes(Double(group["total_byte_size"] as! Int64))) uncompressed")
            for chunk in group["columns"] as! [[String: Any]] {
                var line = "  \(chunk["path"]!): \(chunk["codec"]!), encodings \((chunk["encodings"] as! [String]).joined(separator: ",")), "
                    + "\(formatBytes(Double(chunk["total_compressed_size"] as! Int64))) -> \(formatBytes(Double(chunk["total_uncompressed_size"] as! Int64)))"
                if let types = chunk["page_types"] as? [String: Int] {
                    line += "; pages: " + types.sorted(by: { $0.key < $1.key }).map { "\($0.value) \($0.key)" }.joined(separator: ", ")
                }
                if let sizes = chunk["data_page_compressed_bytes"] as? [String: Int] {
                    line += "; data pages \(formatBytes(Double(sizes["min"]!)))..\(formatBytes(Double(sizes["max"]!))) (mean \(formatBytes(Double(sizes["mean"]!))))"
                }
                lines.append(line)
                for page in (chunk["pages"] as? [[String: Any]]) ?? [] {
                    lines.append("    page \(page["index"]!): \(page["type"]!) \(page["encoding"]!), \(page["num_values"]!) values, "
                        + "\(page["compressed_size"]!) -> \(page["uncompressed_size"]!) bytes at \(page["offset"]!)")
                }
            }
        }
        return lines.joined(separator: "\n")
    }
}

struct ParquetCat: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cat",
        abstract: "Write rows as JSONL on standard output (a null as JSON null).",
        discussion: """
        Byte arrays are JSON strings when valid UTF-8, else {"base64": ...}; decimals are numbers; INT96 timestamps \
        are nanoseconds since the epoch; NaN and infinities are written as Python's json module writes them.
        """
    )

    @Argument(help: "Parquet files, read in order.")
    var files: [String]

    @Option(help: "Comma-separated columns to write, in this order (default: every flat column).")
    var columns: String?

    @Option(help: "Stop after this many rows in all.")
    var limit: Int?

    func validate() throws {
        if let limit, limit < 0 { throw ValidationError("--limit must be >= 0") }
    }

    func run() throws {
        let output = ByteBuffer(capacity: 1 << 20)
        var remaining = limit ?? Int.max
        func flush() {
            guard output.count > 0 else { return }
            var written = 0
            while written < output.count {
                let n = write(1, output.base + written, output.count - written)
                if n <= 0 {
                    if n < 0 && errno == EINTR { continue }
                    // A closed pipe (e.g. `| head`) ends the command quietly.
                    Foundation.exit(errno == EPIPE ? 0 : 1)
                }
                written += n
            }
            output.removeAll()
        }
        signal(SIGPIPE, SIG_IGN)
        for path in files where remaining > 0 {
            do {
                let file = try ParquetFile(path: path)
                let selected = try file.columns(named: columnList(columns))
                if columns == nil && !file.schema.nestedFields.isEmpty {
                    printError("note: \(path): nested field(s) \(file.schema.nestedFields.joined(separator: ", ")) not written (only flat columns are read)")
                }
                let writer = ParquetJSONWriter(columns: selected)
                for group in 0..<file.rowGroupCount where remaining > 0 {
                    let cursor = try file.rows(rowGroup: group, columns: selected)
                    while remaining > 0, try cursor.next() {
                        writer.appendRow(cursor, to: output)
                        remaining -= 1
                        if output.count >= 1 << 20 { flush() }
                    }
                }
                flush()
            } catch {
                flush()
                throw CleanExit.message("error: \(error)", code: 1)
            }
        }
        flush()
    }
}

struct ParquetVerify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Decode every page of the selected columns: checks a file end to end and reports decoded bytes and speed.",
        discussion: """
        Single-threaded unless --threads is given (then row groups are decoded in parallel). Exit status 1 if any \
        file fails; each failure names the file, row group, column and page.
        """
    )

    @Argument(help: "Parquet files.")
    var files: [String]

    @Option(help: "Comma-separated columns (default: every flat column).")
    var columns: String?

    @Option(help: "Threads decoding row groups in parallel.")
    var threads: Int = 1

    @Flag(help: "Write one JSON object per file.")
    var json = false

    func validate() throws {
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    /// Totals of one file, added to by the decoding threads.
    struct Totals {
        var values = 0, nulls = 0, pages = 0, decoded = 0
        var failure: String?
    }

    func run() throws {
        var failures = 0
        for path in files {
            let started = DispatchTime.now()
            let cpuStarted = cpuSeconds()
            do {
                let file = try ParquetFile(path: path)
                let selected = try file.columns(named: columnList(columns))
                var stored: Int64 = 0
                for group in file.metadata.rowGroups {
                    for column in selected { stored += group.columns[column.index].metaData?.totalCompressedSize ?? 0 }
                }
                let totalStored = stored
                let totals = Mutex(Totals())
                let done = Atomic<Int64>(0)
                let status = StatusLine(enabled: !json && standardErrorIsTerminal) {
                    let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
                    let read = Double(done.load(ordering: .relaxed))
                    let eta = read > 0 ? elapsed * (Double(totalStored) - read) / read : 0
                    return "verify: \(formatBytes(read)) / \(formatBytes(Double(totalStored))) stored, \(formatBytes(read / max(elapsed, 1e-9)))/s, ETA \(formatDuration(eta))"
                }
                let next = Atomic<Int>(0)
                DispatchQueue.concurrentPerform(iterations: min(threads, max(1, file.rowGroupCount))) { _ in
                    while true {
                        let group = next.add(1, ordering: .relaxed).oldValue
                        guard group < file.rowGroupCount, totals.withLock({ $0.failure == nil }) else { return }
                        var local = Totals()
                        do {
                            for column in selected {
                                let reader = try file.columnReader(rowGroup: group, column: column)
                                while let page = try reader.nextPage() {
                                    local.pages += 1
                                    local.values += page.values.count
                                    local.nulls += page.nullCount
                                    local.decoded += page.values.decodedByteCount
                                    done.add(Int64(page.info.compressedSize), ordering: .relaxed)
                                }
                            }
                        } catch {
                            local.failure = "\(error)"
                        }
                        totals.withLock { totals in
                            totals.values += local.values; totals.nulls += local.nulls
                            totals.pages += local.pages; totals.decoded += local.decoded
                            if totals.failure == nil { totals.failure = local.failure }
                        }
                    }
                }
                status.stop()
                let result = totals.withLock { $0 }
                if let failure = result.failure { throw VerifyFailure(message: failure) }
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
                let cpu = cpuSeconds() - cpuStarted
                if json {
                    let report: [String: Any] = ["file": path, "ok": true, "rows": file.rowCount, "columns": selected.map(\.name), "values": result.values,
                                                 "nulls": result.nulls, "pages": result.pages, "decoded_bytes": result.decoded, "stored_bytes": stored,
                                                 "seconds": seconds, "cpu_seconds": cpu, "threads": threads]
                    let data = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys, .withoutEscapingSlashes])
                    FileHandle.standardOutput.write(data + Data("\n".utf8))
                } else {
                    print("\(path): ok, \(file.rowCount) rows, \(selected.count) column(s), \(result.pages) pages, \(result.values) values, \(result.nulls) nulls, "
                        + "\(formatBytes(Double(result.decoded))) decoded in \(String(format: "%.3f", seconds)) s (\(formatBytes(Double(result.decoded) / max(seconds, 1e-9)))/s)")
                }
            } catch {
                failures += 1
                if json {
                    let data = try JSONSerialization.data(withJSONObject: ["file": path, "ok": false, "error": "\(error)"], options: [.sortedKeys, .withoutEscapingSlashes])
                    FileHandle.standardOutput.write(data + Data("\n".utf8))
                } else {
                    printError("error: \(error)")
                }
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }
}

struct VerifyFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// User + system CPU seconds of this process so far.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

import ArgumentParser
import Dispatch
import Foundation
import MMedCorpus
import MMedIO
import MMedTokenizers

/// `mmed tokenize`: encode, decode and count with any supported tokenizer.
struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Encode, decode and count tokens with a tokenizer.json, tiktoken or SentencePiece tokenizer.",
        subcommands: [TokenizeEncode.self, TokenizeDecode.self, TokenizeCount.self]
    )
}

struct TokenizerOptions: ParsableArguments {
    @Option(help: "The tokenizer: tokenizer.json, a tiktoken tokenizer.model (Llama 3), a SentencePiece .model, or a directory holding one.")
    var tokenizer: String

    @Option(help: ArgumentHelp("Override the BPE model's ignore_merges flag of a tokenizer.json (true restores Meta's Llama 3 tokenization for files converted without it).", valueName: "true|false"))
    var ignoreMerges: Bool?

    func load() throws -> any Tokenizer {
        do {
            if let ignoreMerges {
                let file = try tokenizerFile(at: tokenizer)
                guard let data = FileManager.default.contents(atPath: file) else {
                    throw ValidationError("\(file): cannot read the file")
                }
                return try HuggingFaceTokenizer(json: [UInt8](data), file: file, ignoreMerges: ignoreMerges)
            }
            return try loadTokenizer(path: tokenizer)
        } catch let error as TokenizerError {
            throw ValidationError(error.description)
        }
    }
}

/// Reads documents from inputs: each JSONL record's text field, or a whole `.txt` file; `-` is standard input, one
/// document per line.
func readDocuments(_ paths: [String], textField: String, _ body: (String) throws -> Void) throws {
    for path in paths {
        if path == "-" {
            while let line = readLine(strippingNewline: true) { try body(line) }
            continue
        }
        guard let (format, compression) = InputFile.classify(path: path), format != .parquet else {
            throw ValidationError("\(path): unknown input kind; expected .jsonl, .ndjson, .json or .txt, optionally .gz or .zst")
        }
        if format == .text {
            let source = try openByteSource(path: path, compression: compression)
            let buffer = ByteBuffer(capacity: 1 << 20)
            while try source.append(to: buffer, atMost: 1 << 20) > 0 {}
            try body(String(decoding: buffer.bytes, as: UTF8.self))
            continue
        }
        let reader = LineReader(source: try openByteSource(path: path, compression: compression))
        while let line = try reader.next() {
            if line.bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            let object: Any
            do { object = try JSONSerialization.jsonObject(with: Data(line.bytes)) } catch {
                throw ValidationError("\(path):\(line.number): not valid JSON")
            }
            guard let record = object as? [String: Any], let text = record[textField] as? String else {
                throw ValidationError("\(path):\(line.number): no string field \"\(textField)\"")
            }
            try body(text)
        }
    }
}

struct TokenizeEncode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Print token ids: of --text as one line, or of each input document as a JSON line {\"ids\": [...]}."
    )
    @OptionGroup var options: TokenizerOptions
    @Option(help: "Encode this text.") var text: String?
    @Flag(help: "Do not add the tokenizer's special tokens (BOS, [CLS] … [SEP]).") var noSpecial = false
    @Flag(help: "With --text: also print each token's stored form.") var tokens = false
    @Option(help: "The JSON field holding the text.") var textField = "text"
    @Argument(help: "JSONL or .txt files (optionally .gz/.zst); - reads standard input, a document per line.") var inputs: [String] = []

    func validate() throws {
        if (text == nil) == inputs.isEmpty { throw ValidationError("give either --text or input files") }
    }

    func run() throws {
        let tokenizer = try options.load()
        if let text {
            let ids = tokenizer.encode(text, addSpecialTokens: !noSpecial)
            print(ids.map(String.init).joined(separator: " "))
            if tokens { print(ids.map { tokenizer.tokenString(for: $0) ?? "?" }.map { $0.debugDescription }.joined(separator: " ")) }
            return
        }
        try readDocuments(inputs, textField: textField) { document in
            let ids = tokenizer.encode(document, addSpecialTokens: !noSpecial)
            print("{\"ids\": [" + ids.map(String.init).joined(separator: ", ") + "]}")
        }
    }
}

struct TokenizeDecode: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "decode", abstract: "Print the text of token ids.")
    @OptionGroup var options: TokenizerOptions
    @Flag(help: "Leave out special tokens.") var skipSpecial = false
    @Argument(help: "Token ids (or one argument of space-separated ids).") var ids: [String]

    func run() throws {
        let tokenizer = try options.load()
        var values: [Int32] = []
        for argument in ids {
            for part in argument.split(whereSeparator: { $0 == " " || $0 == "," }) {
                guard let value = Int32(part) else { throw ValidationError("\(part.debugDescription) is not a token id") }
                values.append(value)
            }
        }
        do {
            print(try tokenizer.decode(values, skipSpecialTokens: skipSpecial))
        } catch let error as TokenizerError {
            throw ValidationError(error.description)
        }
    }
}

struct TokenizeCount: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "count",
        abstract: "Count documents, bytes and tokens of inputs, and time loading and encoding.",
        discussion: "Documents are read into memory first, so encode_seconds is the tokenizer's time alone."
    )
    @OptionGroup var options: TokenizerOptions
    @Flag(help: "Do not add the tokenizer's special tokens.") var noSpecial = false
    @Option(help: "Threads encoding documents (default: all cores).") var threads: Int?
    @Option(help: "The JSON field holding the text.") var textField = "text"
    @Flag(help: "Print one JSON object.") var json = false
    @Argument(help: "JSONL or .txt files (optionally .gz/.zst).") var inputs: [String]

    func run() throws {
        let loadStart = DispatchTime.now()
        let tokenizer = try options.load()
        let loadSeconds = Double(DispatchTime.now().uptimeNanoseconds - loadStart.uptimeNanoseconds) / 1e9
        var documents: [String] = []
        try readDocuments(inputs, textField: textField) { documents.append($0) }
        let bytes = documents.reduce(0) { $0 + $1.utf8.count }
        let workers = max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount)
        let addSpecial = !noSpecial
        let cpuStart = processCPUSeconds()
        let encodeStart = DispatchTime.now()
        let totals = UnsafeMutableBufferPointer<Int>.allocate(capacity: workers)
        totals.initialize(repeating: 0)
        defer { totals.deallocate() }
        let shared = documents
        // Each worker writes only its own slot of `totals`.
        nonisolated(unsafe) let slots = totals
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var count = 0
            var index = worker
            while index < shared.count {
                count += tokenizer.encode(shared[index], addSpecialTokens: addSpecial).count
                index += workers
            }
            slots[worker] = count
        }
        let encodeSeconds = Double(DispatchTime.now().uptimeNanoseconds - encodeStart.uptimeNanoseconds) / 1e9
        let cpuSeconds = processCPUSeconds() - cpuStart
        let tokens = totals.reduce(0, +)
        if json {
            print("{\"documents\": \(documents.count), \"bytes\": \(bytes), \"tokens\": \(tokens), \"load_seconds\": \(loadSeconds), \"encode_seconds\": \(encodeSeconds), \"encode_cpu_seconds\": \(cpuSeconds), \"threads\": \(workers)}")
        } else {
            print("documents \(documents.count)  bytes \(bytes)  tokens \(tokens)")
            print(String(format: "load %.1f ms  encode %.3f s  %.1f MB/s (%d threads; CPU %.3f s, %.1f MB/s per CPU second)", loadSeconds * 1000,
                         encodeSeconds, Double(bytes) / 1e6 / max(encodeSeconds, 1e-9), workers, cpuSeconds,
                         Double(bytes) / 1e6 / max(cpuSeconds, 1e-9)))
        }
    }
}

/// CPU time of this process so far (user + system), in seconds.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

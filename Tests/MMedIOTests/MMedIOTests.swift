import Foundation
import Testing
@testable import MMedIO

func temporaryDirectory(_ name: String = #function) -> String {
    let path = NSTemporaryDirectory() + "mmedio-\(name.filter { $0.isLetter || $0.isNumber })-\(UUID().uuidString.prefix(8))"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Runs a command-line tool and returns its exit status.
@discardableResult
func shell(_ arguments: [String]) throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    try process.run()
    process.waitUntilExit()
    return process.terminationStatus
}

/// A source that hands out a byte array in small chunks, to cross chunk boundaries everywhere.
final class ChunkedSource: ByteSource {
    let bytes: [UInt8]
    let size: Int
    var position = 0
    var storage: [UInt8] = []
    var fileBytesConsumed: Int64 { Int64(position) }
    init(_ bytes: [UInt8], chunk: Int) { self.bytes = bytes; size = chunk }
    func nextChunk() throws -> UnsafeRawBufferPointer? {
        guard position < bytes.count else { return nil }
        let end = min(bytes.count, position + size)
        storage = Array(bytes[position..<end])
        position = end
        return storage.withUnsafeBytes { $0 }
    }
}

func readAll(_ source: ByteSource) throws -> [UInt8] {
    var result: [UInt8] = []
    while let chunk = try source.nextChunk() { result.append(contentsOf: chunk) }
    return result
}

@Suite struct JSONScannerTests {
    func scan(_ line: String, keys: [String] = ["text", "id"]) throws -> (JSONObjectScanner, [UInt8]) {
        var scanner = JSONObjectScanner(keys: keys)
        let bytes = Array(line.utf8)
        try bytes.withUnsafeBytes { try scanner.scan($0) }
        return (scanner, bytes)
    }

    func string(_ scanner: JSONObjectScanner, _ bytes: [UInt8], _ index: Int) throws -> String {
        let value = try #require(scanner.values[index])
        var decoded: [UInt8] = []
        try bytes.withUnsafeBytes { try JSONObjectScanner.unescape(UnsafeRawBufferPointer(rebasing: $0[value.range]), into: &decoded) }
        return String(decoding: decoded, as: UTF8.self)
    }

    @Test func findsTopLevelFieldsAndSkipsNestedOnes() throws {
        let line = #"{"meta": {"text": "inner"}, "id": 42, "list": [1, 2.5e3, -0.1, true, null, {"a": []}], "text": "outer \"quoted\" \u00e9\ud83d\ude00"}"#
        let (scanner, bytes) = try scan(line)
        #expect(try string(scanner, bytes, 0) == "outer \"quoted\" é😀")
        #expect(scanner.values[1]?.kind == .number)
        #expect(String(decoding: bytes[scanner.values[1]!.range], as: UTF8.self) == "42")
    }

    @Test func lastDuplicateKeyWinsAsInPython() throws {
        let (scanner, bytes) = try scan(#"{"text": "first", "text": "second"}"#)
        #expect(try string(scanner, bytes, 0) == "second")
    }

    @Test func escapedKeyIsMatched() throws {
        let (scanner, bytes) = try scan(#"{"t\u0065xt": "x"}"#)
        #expect(try string(scanner, bytes, 0) == "x")
    }

    @Test func acceptsPythonsNonFiniteNumbers() throws {
        let (scanner, _) = try scan(#"{"id": NaN, "x": -Infinity, "y": Infinity}"#)
        #expect(scanner.values[1]?.kind == .number)
    }

    static let malformed: [(String, String)] = [
        ("", "empty line"), ("[1]", "expected a JSON object"), (#"{"text": "a""#, "unterminated"),
        (#"{"text": "a" "b"}"#, "expected ','"), (#"{"text": 'a'}"#, "unexpected character"),
        (#"{"text": "a\x"}"#, "invalid escape"), ("{\"text\": \"a\tb\"}", "control character"),
        (#"{"text": 01}"#, "expected ','"), (#"{"text": "a"} x"#, "after the JSON object"),
        (#"{"text": tru}"#, "invalid literal"), (#"{text: 1}"#, "expected a string key"), (#"{"a": 1,}"#, "expected a string key"),
        (#"{"text": "\u12"}"#, "bad \\u escape"),
    ]

    @Test(arguments: malformed)
    func rejectsMalformedLines(line: String, message: String) {
        var scanner = JSONObjectScanner(keys: ["text"])
        let bytes = Array(line.utf8)
        do {
            try bytes.withUnsafeBytes { try scanner.scan($0) }
            Issue.record("accepted malformed line \(line)")
        } catch {
            #expect("\(error)".contains(message), "\(error)")
        }
    }

    @Test func validatesUTF8OutsideDeferredFields() {
        var bytes = Array(#"{"url": "x"#.utf8) + [0xC3, 0x28] + Array(#"", "text": "ok"}"#.utf8)
        var scanner = JSONObjectScanner(keys: ["text"], deferValidation: ["text"])
        #expect(throws: JSONObjectScanner.ScanError.self) { try bytes.withUnsafeBytes { try scanner.scan($0) } }
        // In the deferred field the caller validates later.
        bytes = Array(#"{"text": "x"#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)
        #expect(throws: Never.self) { try bytes.withUnsafeBytes { try scanner.scan($0) } }
    }

    @Test func loneSurrogateEscapeIsAnError() {
        var output: [UInt8] = []
        let body = Array(#"a\ud800b"#.utf8)
        #expect(throws: JSONObjectScanner.ScanError.self) {
            try body.withUnsafeBytes { try JSONObjectScanner.unescape($0, into: &output) }
        }
    }

    @Test func writerEscapesLikePythonJSONAndRoundTrips() throws {
        let text = "quote \" backslash \\ newline \n tab \t bell \u{7} é 😀 \u{2028}"
        let buffer = ByteBuffer()
        buffer.appendJSONString(text)
        let decoded = try JSONSerialization.jsonObject(with: Data(buffer.array), options: .fragmentsAllowed) as? String
        #expect(decoded == text)
        #expect(String(decoding: buffer.bytes, as: UTF8.self) == #""quote \" backslash \\ newline \n tab \t bell \u0007 é 😀 "# + "\u{2028}\"")
    }
}

@Suite struct LineReaderTests {
    @Test(arguments: [1, 2, 3, 7, 64, 4096])
    func splitsLinesAcrossChunkBoundaries(chunk: Int) throws {
        let text = "first\r\nsecond line\n\nthird é\nlast without newline"
        let reader = LineReader(source: ChunkedSource(Array(text.utf8), chunk: chunk))
        var lines: [(String, Int, Int64)] = []
        while let line = try reader.next() {
            lines.append((String(decoding: line.bytes, as: UTF8.self), line.number, line.offset))
        }
        #expect(lines.map(\.0) == ["first\r", "second line", "", "third é", "last without newline"])
        #expect(lines.map(\.1) == [1, 2, 3, 4, 5])
        #expect(lines.map(\.2) == [0, 7, 19, 20, 29])
        #expect(!reader.lastLineHadNewline)
    }
}

@Suite struct CompressionTests {
    let sample: [UInt8] = Array((0..<20_000).map { "{\"id\": \($0), \"text\": \"line \($0) é\"}\n" }.joined().utf8)

    @Test func zstdRoundTripThroughOurWriter() throws {
        let directory = temporaryDirectory()
        let path = directory + "/a.jsonl.zst"
        let writer = try ZstdFileWriter(path: path)
        try sample.withUnsafeBytes { try writer.write($0) }
        try writer.commit()
        #expect(try readAll(openByteSource(path: path)) == sample)
        // zstd's own tool reads it too.
        #expect(try shell(["zstd", "-t", "-q", path]) == 0)
    }

    @Test func multiFrameZstdAndMultiMemberGzipFromTheCommandLineTools() throws {
        let directory = temporaryDirectory()
        let plain = directory + "/part.jsonl"
        try Data(sample).write(to: URL(fileURLWithPath: plain))
        try shell(["zstd", "-q", "-f", plain, "-o", directory + "/p.zst"])
        try shell(["gzip", "-k", "-f", plain])
        try shell(["sh", "-c", "cat \(directory)/p.zst \(directory)/p.zst > \(directory)/two.jsonl.zst"])
        try shell(["sh", "-c", "cat \(plain).gz \(plain).gz > \(directory)/two.jsonl.gz"])
        #expect(try readAll(openByteSource(path: directory + "/two.jsonl.zst")) == sample + sample)
        #expect(try readAll(openByteSource(path: directory + "/two.jsonl.gz")) == sample + sample)
    }

    @Test(arguments: ["zst", "gz"])
    func truncatedAndCorruptStreamsAreErrorsOfTheirKind(suffix: String) throws {
        let directory = temporaryDirectory("broken\(suffix)")
        let plain = directory + "/x.jsonl"
        try Data(sample).write(to: URL(fileURLWithPath: plain))
        if suffix == "zst" { try shell(["zstd", "-q", "-f", plain, "-o", plain + ".zst"]) } else { try shell(["gzip", "-k", "-f", plain]) }
        let compressed = try Data(contentsOf: URL(fileURLWithPath: plain + "." + suffix))
        let truncated = directory + "/t.jsonl." + suffix
        try compressed.prefix(compressed.count / 2).write(to: URL(fileURLWithPath: truncated))
        #expect {
            _ = try readAll(openByteSource(path: truncated))
        } throws: { ($0 as? MMedIOError)?.kind == .truncatedCompressed }

        var flipped = [UInt8](compressed)
        for index in stride(from: 40, to: flipped.count - 16, by: 97) { flipped[index] ^= 0x5A }
        let corrupt = directory + "/c.jsonl." + suffix
        try Data(flipped).write(to: URL(fileURLWithPath: corrupt))
        #expect {
            _ = try readAll(openByteSource(path: corrupt))
        } throws: { ($0 as? MMedIOError)?.kind == .corruptCompressed }
    }

    @Test func emptyCompressedFileIsTruncated() throws {
        let path = temporaryDirectory() + "/empty.jsonl.zst"
        _ = FileManager.default.createFile(atPath: path, contents: Data())
        #expect { _ = try readAll(openByteSource(path: path)) } throws: { ($0 as? MMedIOError)?.kind == .truncatedCompressed }
    }

    @Test func missingFileNamesThePath() {
        #expect { _ = try openByteSource(path: "/nonexistent/file.jsonl") } throws: {
            ($0 as? MMedIOError)?.kind == .notFound && "\($0)".contains("/nonexistent/file.jsonl")
        }
    }
}

@Suite struct AtomicFileTests {
    @Test func commitMovesIntoPlaceAndLeavesNoTemporaryFiles() throws {
        let directory = temporaryDirectory()
        let path = directory + "/sub/out.txt"
        let writer = try AtomicFileWriter(path: path)
        try writer.write("hello")
        #expect(!FileManager.default.fileExists(atPath: path))
        try writer.commit()
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "hello")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/sub") == ["out.txt"])
    }

    @Test func abandonedWriterLeavesNothing() throws {
        let directory = temporaryDirectory()
        do {
            let writer = try AtomicFileWriter(path: directory + "/never.txt")
            try writer.write("partial")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
    }

    @Test func sha256MatchesKnownVectors() {
        #expect(SHA256.hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }
}

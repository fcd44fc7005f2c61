import Foundation
import MMedCorpus
import MMedIO
import MMedPretrain
import MMedTestSupport
import Testing

@Suite struct FileFormatTests {
    @Test func megatronIndexLayoutIsMegatronCores() throws {
        // Two documents: one of two sequences (3 and 2 tokens), one of one sequence (4 tokens).
        let index = MegatronIndex(dtype: .int32, sequenceLengths: [3, 2, 4], documentIndices: [0, 2, 3])
        var expected: [UInt8] = Array("MMIDIDX".utf8) + [0, 0]
        expected += [1, 0, 0, 0, 0, 0, 0, 0]          // version 1, <Q
        expected += [4]                               // int32 is DType code 4, <B
        expected += [3, 0, 0, 0, 0, 0, 0, 0]          // sequence count, <Q
        expected += [3, 0, 0, 0, 0, 0, 0, 0]          // document-index count (documents + 1), <Q
        expected += [3, 0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0]                              // lengths, int32
        expected += [0, 0, 0, 0, 0, 0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0] // byte pointers, int64
        expected += [0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0]  // document indices, int64
        #expect(index.serialized() == expected)
        #expect(try MegatronIndex(parsing: expected, file: "x.idx") == index)
        #expect(index.dataBytes == 36)

        let mask = MegatronIndex(dtype: .uint8, sequenceLengths: [3, 2, 4], documentIndices: [0, 2, 3])
        #expect(mask.serialized()[17] == 1)           // uint8 is code 1
        #expect(mask.sequencePointers == [0, 3, 5])   // byte offsets of one-byte values
    }

    @Test func megatronDTypeCodesAreMegatronCores() {
        let codes = Dictionary(uniqueKeysWithValues: MegatronDType.allCases.map { ($0.name, $0.rawValue) })
        #expect(codes == ["uint8": 1, "int8": 2, "int16": 3, "int32": 4, "int64": 5, "float64": 6, "float32": 7, "uint16": 8])
    }

    @Test func damagedIndexesAreRefusedWithTheFileName() {
        let good = MegatronIndex(dtype: .int32, sequenceLengths: [3], documentIndices: [0, 1]).serialized()
        for damaged in [Array(good.dropLast()), [0x00] + good.dropFirst(), good + [0]] {
            #expect(throws: MMedIOError.self) { try MegatronIndex(parsing: damaged, file: "bad.idx") }
        }
        // The last document index must be the sequence count (Megatron asserts it on load).
        let wrongEnd = MegatronIndex(dtype: .int32, sequenceLengths: [3, 4], documentIndices: [0, 1]).serialized()
        do {
            _ = try MegatronIndex(parsing: wrongEnd, file: "bad.idx")
            Issue.record("accepted an index whose documents end before its sequences")
        } catch {
            #expect("\(error)".contains("bad.idx"))
        }
    }

    @Test func npyHeaderIsNumpysByteForByte() {
        // np.save(f, np.arange(2048, dtype=np.int64)) with numpy 2.x: a 128-byte header.
        let header = numpyHeader(descr: "<i8", count: 2048)
        let dictionary = "{'descr': '<i8', 'fortran_order': False, 'shape': (2048,), }"
        let expected: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, 118, 0] + Array(dictionary.utf8)
            + Array(repeating: 0x20, count: 118 - dictionary.utf8.count - 1) + [0x0A]
        #expect(header == expected)
        for count in [0, 1, 5, 64, 2048, 123_456_789] { #expect(numpyHeader(descr: "<i8", count: count).count % 64 == 0) }
        let file = numpyInt64File([Int32(-1), 7])
        #expect(Array(file.suffix(16)) == [255, 255, 255, 255, 255, 255, 255, 255, 7, 0, 0, 0, 0, 0, 0, 0])
    }

    @Test func npyNamesAreTheOriginalsUnlessTheyWouldCollide() {
        let naming = NpyNaming(inputs: ["/d/cardiology.txt", "/d/a.en.txt", "/e/A.fr.txt", "/d/web.jsonl", "/d/rows.parquet",
                                        "/d/x_1.txt", "/d/x.txt"])
        #expect(NpyNaming.originalStem("/d/a.en.txt.gz") == "a")
        #expect(NpyNaming.fileName(document: naming.documentName(input: "/d/cardiology.txt"), window: 3) == "cardiology_3.npy")
        #expect(naming.documentName(input: "/d/a.en.txt") == "a.input1")
        #expect(naming.documentName(input: "/e/A.fr.txt") == "A.input2")
        #expect(naming.documentName(input: "/d/web.jsonl", line: 12) == "web.line12")
        #expect(naming.documentName(input: "/d/rows.parquet", row: 0) == "rows.row0")
        #expect(naming.documentName(input: "/d/x_1.txt") == "x_1")
        // x_1's window 0 and x's window 10 stay apart: the window number is the last "_" field.
        #expect(NpyNaming.fileName(document: "x_1", window: 0) != NpyNaming.fileName(document: "x", window: 10))
    }
}

import Foundation
import MMedIO
import MMedTestSupport
import Testing
@testable import MMedText

/// PythonLiteralParser against Python's own `ast.literal_eval` (Tests/Oracles/python_literal_oracle.py).
@Suite struct PythonLiteralTests {
    static let samples: [String] = [
        "0", "-7", "+3", "1_000", "12345678901234567", "3.25", "-3.14e+100", "1e-300", "2.5E3", ".5", "5.", "0.1",
        "-0.0", "123456789012345678901234567890.5",
        "'a'", "\"b\"", "u'\\u6050\\u308b'", "'\\U0001F600'", "'\\ud83d\\ude00'", "'\\x41\\t\\n\\\\'", "'\\101'",
        "r'\\n\\d'", "'''tri\nple'''", "'ab' 'cd'", "'unknown \\q escape'", "'caf\u{e9} \u{4e2d}'", "b'\\x00\\xff'",
        "[1, 2, 3,]", "(1,)", "(1)", "()", "[]", "{}", "{1, 2}", "{'a': 1, 'b': [2, 3.5], 'a': 4}",
        "frozenset(('x', 'y'))", "set([1])", "None", "True", "False",
        "{0:(u'\\u3053\\u306e',1315,1315, 4877),1:(u'x',-1,2,3)}",
        "[[1, -2], [3, 4]]  # comment", "{'B': {'E': -0.510825623765990, 'M': -0.916290731874155}}",
        "[1, 2", "'open", "foo", "{1: }",
    ]

    @Test func readsWhatPythonReads() throws {
        let folder = temporaryDirectory()
        let input = folder + "/in.json", output = folder + "/out.json"
        let encoded = "[" + Self.samples.map { text -> String in
            let buffer = ByteBuffer()
            buffer.appendJSONString(text)
            return String(decoding: buffer.bytes, as: UTF8.self)
        }.joined(separator: ",") + "]"
        try encoded.write(toFile: input, atomically: true, encoding: .utf8)
        try Oracle.run("python_literal_oracle.py", [input, output])
        let expected = try JSONValue.parse([UInt8](try Data(contentsOf: URL(fileURLWithPath: output)))).array!
        #expect(expected.count == Self.samples.count)
        var errors = 0
        for (text, golden) in zip(Self.samples, expected) {
            var parser = PythonLiteralParser(bytes: Array(text.utf8), source: "sample")
            let ours: PythonLiteral?
            do {
                let value = try parser.value()
                parser.skipTrivia()
                ours = parser.isAtEnd ? value : nil
            } catch { ours = nil }
            if golden.array![0].string == "error" {
                errors += 1
                #expect(ours == nil, "Python refuses \(text.debugDescription)")
                continue
            }
            guard let ours else { Issue.record("we refuse \(text.debugDescription)"); continue }
            #expect(tagged(ours) == golden.jsonText, "\(text.debugDescription): \(tagged(ours)) vs \(golden.jsonText)")
        }
        #expect(errors == 4)
    }

    /// The oracle's tagged form, as JSON text.
    func tagged(_ value: PythonLiteral) -> String {
        func tag(_ value: PythonLiteral) -> JSONValue {
            switch value {
            case .none: return .array([.string("none")])
            case .bool(let b): return .array([.string("bool"), .bool(b)])
            case .int(let i): return .array([.string("int"), .number(Double(i))])
            case .float(let d): return .array([.string("float"), .string(pythonHex(d))])
            case .string(let s): return .array([.string("str"), .string(s)])
            case .bytes(let b): return .array([.string("bytes"), .array(b.map { .number(Double($0)) })])
            case .list(let e): return .array([.string("list"), .array(e.map(tag))])
            case .tuple(let e): return .array([.string("tuple"), .array(e.map(tag))])
            case .set(let e):
                var seen = Set<String>()
                let unique = e.map(tag).filter { seen.insert($0.jsonText).inserted }
                return .array([.string("set"), .array(unique.sorted { $0.jsonText < $1.jsonText })])
            case .dict(let keys, let values):
                // Python keeps a repeated key once, at its first position, with the last value.
                var order: [String] = []
                var entries: [String: (JSONValue, JSONValue)] = [:]
                for (k, v) in zip(keys, values) {
                    let key = tag(k)
                    if entries[key.jsonText] == nil { order.append(key.jsonText) }
                    entries[key.jsonText] = (key, tag(v))
                }
                return .array([.string("dict"), .array(order.map { .array([entries[$0]!.0, entries[$0]!.1]) })])
            }
        }
        return tag(value).jsonText
    }

    /// Python's `float.hex()`.
    func pythonHex(_ d: Double) -> String {
        if d == 0 { return d.sign == .minus ? "-0x0.0p+0" : "0x0.0p+0" }
        let sign = d < 0 ? "-" : ""
        let a = abs(d)
        var exponent = Int(a.exponent)
        var significand = a.significandBitPattern
        var lead = 1
        if a.isSubnormal { lead = 0; exponent = -1022 }
        var hex = String(significand, radix: 16)
        hex = String(repeating: "0", count: 13 - hex.count) + hex
        significand = 0
        return "\(sign)0x\(lead).\(hex)p\(exponent >= 0 ? "+" : "")\(exponent)"
    }
}

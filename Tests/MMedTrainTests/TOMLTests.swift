import Testing
@testable import MMedTrain

@Suite struct TOMLTests {
    @Test func parsesWhatRecipesUse() throws {
        let text = """
        # a comment
        title = "MMed" # trailing comment
        literal = 'C:\\path'
        escaped = "tab\\there \\u00e9 \\U0001F600 \\"q\\""
        multi = \"\"\"
        first \\
          second\"\"\"
        raw = '''
        line one
        line two'''
        count = 1_024
        negative = -17
        hex = 0xff
        octal = 0o17
        binary = 0b101
        lr = 2e-5
        ratio = 0.03
        big = 5_000_000_000
        positive = +1.5
        infinite = -inf
        yes = true
        no = false
        "quoted key" = 1
        dotted.inner = "d"

        [table]
        betas = [0.9, 0.999]
        modules = [
          "q_proj",  # the query
          "v_proj",
        ]
        nested = [[1, 2], ["a"]]
        inline = { r = 16, alpha = 32.0, names = ["x"], deep = { a = 1 } }
        empty = {}

        [table.sub]
        key = "value"

        [a.b.c]
        x = 1
        [a]
        y = 2
        """
        let document = try TOML.parse(text, file: "t.toml")
        #expect(document["title"] == .string("MMed"))
        #expect(document["literal"] == .string("C:\\path"))
        #expect(document["escaped"] == .string("tab\there é 😀 \"q\""))
        #expect(document["multi"] == .string("first second"))
        #expect(document["raw"] == .string("line one\nline two"))
        #expect(document["count"] == .integer(1024))
        #expect(document["negative"] == .integer(-17))
        #expect(document["hex"] == .integer(255))
        #expect(document["octal"] == .integer(15))
        #expect(document["binary"] == .integer(5))
        #expect(document["lr"] == .float(2e-5))
        #expect(document["ratio"] == .float(0.03))
        #expect(document["big"] == .integer(5_000_000_000))
        #expect(document["positive"] == .float(1.5))
        #expect(document["infinite"] == .float(-.infinity))
        #expect(document["yes"] == .boolean(true))
        #expect(document["no"] == .boolean(false))
        #expect(document["quoted key"] == .integer(1))
        guard case .table(let dotted) = document["dotted"] else { Issue.record("dotted"); return }
        #expect(dotted["inner"] == .string("d"))
        guard case .table(let table) = document["table"] else { Issue.record("table"); return }
        #expect(table["betas"] == .array([.float(0.9), .float(0.999)]))
        #expect(table["modules"] == .array([.string("q_proj"), .string("v_proj")]))
        #expect(table["nested"] == .array([.array([.integer(1), .integer(2)]), .array([.string("a")])]))
        guard case .table(let inline) = table["inline"] else { Issue.record("inline"); return }
        #expect(inline.keys == ["r", "alpha", "names", "deep"])
        #expect(inline["alpha"] == .float(32))
        #expect(table.line(of: "modules") == 28)
        guard case .table(let sub) = table["sub"] else { Issue.record("sub"); return }
        #expect(sub["key"] == .string("value"))
        guard case .table(let a) = document["a"], case .table(let b) = a["b"], case .table(let c) = b["c"] else { Issue.record("a.b.c"); return }
        #expect(c["x"] == .integer(1))
        #expect(a["y"] == .integer(2))
        #expect(document.keys.first == "title")
    }

    static let errors: [(text: String, line: Int, message: String)] = [
        ("a = 1\na = 2", 2, "duplicate key 'a' (first defined on line 1)"),
        ("[t]\nx = 1\n[t]", 3, "table [t] is defined twice"),
        ("a = 1\n[a]", 2, "'a' is already a integer"),
        ("x = \"open", 1, "unterminated string"),
        ("x = \"bad \\q\"", 1, "invalid escape \\q"),
        ("x = \"\\u12zz\"", 1, "bad hex digit"),
        ("x = \"\\u12\"", 1, "truncated \\u escape"),
        ("x = hello", 1, "invalid value 'hello'; strings need quotes"),
        ("x = 012", 1, "invalid integer '012'"),
        ("x = 99999999999999999999", 1, "invalid integer"),
        ("x = 1__0", 1, "invalid integer"),
        ("x = 1.", 1, "invalid value '1.'"),
        ("\n\nkey 1", 3, "expected '=' after the key 'key'"),
        ("x = 1 2", 1, "unexpected '2' after the value"),
        ("x = [1, 2", 1, "unterminated array"),
        ("x = [1 2]", 1, "expected ',' or ']' in the array"),
        ("x = { a = 1, }", 1, "trailing comma"),
        ("x = { a = 1,\n b = 2 }", 1, "an inline table must be on one line"),
        ("x = { a = 1\n}", 1, "an inline table must be on one line"),
        ("x = { a = 1 }\n[x]", 2, "inline table"),
        ("[[items]]", 1, "arrays of tables"),
        ("d = 1979-05-27", 1, "dates and times are not supported"),
        ("x =", 1, "expected a value"),
        ("[t", 1, "expected ']'"),
        ("x = \"a\nb\"", 1, "newline in a single-line string"),
        ("a.b = 1\n[a]", 2, "already defined by dotted keys"),
        ("x = '''never closed", 1, "unterminated multi-line string"),
    ]

    @Test(arguments: errors)
    func errorsNameTheFileAndLine(_ example: (text: String, line: Int, message: String)) {
        do {
            _ = try TOML.parse(example.text, file: "/r/x.toml")
            Issue.record("parsed: \(example.text)")
        } catch {
            #expect(error.file == "/r/x.toml")
            #expect(error.line == example.line, "\(error)")
            #expect(error.message.contains(example.message), "\(error)")
            #expect(error.description.hasPrefix("/r/x.toml:\(example.line): "))
        }
    }
}

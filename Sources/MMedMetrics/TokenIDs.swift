/// Numbers tokens by their exact code points, so n-gram counting compares integers and two tokens are equal exactly
/// when Python's `==` says so (Swift `String` equality is canonical equivalence: "é" would equal "e\u{301}").
public struct TokenIDs: Sendable {
    private struct Key: Hashable {
        var bytes: [UInt8]
    }
    private var ids: [Key: Int32] = [:]

    public init() {}

    public var count: Int { ids.count }

    public mutating func id(_ token: String) -> Int32 {
        let key = Key(bytes: Array(token.utf8))
        if let id = ids[key] { return id }
        let id = Int32(ids.count)
        ids[key] = id
        return id
    }

    public mutating func ids(_ tokens: [String]) -> [Int32] {
        tokens.map { id($0) }
    }
}

/// Keys and values of the tokens seen so far, per layer and KV head: [layer][kvHead][position][headDim], so one
/// head's keys are a contiguous matrix for the attention products.
public final class KVCache: @unchecked Sendable {
    // @unchecked: used by one generation at a time.
    public let capacity: Int
    let layers: Int
    let kvHeads: Int
    let headDim: Int
    var keys: [Float]
    var values: [Float]
    /// Positions filled.
    public internal(set) var count = 0

    init(config: ModelConfig, capacity: Int) {
        self.capacity = capacity
        layers = config.layerCount
        kvHeads = config.kvHeadCount
        headDim = config.headDim
        let size = layers * kvHeads * capacity * headDim
        keys = [Float](repeating: 0, count: size)
        values = [Float](repeating: 0, count: size)
    }

    @inline(__always)
    func offset(layer: Int, head: Int, position: Int) -> Int {
        ((layer * kvHeads + head) * capacity + position) * headDim
    }

    /// Forgets positions from `position` on (to reuse a shared prompt prefix).
    public func truncate(to position: Int) { count = min(count, max(0, position)) }

    public static func bytes(config: ModelConfig, capacity: Int) -> Int {
        2 * config.layerCount * config.kvHeadCount * capacity * config.headDim * 4
    }
}

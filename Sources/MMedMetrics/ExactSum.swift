/// Python's `math.fsum`: the correctly rounded sum of doubles (Shewchuk's partials, then a half-even correction),
/// which nltk's BLEU uses to add the weighted log precisions.
public func exactSum(_ values: [Double]) -> Double {
    var partials: [Double] = []
    for value in values {
        var x = value
        var kept = 0
        for index in partials.indices {
            var y = partials[index]
            if abs(x) < abs(y) { swap(&x, &y) }
            let hi = x + y
            let lo = y - (hi - x)
            if lo != 0 {
                partials[kept] = lo
                kept += 1
            }
            x = hi
        }
        partials.removeSubrange(kept...)
        partials.append(x)
    }
    guard var n = partials.indices.last else { return 0 }
    var hi = partials[n]
    var lo = 0.0
    while n > 0 {
        let x = hi
        n -= 1
        let y = partials[n]
        hi = x + y
        lo = y - (hi - x)
        if lo != 0 { break }
    }
    if n > 0 && ((lo < 0 && partials[n - 1] < 0) || (lo > 0 && partials[n - 1] > 0)) {
        let y = lo * 2
        let x = hi + y
        if y == x - hi { hi = x }
    }
    return hi
}

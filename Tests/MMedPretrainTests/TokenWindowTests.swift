import MMedPretrain
import MMedTokenizers
import MMedTestSupport
import Testing

@Suite struct TokenWindowTests {
    /// (W, O) pairs: the original's proportions, no overlap, the largest overlap, odd sizes, a window of 1.
    /// (2048, 512), the original's, is checked on every 7th length and around every multiple of the stride and window.
    static let windowSettings: [(Int, Int)] = [(8, 2), (16, 4), (7, 0), (7, 6), (5, 3), (1, 0), (12, 11), (64, 16), (2048, 512)]

    @Test(arguments: windowSettings.indices)
    func windowsAreTheOriginalsForEveryLengthUpToThreeWindows(_ index: Int) {
        let (window, overlap) = Self.windowSettings[index]
        let pad: Int32 = 99_999
        var lengths = Set(0...(3 * window))
        if window > 64 {
            lengths = Set(stride(from: 0, through: 3 * window, by: 7))
            for multiple in stride(from: 0, through: 3 * window, by: window - overlap) + [window, 2 * window, 3 * window] {
                for delta in -2...2 where multiple + delta >= 0 { lengths.insert(multiple + delta) }
            }
        }
        for lossMask in LossMaskMode.allCases {
            let settings = SequenceSettings(mode: .window, windowSize: window, overlap: overlap, padID: pad, lossMask: lossMask)
            for length in lengths.sorted() {
                let ids = (0..<length).map { Int32($0) }
                let expected = originalWindows(ids, window: window, overlap: overlap, pad: pad)
                let sequences = makeSequences(ids: ids, settings: settings)
                #expect(sequences.map(\.tokens) == expected.map(\.ids), "W \(window) O \(overlap) length \(length)")
                #expect(sequences.map(\.padding) == expected.map(\.padding), "W \(window) O \(overlap) length \(length)")
                for sequence in sequences {
                    #expect(sequence.tokens.count == window)
                    let masked = lossMask == .published ? 0 : sequence.padding
                    #expect(sequence.lossMask == Array(repeating: 1, count: window - masked) + Array(repeating: 0, count: masked))
                }
                // The spans say the same as the materialised windows.
                let spans = sequenceSpans(tokenCount: length, settings: settings)
                #expect(spans.count == sequences.count)
                for (span, sequence) in zip(spans, sequences) {
                    #expect(Array(ids[span.start..<span.end]) + Array(repeating: pad, count: span.padding) == sequence.tokens)
                }
            }
        }
    }

    @Test func theDefaultsAreTheOriginals() {
        let settings = SequenceSettings(padID: 0)
        #expect(settings.mode == .window && settings.windowSize == 2048 && settings.overlap == 512 && settings.stride == 1536)
        #expect(settings.lossMask == .excludePadding)
        // 5000 tokens: windows at 0 and 1536, then the tail: the last 2048 tokens (from 2952), not one at 3072.
        #expect(sequenceSpans(tokenCount: 5000, settings: settings).map(\.start) == [0, 1536, 2952])
        // Exactly W tokens: one window, no padding; W + 1: the tail overlaps the first by W - 1.
        #expect(sequenceSpans(tokenCount: 2048, settings: settings) == [SequenceSpan(start: 0, end: 2048, padding: 0)])
        #expect(sequenceSpans(tokenCount: 2049, settings: settings).map(\.start) == [0, 1])
        #expect(sequenceSpans(tokenCount: 10, settings: settings) == [SequenceSpan(start: 0, end: 10, padding: 2038)])
    }

    @Test func documentModeIsOneUnpaddedSequence() {
        let settings = SequenceSettings(mode: .document, padID: 7, lossMask: .excludePadding)
        for length in [1, 2, 2047, 2048, 5000] {
            let ids = (0..<length).map { Int32($0 % 300) }
            let sequences = makeSequences(ids: ids, settings: settings)
            #expect(sequences == [TokenSequence(tokens: ids, lossMask: Array(repeating: 1, count: length), padding: 0)])
        }
        #expect(sequenceSpans(tokenCount: 0, settings: settings).isEmpty)
    }

    @Test func settingsThatCannotCutWindowsAreRefused() {
        #expect(SequenceSettings(windowSize: 64, overlap: 64, padID: 0).problem != nil)
        #expect(SequenceSettings(windowSize: 64, overlap: -1, padID: 0).problem != nil)
        #expect(SequenceSettings(windowSize: 0, overlap: 0, padID: 0).problem != nil)
        #expect(SequenceSettings(windowSize: 64, overlap: 63, padID: 0).problem == nil)
        #expect(SequenceSettings(mode: .document, windowSize: 0, overlap: 9, padID: 0).problem == nil)
    }

    @Test func padIDIsTheOptionThenThePadTokenThenEOS() {
        let llama3 = SpecialTokenIDs(bos: 128_000, eos: 128_001)
        #expect(resolvePadID(explicit: nil, specialTokens: llama3)! == (128_001, .tokenizerEOS))
        #expect(resolvePadID(explicit: 5, specialTokens: llama3)! == (5, .option))
        let withPad = SpecialTokenIDs(bos: 1, eos: 2, pad: 0)
        #expect(resolvePadID(explicit: nil, specialTokens: withPad)! == (0, .tokenizerPad))
        #expect(resolvePadID(explicit: nil, specialTokens: SpecialTokenIDs(bos: 1)) == nil)
        #expect(resolvePadID(explicit: 3, specialTokens: SpecialTokenIDs())! == (3, .option))
    }
}

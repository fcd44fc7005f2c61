import MMedText

/// The MMedC medical keyword filter for one language: keep a document when MKC ≥ t_mkc and DENS ≥ t_dens.
public struct MedicalKeywordFilter: Sendable {
    public let language: Language
    public let thresholds: Thresholds
    public let mode: MatchMode
    public let list: KeywordList
    public let matcher: KeywordMatcher

    public init(list: KeywordList, language: Language, thresholds: Thresholds, mode: MatchMode = .paper) {
        self.language = language
        self.thresholds = thresholds
        self.mode = mode
        self.list = list
        matcher = KeywordMatcher(list: list, language: language, mode: mode)
    }

    @inline(__always)
    public func keeps(_ score: KeywordScorer.Score) -> Bool {
        score.uniqueKeywordCount >= thresholds.minKeywordCount && score.keywordDensity >= thresholds.minDensity
    }
}

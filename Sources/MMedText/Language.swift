/// The languages MMedKit filters, by ISO 639-1 code.
public enum Language: String, CaseIterable, Sendable, Codable, Comparable {
    case en, zh, ja, fr, ru, es, de, ar

    /// Parses an ISO 639-1 code, accepting the original MMedLM code `jp` for Japanese and any case.
    public init?(code: String) {
        let lowered = code.lowercased()
        if lowered == "jp" { self = .ja; return }
        self.init(rawValue: lowered)
    }

    /// Languages written without spaces between words, where keywords are matched as substrings.
    public var isUnspaced: Bool { self == .zh || self == .ja }

    public var englishName: String {
        switch self {
        case .en: "English"
        case .zh: "Chinese"
        case .ja: "Japanese"
        case .fr: "French"
        case .ru: "Russian"
        case .es: "Spanish"
        case .de: "German"
        case .ar: "Arabic"
        }
    }

    public static func < (lhs: Language, rhs: Language) -> Bool { lhs.rawValue < rhs.rawValue }

    public static var supportedCodes: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

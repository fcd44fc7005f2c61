import Foundation

/// Human-readable figures for progress lines: "1.23 GB", "4m05s", "12.3k".
public func formatBytes(_ bytes: Double) -> String {
    if bytes >= 1e9 { return String(format: "%.2f GB", bytes / 1e9) }
    if bytes >= 1e6 { return String(format: "%.1f MB", bytes / 1e6) }
    if bytes >= 1e3 { return String(format: "%.1f kB", bytes / 1e3) }
    return "\(Int(bytes)) B"
}

public func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "--" }
    let total = Int(seconds.rounded())
    if total >= 86400 { return "\(total / 86400)d\(String(format: "%02d", total % 86400 / 3600))h" }
    if total >= 3600 { return "\(total / 3600)h\(String(format: "%02d", total % 3600 / 60))m" }
    if total >= 60 { return "\(total / 60)m\(String(format: "%02d", total % 60))s" }
    return "\(total)s"
}

public func formatCount(_ count: Double) -> String {
    if count >= 1e6 { return String(format: "%.2fM", count / 1e6) }
    if count >= 1e3 { return String(format: "%.1fk", count / 1e3) }
    return String(Int(count))
}

import Dispatch
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Writes to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write((message + "\n").data(using: .utf8)!)
}

/// Whether standard error is a terminal (progress is shown only there).
var standardErrorIsTerminal: Bool { isatty(2) == 1 }

/// Redraws one status line on standard error twice a second, on a terminal only.
final class StatusLine: @unchecked Sendable {
    // @unchecked: `timer` is created and cancelled on the caller's thread; the handler only reads the
    // closure, which is immutable and Sendable.
    private var timer: DispatchSourceTimer?
    private let render: @Sendable () -> String

    init(enabled: Bool, render: @escaping @Sendable () -> String) {
        self.render = render
        guard enabled else { return }
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "mmed.status"))
        timer.schedule(deadline: .now() + .milliseconds(500), repeating: .milliseconds(500))
        timer.setEventHandler { [render] in
            FileHandle.standardError.write(("\r\u{1B}[K" + render()).data(using: .utf8)!)
        }
        timer.resume()
        self.timer = timer
    }

    func stop() {
        guard let timer else { return }
        timer.cancel()
        self.timer = nil
        FileHandle.standardError.write("\r\u{1B}[K".data(using: .utf8)!)
    }
}

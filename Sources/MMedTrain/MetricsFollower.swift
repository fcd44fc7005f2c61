import Foundation
import MMedIO

/// One line of `RUN/metrics.jsonl`.
public enum MetricsRecord: Sendable, Equatable {
    public struct Step: Sendable, Equatable {
        public var step: Int
        public var epoch: Int?
        public var loss: Double?
        public var lr: Double?
        public var gradNorm: Double?
        public var tokens: Int?
        public var supervisedTokens: Int?
        public var tokensPerSecond: Double?
        public var elapsedSeconds: Double?
        public var skipped: Bool
    }
    case step(Step)
    case checkpoint(step: Int, path: String)
    case done(step: Int)
    case nan(step: Int)
    /// An event this version does not know.
    case event(name: String, step: Int?)

    /// Parses one line; nil for a line that is not a JSON object with a step or an event.
    public init?(line: String) {
        guard let value = try? JSONValue.parse(Array(line.utf8)), value.members != nil else { return nil }
        if let event = value["event"]?.string {
            let step = value["step"]?.int
            switch event {
            case "checkpoint": self = .checkpoint(step: step ?? 0, path: value["path"]?.string ?? "")
            case "done": self = .done(step: step ?? 0)
            case "nan": self = .nan(step: step ?? 0)
            default: self = .event(name: event, step: step)
            }
            return
        }
        guard let step = value["step"]?.int else { return nil }
        self = .step(Step(step: step, epoch: value["epoch"]?.int, loss: value["loss"]?.number, lr: value["lr"]?.number,
                          gradNorm: value["grad_norm"]?.number, tokens: value["tokens"]?.int, supervisedTokens: value["supervised_tokens"]?.int,
                          tokensPerSecond: value["tokens_per_s"]?.number, elapsedSeconds: value["elapsed_s"]?.number,
                          skipped: value["skipped"]?.bool ?? false))
    }
}

/// Reads the lines appended to `metrics.jsonl` since the last poll. A last line without its newline (rank 0 is still
/// writing it) waits for the next poll; a complete line that is not JSON (a crash tore it, and the resumed run wrote on)
/// is counted and skipped. A file that shrinks (a new run) is read again from its start.
public final class MetricsFollower {
    public let path: String
    private var offset: UInt64 = 0
    private var pending: [UInt8] = []
    public private(set) var malformedLines = 0

    public init(path: String) { self.path = path }

    public func poll() -> [MetricsRecord] {
        guard let handle = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? handle.close() }
        guard let size = try? handle.seekToEnd() else { return [] }
        if size < offset { offset = 0; pending = [] }
        guard size > offset else { return [] }
        do { try handle.seek(toOffset: offset) } catch { return [] }
        guard let data = try? handle.read(upToCount: Int(size - offset)) else { return [] }
        offset += UInt64(data.count)
        pending.append(contentsOf: data)
        var records: [MetricsRecord] = []
        var start = 0
        while let newline = pending[start...].firstIndex(of: 0x0A) {
            let line = String(decoding: pending[start..<newline], as: UTF8.self).trimmingCharacters(in: .whitespaces)
            start = newline + 1
            if line.isEmpty { continue }
            if let record = MetricsRecord(line: line) { records.append(record) } else { malformedLines += 1 }
        }
        pending.removeFirst(start)
        return records
    }
}

/// The progress a follower shows: the last step, and a rate for the ETA from `elapsed_s` of recent steps.
public struct TrainingProgress: Sendable {
    public var totalSteps: Int
    public private(set) var last: MetricsRecord.Step?
    public private(set) var lastCheckpoint: (step: Int, path: String)?
    public private(set) var finished = false
    public private(set) var nanSteps: [Int] = []
    /// (step, elapsed_s) of recent steps of the current process.
    private var window: [(step: Int, elapsed: Double)] = []

    public init(totalSteps: Int) { self.totalSteps = totalSteps }

    public mutating func add(_ record: MetricsRecord) {
        switch record {
        case .step(let step):
            if let elapsed = step.elapsedSeconds {
                // A step at or before the window's last, or a clock that went back: another process (a resume).
                if let previous = window.last, step.step <= previous.step || elapsed < previous.elapsed { window.removeAll() }
                window.append((step.step, elapsed))
                if window.count > 50 { window.removeFirst(window.count - 50) }
            }
            last = step
        case .checkpoint(let step, let path): lastCheckpoint = (step, path)
        case .done: finished = true
        case .nan(let step): nanSteps.append(step)
        case .event: break
        }
    }

    /// Seconds per optimizer step over the recent window.
    public var secondsPerStep: Double? {
        guard let first = window.first, let latest = window.last, latest.step > first.step, latest.elapsed > first.elapsed else { return nil }
        return (latest.elapsed - first.elapsed) / Double(latest.step - first.step)
    }

    public var etaSeconds: Double? {
        guard let last, let rate = secondsPerStep else { return nil }
        return Double(max(totalSteps - last.step, 0)) * rate
    }

    /// `step 120/1500 (8.0%), loss 2.3141, lr 1.98e-05, 85.2k tokens/s, ETA 3h12m`.
    public var statusText: String {
        guard let last else { return "waiting for the first step (metrics.jsonl)" }
        var parts = ["step \(last.step)/\(totalSteps) (\(String(format: "%.1f", 100 * Double(last.step) / Double(max(totalSteps, 1))))%)"]
        if let loss = last.loss { parts.append("loss \(String(format: "%.4f", loss))") }
        if let lr = last.lr { parts.append("lr \(String(format: "%.3g", lr))") }
        if let rate = last.tokensPerSecond { parts.append("\(formatCount(rate)) tokens/s") }
        parts.append("ETA \(etaSeconds.map(formatDuration) ?? "--")")
        if !nanSteps.isEmpty { parts.append("\(nanSteps.count) skipped (non-finite)") }
        return parts.joined(separator: ", ")
    }
}

/// What is in a run folder: its config, checkpoints and metrics.
public struct RunState: Sendable {
    public var runDirectory: String
    public var config: JSONValue
    public var totalSteps: Int
    public var task: String
    public var hasLoRA: Bool

    public init(runDirectory: String) throws {
        self.runDirectory = absolutePath(runDirectory)
        let path = self.runDirectory + "/config.json"
        guard fileExists(path) else { throw TrainError("\(runDirectory): no config.json; not a run folder written by `mmed train`") }
        do { config = try JSONValue.parse(try readWholeFile(path)) } catch { throw TrainError("\(path): not JSON (\(error))") }
        guard config["version"]?.int == 1 else { throw TrainError("\(path): version \(config["version"]?.int.map(String.init) ?? "missing"); this mmed reads version 1") }
        totalSteps = config["training"]?["total_steps"]?.int ?? 0
        task = config["task"]?.string ?? "?"
        hasLoRA = !(config["lora"]?.isNull ?? true)
    }

    /// Complete checkpoints (`checkpoints/step_NNNNNNNN/COMPLETE`), by step.
    public var completeCheckpoints: [(step: Int, path: String)] {
        let directory = runDirectory + "/checkpoints"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { name -> (Int, String)? in
            guard name.hasPrefix("step_"), !name.hasSuffix(".partial"), let step = Int(name.dropFirst(5)),
                  fileExists("\(directory)/\(name)/COMPLETE") else { return nil }
            return (step, "\(directory)/\(name)")
        }.sorted { $0.0 < $1.0 }
    }

    /// The last complete, parseable lines of metrics.jsonl (read from its last 256 KiB).
    public func lastMetrics(limit: Int = 200) -> [MetricsRecord] {
        let path = runDirectory + "/metrics.jsonl"
        guard let handle = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? handle.close() }
        guard let size = try? handle.seekToEnd() else { return [] }
        let start = size > 262_144 ? size - 262_144 : 0
        guard (try? handle.seek(toOffset: start)) != nil, let data = try? handle.readToEnd() else { return [] }
        var lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if start > 0, !lines.isEmpty { lines.removeFirst() }  // cut in the middle
        if !(data.last == 0x0A) , !lines.isEmpty { lines.removeLast() }  // torn
        return Array(lines.compactMap { MetricsRecord(line: $0) }.suffix(limit))
    }

    /// Which script starts the run.
    public var launchScript: (path: String, slurm: Bool)? {
        if fileExists(runDirectory + "/job.sbatch") { return (runDirectory + "/job.sbatch", true) }
        if fileExists(runDirectory + "/launch.sh") { return (runDirectory + "/launch.sh", false) }
        return nil
    }
}

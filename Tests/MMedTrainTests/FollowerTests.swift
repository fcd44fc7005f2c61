import Foundation
import MMedIO
import MMedTestSupport
import Testing
@testable import MMedTrain

@Suite struct FollowerTests {
    func append(_ text: String, to path: String) throws {
        if !fileExists(path) { FileManager.default.createFile(atPath: path, contents: nil) }
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
        try handle.close()
    }

    func stepLine(_ step: Int, elapsed: Double) -> String {
        "{\"step\": \(step), \"epoch\": 0, \"loss\": \(3.0 - Double(step) * 0.1), \"lr\": 2e-05, \"grad_norm\": 1.5, \"tokens\": \(step * 4096), "
            + "\"supervised_tokens\": \(step * 4000), \"tokens_per_s\": 20480.0, \"elapsed_s\": \(elapsed), \"skipped\": false}\n"
    }

    @Test func followsLinesAsTheyAppearAndWaitsForATornLastLine() throws {
        let path = temporaryDirectory() + "/metrics.jsonl"
        let follower = MetricsFollower(path: path)
        #expect(follower.poll().isEmpty)  // no file yet
        var progress = TrainingProgress(totalSteps: 10)

        try append(stepLine(1, elapsed: 2) + stepLine(2, elapsed: 4), to: path)
        let first = follower.poll()
        #expect(first.count == 2)
        for record in first { progress.add(record) }
        #expect(progress.last?.step == 2)

        // A torn last line: half of step 3.
        let third = stepLine(3, elapsed: 6)
        let cut = third.index(third.startIndex, offsetBy: 30)
        try append(String(third[..<cut]), to: path)
        #expect(follower.poll().isEmpty)
        try append(String(third[cut...]) + "{\"event\": \"checkpoint\", \"step\": 3, \"path\": \"/r/checkpoints/step_00000003\"}\n", to: path)
        let second = follower.poll()
        #expect(second.count == 2)
        guard case .step(let step) = second[0] else { Issue.record("not a step"); return }
        #expect(step.step == 3)
        #expect(step.loss == 3.0 - 0.3)
        #expect(step.lr == 2e-5)
        #expect(step.tokensPerSecond == 20480)
        #expect(step.elapsedSeconds == 6)
        #expect(second[1] == .checkpoint(step: 3, path: "/r/checkpoints/step_00000003"))
        for record in second { progress.add(record) }
        #expect(progress.secondsPerStep == 2)
        #expect(progress.etaSeconds == 14)
        #expect(progress.statusText == "step 3/10 (30.0%), loss 2.7000, lr 2e-05, 20.5k tokens/s, ETA 14s")

        // A line a crash tore, then a resumed run's lines: counted and skipped; the rate restarts.
        try append("{\"step\": 4, \"lo" + stepLine(3, elapsed: 1) + stepLine(4, elapsed: 4), to: path)
        let third3 = follower.poll()
        #expect(follower.malformedLines == 1)
        #expect(third3.count == 1)
        for record in third3 { progress.add(record) }
        #expect(progress.last?.step == 4)
        try append("{\"event\": \"nan\", \"step\": 5}\n{\"event\": \"done\", \"step\": 10}\n", to: path)
        for record in follower.poll() { progress.add(record) }
        #expect(progress.nanSteps == [5])
        #expect(progress.finished)

        // status reads the same file's last complete lines, ignoring a torn end.
        try append("{\"step\": 11, \"loss\"", to: path)
        let run = parentDirectory(of: path)
        try AtomicFileWriter.write("{\"version\": 1, \"task\": \"pretrain\", \"training\": {\"total_steps\": 10}, \"lora\": null}\n", to: run + "/config.json")
        try createDirectories(run + "/checkpoints/step_00000003")
        try AtomicFileWriter.write("", to: run + "/checkpoints/step_00000003/COMPLETE")
        try createDirectories(run + "/checkpoints/step_00000006")  // not complete
        try createDirectories(run + "/checkpoints/step_00000009.partial")
        let state = try RunState(runDirectory: run)
        #expect(state.completeCheckpoints.map(\.step) == [3])
        let records = state.lastMetrics()
        #expect(records.last == .done(step: 10))
        #expect(!state.hasLoRA)
    }
}

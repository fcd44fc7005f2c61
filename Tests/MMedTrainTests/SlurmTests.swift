import Foundation
import MMedIO
import MMedTestSupport
import MMedTrain
import Testing

extension TrainingRuns {
    /// Live launches of `mmed train` with the real trainer (FSDP2 on gloo, a tiny random Llama, 80 random sequences of 32
    /// tokens, 6 steps of 4 sequences): a single-node Slurm job on a one-machine cluster (scripts/local-slurm) that is
    /// preempted by its grace signal, requeues itself and resumes; two torchrun agents meeting at a c10d rendezvous on
    /// 127.0.0.1; and a lone agent whose rendezvous times out.
    @Suite(.serialized) struct SlurmTests {
        /// The batch script's USR1 trap alone, with stand-ins for srun (a trainer that takes the request at once: removes
        /// the file and exits 0) and scontrol on PATH, so that its order is not left to timing: a request left over from an
        /// earlier start is gone before srun starts, the trap's request names the job, and the requeue comes after the
        /// trainer has exited (a trainer that exits quickly must not be taken for one that ended without checkpointing).
        @Test func batchScriptTrapRequeuesOnceTheTrainerHasCheckpointedAndExited() throws {
            let root = temporaryDirectory("trap")
            let run = root + "/run", bin = root + "/bin", events = root + "/events"
            try createDirectories(run + "/logs")
            try createDirectories(bin)
            let plan = LaunchPlan(runDirectory: run, pythonPath: root + "/python", nodes: 1, nprocPerNode: 1, rdzvHost: "127.0.0.1", rdzvPort: 29500,
                                  rdzvTimeoutSeconds: 60,
                                  slurm: .init(partition: nil, time: "00:10:00", graceSeconds: 30, gpusPerNode: 0, jobName: "mmed-trap"))
            try plan.write(recipe: "trap")
            try AtomicFileWriter.write("41\n", to: run + "/CHECKPOINT_REQUEST")  // left by an earlier start of the job
            try AtomicFileWriter.write("""
            #!/bin/bash
            if [ -e CHECKPOINT_REQUEST ]; then echo "start with a stale request" >> '\(events)'; else echo start >> '\(events)'; fi
            while [ ! -e CHECKPOINT_REQUEST ]; do sleep 0.05; done
            echo "request $(cat CHECKPOINT_REQUEST)" >> '\(events)'
            rm -f CHECKPOINT_REQUEST
            echo exit >> '\(events)'

            """, to: bin + "/srun")
            try AtomicFileWriter.write("""
            #!/bin/bash
            case "$1" in
              show) echo localhost ;;
              requeue) echo "requeue $2" >> '\(events)' ;;
            esac

            """, to: bin + "/scontrol")
            for tool in ["srun", "scontrol"] { try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: bin + "/" + tool) }

            let path = bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
            let job = try Background("/bin/bash", [run + "/job.sbatch"], environment: [
                "PATH": path, "SLURM_JOB_ID": "42", "SLURM_JOB_NODELIST": "localhost", "SLURM_JOB_NUM_NODES": "1", "SLURM_RESTART_COUNT": "0",
            ], log: root + "/job.log")
            defer { job.stop() }
            try #require(waitUntil(seconds: 120) { !fileText(events).isEmpty }, "srun never started: \(job.output)")
            kill(job.process.processIdentifier, SIGUSR1)
            let status = job.wait(seconds: 30)
            #expect(status == 0, "\(job.output)")
            #expect(fileText(events).split(separator: "\n") == ["start", "request 42", "exit", "requeue 42"], "\(fileText(events))\n\(job.output)")
            #expect(job.output.contains("mmed: checkpoint written; requeueing job 42"), "\(job.output)")
            #expect(!fileExists(run + "/CHECKPOINT_REQUEST"))
        }

        /// Single-node Slurm job: the grace signal (sent here with `scancel --signal=USR1 --batch` while the trainer is held
        /// after step 3 by MMEDTRAIN_TEST_HOOK=pause:3) makes the trap write RUN/CHECKPOINT_REQUEST; the trainer checkpoints
        /// at step 3, writes the preempted event and exits; the job requeues itself; the requeued job resumes from step 3 and
        /// finishes; every step's loss equals an uninterrupted run's.
        @Test func slurmJobCheckpointsRequeuesAndResumesOnItsGraceSignal() throws {
            guard LocalSlurm.required("the Slurm preemption test"), TorchStack.required("the Slurm preemption test") else { return }
            let fixture = try TrainFixture.shared.get()
            let root = temporaryDirectory("slurm")
            var environment = TrainFixture.environment

            // The uninterrupted run of the same config, started directly (launch.sh).
            let reference = try runMMed(fixture.arguments(out: root + "/reference", every: 2) + ["--nproc-per-node", "1", "--rdzv-port", String(freeLocalPort()), "--quiet"],
                                        environment: environment, timeout: 900)
            try #require(reference.status == 0, "the reference run failed: \(reference.output)")

            let cluster = try LocalSlurm.start(root + "/slurm")
            defer { cluster.stop() }
            environment["SLURM_CONF"] = cluster.configuration
            environment["MMEDTRAIN_TEST_HOOK"] = "pause:3"
            let run = root + "/run"
            let arguments = fixture.arguments(out: run, every: 2) + [
                "--nproc-per-node", "1", "--slurm", "--time", "00:10:00", "--grace-seconds", "30", "--gpus-per-node", "0",
                "--rdzv-port", String(freeLocalPort()),
            ]
            let mmed = try Background(MMedCLI.executable, arguments, environment: environment, log: root + "/mmed.log")
            defer {
                mmed.stop()
                if let job = try? String(contentsOfFile: run + "/slurm_job_id", encoding: .utf8) { cluster.cancel(job.trimmingCharacters(in: .whitespacesAndNewlines)) }
            }

            let held = waitUntil(seconds: 600) { !mmed.isRunning || fileText(run + "/logs/rank_0.log").contains("test hook: paused after step 3") }
            try #require(held && mmed.isRunning, "the job never reached step 3: \(mmed.output)\n\(fileText(run + "/logs/rank_0.log"))")
            let job = fileText(run + "/slurm_job_id").trimmingCharacters(in: .whitespacesAndNewlines)
            try #require(!job.isEmpty)
            let signal = command(["scancel", "--signal=USR1", "--batch", job], environment: environment)
            try #require(signal.status == 0, "scancel: \(signal.error)")

            // The trap requeues the job once the trainer has checkpointed and exited. Slurm holds a requeued job for about two
            // minutes (BeginTime); start it sooner, but not within the second its old credential was revoked in, or slurmd
            // refuses the launch ("Job credential revoked") and the job fails.
            let requeued = waitUntil(seconds: 300) {
                let shown = command(["scontrol", "show", "job", job, "-o"], environment: environment).output
                return shown.contains("JobState=PENDING") && !shown.contains("Restarts=0 ")
            }
            try #require(requeued, "the job was not requeued: \(fileText(run + "/logs/slurm-\(job).out"))\n\(mmed.output)")
            sleep(3)
            let release = command(["scontrol", "update", "JobId=\(job)", "StartTime=now"], environment: environment)
            #expect(release.status == 0, "scontrol update: \(release.error)")

            let status = mmed.wait(seconds: 150)
            #expect(status == 0, "mmed train --slurm: \(status.map(String.init) ?? "still running after 150 s"): \(mmed.output)")
            #expect(mmed.output.contains("train: done at step 6"), "\(mmed.output)")

            let slurmLog = fileText(run + "/logs/slurm-\(job).out")
            for line in ["mmed: job \(job), restart 0,", "mmed: USR1 (time limit in 30 s): asking for a checkpoint at the next step boundary",
                         "mmed: checkpoint written; requeueing job \(job)", "mmed: job \(job), restart 1,"] {
                #expect(slurmLog.contains(line), "missing in slurm-\(job).out: \(line)\n\(slurmLog)")
            }
            // The requeue came after the job step had ended on its own: Slurm did not have to kill the trainer.
            #expect(!slurmLog.contains("Job step aborted") && !slurmLog.contains("Terminated"), "\(slurmLog)")
            #expect(fileText(run + "/logs/rank_0.log").contains("test hook: CHECKPOINT_REQUEST appeared; resuming after step 3"))
            #expect(!fileExists(run + "/CHECKPOINT_REQUEST"))
            let final = command(["scontrol", "show", "job", job, "-o"], environment: environment).output
            #expect(final.contains("JobState=COMPLETED") && final.contains("Restarts=1 "), "\(final)")

            let metrics = try Metrics(run)
            let events = metrics.events.filter { $0.name != "export" }.map { "\($0.name) \($0.step)" }
            #expect(events == ["checkpoint 2", "checkpoint 3", "preempted 3", "resumed 3", "checkpoint 4", "checkpoint 6", "done 6"])
            let expected = try Metrics(root + "/reference").losses
            #expect(expected.keys.sorted() == Array(1...6))
            #expect(metrics.losses == expected, "preempted and resumed: \(metrics.losses.sorted { $0.key < $1.key }), uninterrupted: \(expected.sorted { $0.key < $1.key })")
            #expect(sameConfig(run, root + "/reference"))
        }

        /// `--nodes 2`: the written launch.sh started twice on this machine (one agent per "node", one process each) meets at
        /// the c10d rendezvous on 127.0.0.1 and trains with world size 2; each step's loss is that of one agent with 2 processes.
        @Test func twoAgentsMeetAtTheRendezvousAndMatchOneAgentWithTwoProcesses() throws {
            guard TorchStack.required("the two-agent rendezvous test") else { return }
            let fixture = try TrainFixture.shared.get()
            let root = temporaryDirectory("twoagents")
            let environment = TrainFixture.environment
            let two = root + "/two"
            let written = try runMMed(fixture.arguments(out: two, every: 3) + ["--nodes", "2", "--nproc-per-node", "1", "--rdzv-host", "127.0.0.1",
                                                                               "--rdzv-port", String(freeLocalPort()), "--dry-run", "--quiet"],
                                      environment: environment, timeout: 600)
            try #require(written.status == 0, "\(written.output)")
            #expect(fileText(two + "/launch.sh").contains("    --nnodes 2 \\\n    --nproc-per-node 1 \\\n"))

            let agents = try (0..<2).map { try Background("/bin/bash", [two + "/launch.sh"], environment: environment, log: "\(root)/agent\($0).log") }
            defer { agents.forEach { $0.stop() } }
            let statuses = agents.map { $0.wait(seconds: 150) }
            #expect(statuses == [0, 0], "agents: \(statuses)\n\(agents[0].output)\n\(agents[1].output)")

            let one = try runMMed(fixture.arguments(out: root + "/one", every: 3) + ["--nproc-per-node", "2", "--rdzv-port", String(freeLocalPort()), "--quiet"],
                                  environment: environment, timeout: 900)
            #expect(one.status == 0, "one agent, 2 processes: \(one.output)")

            let state = try JSONValue.parse(try readWholeFile(two + "/checkpoints/step_00000006/trainer_state.json"))
            #expect(state["world_size"]?.int == 2)
            #expect(fileExists(two + "/logs/rank_1.log"))
            let twoAgents = try Metrics(two), oneAgent = try Metrics(root + "/one")
            #expect(twoAgents.events.contains { $0.name == "done" && $0.step == 6 })
            #expect(twoAgents.losses.keys.sorted() == Array(1...6))
            #expect(oneAgent.losses.keys.sorted() == Array(1...6))
            let worst = (1...6).map { abs((twoAgents.losses[$0] ?? .infinity) - (oneAgent.losses[$0] ?? 0)) }.max() ?? .infinity
            #expect(worst <= 5e-6, "two agents: \(twoAgents.losses.sorted { $0.key < $1.key }), one agent: \(oneAgent.losses.sorted { $0.key < $1.key })")
            #expect(sameConfig(two, root + "/one"))
        }

        /// One agent of a 2-node run alone, with a 5 s rendezvous timeout (a recipe copy): `mmed train` fails with one line
        /// that names the rendezvous timeout.
        @Test func aLoneAgentFailsWithOneLineNamingTheRendezvousTimeout() throws {
            guard TorchStack.required("the rendezvous timeout test") else { return }
            let fixture = try TrainFixture.shared.get()
            let root = temporaryDirectory("rdzvtimeout")
            let recipe = try String(contentsOfFile: recipesDirectory + "/mmedlm-pretrain.toml", encoding: .utf8)
            let short = recipe.replacingOccurrences(of: "\nrdzv_timeout_seconds = 900", with: "\nrdzv_timeout_seconds = 5")
            try #require(short != recipe, "recipes/mmedlm-pretrain.toml no longer has rdzv_timeout_seconds = 900")
            try AtomicFileWriter.write(short, to: root + "/short-rendezvous.toml")
            var arguments = fixture.arguments(out: root + "/run", every: 3) + ["--nodes", "2", "--nproc-per-node", "1", "--rdzv-host", "127.0.0.1",
                                                                              "--rdzv-port", String(freeLocalPort()), "--quiet"]
            arguments[arguments.firstIndex(of: "--recipe")! + 1] = root + "/short-rendezvous.toml"
            let began = Date()
            let result = try runMMed(arguments, environment: TrainFixture.environment, timeout: 600)
            let seconds = Date().timeIntervalSince(began)
            #expect(result.status != nil && result.status != 0, "exit \(result.status.map(String.init) ?? "none (killed after 120 s)")")
            let lines = result.output.split(separator: "\n")
            #expect(lines.count == 1, "\(result.output)")
            #expect(lines.first?.hasPrefix("error: training failed (exit ") == true, "\(result.output)")
            #expect(lines.first?.contains("the c10d rendezvous timed out: not every node's torchrun agent joined") == true, "\(result.output)")
            #expect(seconds < 300, "took \(seconds) s with a 5 s rendezvous timeout")
            #expect(!fileExists(root + "/run/metrics.jsonl"))
        }
    }
}

// MARK: fixture

struct SlurmTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The tiny random Llama (Tests/Oracles/make_tiny_llama_checkpoint.py: hidden 64, 2 layers, vocab 256) and 2 random
/// Megatron shards of 40 sequences of 32 tokens (python/tests/megatron_writer.py) with their dataset.json; made once.
struct TrainFixture: Sendable {
    var model: String
    var data: String

    static let shared: Result<TrainFixture, any Error> = Result { try make() }

    /// What every launch gets: the checkout's recipes and one thread per process (2 shared cores).
    static let environment = ["MMED_RECIPES": recipesDirectory, "OMP_NUM_THREADS": "1", "MMEDTRAIN_TEST_HOOK": "", "TOKENIZERS_PARALLELISM": "false"]

    static func make() throws -> TrainFixture {
        let root = temporaryDirectory("trainfixture")
        try Oracle.run("make_tiny_llama_checkpoint.py", [root + "/model", "--seed", "1"])
        let written = command(["python3", Repository.path("python/tests/megatron_writer.py"), root + "/data", "2", "40", "32", "256", "3"])
        guard written.status == 0 else { throw SlurmTestError("megatron_writer.py failed: \(written.error)") }
        // [token prefixes, mask prefixes, sequences, supervised tokens]
        let summary = try JSONValue.parse(Array(written.output.utf8))
        let tokens = summary.array?[0].array?.compactMap(\.string) ?? []
        let masks = summary.array?[1].array?.compactMap(\.string) ?? []
        guard tokens.count == 2, masks.count == 2 else { throw SlurmTestError("megatron_writer.py printed \(written.output)") }
        let shards = zip(tokens, masks).map { "{\"prefix\": \"\($0)\", \"loss_mask_prefix\": \"\($1)\", \"sequences\": 40, \"documents\": 40, \"tokens\": 1280}" }
        try AtomicFileWriter.write("""
        {"format": "megatron", "complete": true, "mode": "window", "window": 32, "pad_id": 0, "eos_id": 2, "dtype": "int32",
         "shards": [\(shards.joined(separator: ", "))]}
        """, to: root + "/data/dataset.json")
        return TrainFixture(model: root + "/model", data: root + "/data")
    }

    /// `mmed train pretrain` with the tiny overrides: micro batch 1, global batch 4, 6 steps, lr 1e-3.
    func arguments(out: String, every: Int) -> [String] {
        ["train", "pretrain", "--recipe", "mmedlm-pretrain", "--model", model, "--data", data, "--out", out, "--micro-batch-size", "1",
         "--global-batch-size", "4", "--max-steps", "6", "--checkpoint-every", String(every), "--lr", "1e-3"]
    }
}

/// RUN/metrics.jsonl: the last loss of each step and the events in order.
struct Metrics {
    var losses: [Int: Double] = [:]
    var events: [(name: String, step: Int)] = []

    init(_ run: String) throws {
        for line in fileText(run + "/metrics.jsonl").split(separator: "\n") {
            let record = try JSONValue.parse(Array(line.utf8))
            if let event = record["event"]?.string {
                events.append((event, record["step"]?.int ?? -1))
            } else if let step = record["step"]?.int, let loss = record["loss"]?.number {
                losses[step] = loss
            }
        }
    }
}

/// The two runs' config.json are the same but for run_dir.
func sameConfig(_ first: String, _ second: String) -> Bool {
    let a = fileText(first + "/config.json").replacingOccurrences(of: absolutePath(first), with: "RUN")
    let b = fileText(second + "/config.json").replacingOccurrences(of: absolutePath(second), with: "RUN")
    return !a.isEmpty && a == b
}

// MARK: the one-machine Slurm cluster

/// scripts/local-slurm in a scratch folder: munged, slurmctld and slurmd run as root until `stop`.
struct LocalSlurm {
    var directory: String
    var configuration: String { directory + "/slurm.conf" }

    /// True when the test can run. Under CI a missing piece is a failure; elsewhere the test is skipped with the reason.
    static func required(_ test: String) -> Bool {
        var missing: [String] = []
        if getuid() != 0 { missing.append("root") }
        for tool in ["munged", "slurmctld", "slurmd", "sinfo", "sbatch", "squeue", "scontrol", "scancel"]
        where command(["bash", "-c", "command -v \(tool)"]).status != 0 {
            missing.append(tool)
        }
        if missing.isEmpty { return true }
        let reason = "needs \(missing.joined(separator: ", ")) (scripts/setup installs slurm-wlm and munge; scripts/local-slurm starts the daemons as root)"
        if SharedData.isCI {
            Issue.record("\(test): \(reason)")
        } else {
            print("skipped \(test): \(reason)")
        }
        return false
    }

    static func start(_ directory: String) throws -> LocalSlurm {
        try createDirectories(directory)
        let started = try Background(Repository.path("scripts/local-slurm"), ["start", directory], environment: [:], log: directory + "/start.log",
                                     daemons: true)
        let status = started.wait(seconds: 60)
        guard status == 0 else {
            _ = command([Repository.path("scripts/local-slurm"), "stop", directory])
            throw SlurmTestError("scripts/local-slurm start failed (\(status.map(String.init) ?? "still running after 60 s")): \(started.output)")
        }
        return LocalSlurm(directory: directory)
    }

    /// Cancels a job that is still queued or running and waits (up to 45 s, past KillWait) until it is gone.
    func cancel(_ job: String) {
        guard !job.isEmpty else { return }
        let environment = ["SLURM_CONF": configuration]
        guard !command(["squeue", "-h", "-j", job, "-o", "%T"], environment: environment).output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return }
        _ = command(["scancel", job], environment: environment)
        _ = waitUntil(seconds: 120) {
            command(["squeue", "-h", "-j", job, "-o", "%T"], environment: environment).output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        }
    }

    func stop() {
        _ = command([Repository.path("scripts/local-slurm"), "stop", directory])
    }
}

// MARK: processes

/// A process started here, its standard output and error in a log file.
final class Background {
    let process = Process()
    let log: String

    init(_ executable: String, _ arguments: [String], environment: [String: String], log: String, daemons: Bool = false) throws {
        self.log = log
        FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try #require(FileHandle(forWritingAtPath: log))
        (process.executableURL, process.arguments) = withCleanSignalMask([executable] + arguments, daemons: daemons)
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        process.environment = merged
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        try? handle.close()
    }

    var isRunning: Bool { process.isRunning }
    var output: String { fileText(log) }

    /// The exit status (128 + signal when killed), or nil when it still runs after `seconds` (it is then stopped).
    func wait(seconds: Double) -> Int32? {
        guard waitUntil(seconds: seconds, { !process.isRunning }) else {
            stop()
            return nil
        }
        process.waitUntilExit()
        return process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
    }

    /// SIGTERM (torchrun passes it on to its workers), then SIGKILL after 20 s.
    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        if !waitUntil(seconds: 20, { !process.isRunning }) { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}

/// The command line that runs `arguments` (a program found on PATH, or a path) with no signal blocked. Tests run on
/// Dispatch worker threads, which block SIGTERM, SIGUSR1 and most other signals, and a spawned process inherits that mask
/// through every exec: slurmd and munged would not stop, torchrun would not pass SIGTERM on, and a batch script's USR1
/// trap would never run. perl (perl-base, always on Debian) clears the mask and execs the command.
///
/// `daemons`: for a command that leaves daemons behind. Foundation's Process learns that a child ended when every
/// holder of a socket the child inherits has closed it; daemons that keep it would make the command look alive for
/// ever. Then perl runs the command as its own child without the descriptors above 2 and exits with its status.
func withCleanSignalMask(_ arguments: [String], daemons: Bool = false) -> (URL, [String]) {
    let unblock = "use POSIX; sigprocmask(SIG_SETMASK, POSIX::SigSet->new) or die \"sigprocmask: $!\"; "
    let exec = "exec {$ARGV[0]} @ARGV or die \"$ARGV[0]: $!\\n\";"
    let script = !daemons ? unblock + exec : unblock + """
        my $pid = fork() // die "fork: $!"; \
        if ($pid == 0) { opendir(my $d, "/proc/self/fd") or die; my @fds = grep { /^[0-9]+$/ && $_ > 2 } readdir($d); closedir($d); \
        POSIX::close($_) for @fds; \(exec) } \
        waitpid($pid, 0); exit($? & 127 ? 128 + ($? & 127) : $? >> 8);
        """
    return (URL(fileURLWithPath: "/usr/bin/env"), ["perl", "-e", script] + arguments)
}

/// Runs `mmed` with a time limit; `status` is nil when it was stopped at the limit. `output` is stdout and stderr.
func runMMed(_ arguments: [String], environment: [String: String], timeout: Double) throws -> (status: Int32?, output: String) {
    let log = temporaryDirectory("mmedlog") + "/mmed.log"
    let process = try Background(MMedCLI.executable, arguments, environment: environment, log: log)
    let status = process.wait(seconds: timeout)
    return (status, process.output)
}

/// Runs a command to its end; its standard output and error.
func command(_ arguments: [String], environment: [String: String] = [:]) -> (status: Int32, output: String, error: String) {
    let process = Process()
    (process.executableURL, process.arguments) = withCleanSignalMask(arguments)
    var merged = ProcessInfo.processInfo.environment
    for (key, value) in environment { merged[key] = value }
    process.environment = merged
    guard let (outputData, errorData) = try? runCollecting(process) else { return (127, "", "cannot start \(arguments[0])") }
    return (process.terminationStatus, String(decoding: outputData, as: UTF8.self), String(decoding: errorData, as: UTF8.self))
}

/// Polls `condition` every 0.2 s for up to `seconds`; whether it became true.
func waitUntil(seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(200_000)
    }
    return condition()
}

/// A file's text, "" when it is missing.
func fileText(_ path: String) -> String {
    (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
}

/// A TCP port that was free on 127.0.0.1 a moment ago.
func freeLocalPort() -> Int {
    let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard socketFD >= 0 else { return 29_500 + Int.random(in: 100..<2000) }
    defer { close(socketFD) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketFD, $0, length) } }
    guard bound == 0 else { return 29_500 + Int.random(in: 100..<2000) }
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socketFD, $0, &length) } }
    return Int(UInt16(bigEndian: address.sin_port))
}

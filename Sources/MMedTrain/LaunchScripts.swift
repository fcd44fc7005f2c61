import Foundation
import MMedIO

/// How a run is started: one torchrun agent per node, c10d rendezvous, directly (`RUN/launch.sh`) or under Slurm
/// (`RUN/job.sbatch`).
public struct LaunchPlan: Sendable, Equatable {
    public struct Slurm: Sendable, Equatable {
        public var partition: String?
        public var time: String?
        public var graceSeconds: Int
        /// 0 writes no `--gpus-per-node`.
        public var gpusPerNode: Int
        public var jobName: String
        public init(partition: String?, time: String?, graceSeconds: Int, gpusPerNode: Int, jobName: String) {
            self.partition = partition
            self.time = time
            self.graceSeconds = graceSeconds
            self.gpusPerNode = gpusPerNode
            self.jobName = jobName
        }
    }

    public var runDirectory: String
    /// The folder that holds the `mmedtrain` package (PYTHONPATH).
    public var pythonPath: String
    public var nodes: Int
    public var nprocPerNode: Int
    /// Without Slurm: the host every node reaches (the first node's); under Slurm the first host of the allocation.
    public var rdzvHost: String
    public var rdzvPort: Int
    public var rdzvTimeoutSeconds: Int
    public var slurm: Slurm?

    public init(runDirectory: String, pythonPath: String, nodes: Int, nprocPerNode: Int, rdzvHost: String, rdzvPort: Int,
                rdzvTimeoutSeconds: Int, slurm: Slurm?) {
        self.runDirectory = runDirectory
        self.pythonPath = pythonPath
        self.nodes = nodes
        self.nprocPerNode = nprocPerNode
        self.rdzvHost = rdzvHost
        self.rdzvPort = rdzvPort
        self.rdzvTimeoutSeconds = rdzvTimeoutSeconds
        self.slurm = slurm
    }

    public var scriptPath: String { runDirectory + (slurm == nil ? "/launch.sh" : "/job.sbatch") }
    /// A rendezvous id that is the same for every node of a run started by hand.
    public var rdzvID: String { "mmed-" + SHA256.hex(Array(runDirectory.utf8)).prefix(12) }

    /// The torchrun arguments after `torchrun`, one per line (`endpoint` and `id` are shell words, maybe variables).
    func torchrunArguments(endpoint: String, id: String) -> [String] {
        [
            "--nnodes \(nodes)",
            "--nproc-per-node \(nprocPerNode)",
            "--rdzv-backend c10d",
            "--rdzv-endpoint \(endpoint)",
            "--rdzv-id \(id)",
            "--rdzv-conf join_timeout=\(rdzvTimeoutSeconds)",
            "--max-restarts 0",
            "--log-dir \"$RUN/logs/torchrun\"",
            "--redirects 3",
            "--tee 3",
            "-m mmedtrain train \"$RUN/config.json\"",
        ]
    }

    /// `RUN/launch.sh` or `RUN/job.sbatch`.
    public func script(recipe: String) -> String {
        slurm.map { sbatchScript(recipe: recipe, slurm: $0) } ?? launchScript(recipe: recipe)
    }

    func launchScript(recipe: String) -> String {
        var lines = [
            "#!/usr/bin/env bash",
            "# Written by `mmed train` (MMedKit) for recipe \(recipe). It starts one torchrun agent on this machine; for a run on",
            "# \(nodes) node(s), start this same script on every node: they meet at the c10d rendezvous \(rdzvHost):\(rdzvPort).",
            "# The trainer (python -m mmedtrain) reads only config.json; rank K logs to logs/rank_K.log, torchrun keeps each",
            "# rank's output under logs/torchrun/. A second start resumes from the newest complete checkpoint.",
            "set -euo pipefail",
            "RUN=\(shellQuoted(runDirectory))",
            "export PYTHONPATH=\(shellQuoted(pythonPath))\"${PYTHONPATH:+:$PYTHONPATH}\"",
            "mkdir -p \"$RUN/logs\"",
            "cd \"$RUN\"",
            "exec torchrun \\",
        ]
        let arguments = torchrunArguments(endpoint: "\(rdzvHost):\(rdzvPort)", id: rdzvID)
        for (index, argument) in arguments.enumerated() {
            lines.append("    " + argument + (index + 1 < arguments.count ? " \\" : ""))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    func sbatchScript(recipe: String, slurm: Slurm) -> String {
        // The trap waits for the checkpoint at most this long, so that `scontrol requeue` comes before the time limit.
        let waitLimit = max(slurm.graceSeconds - 60, slurm.graceSeconds / 2)
        var lines = [
            "#!/usr/bin/env bash",
            "#SBATCH --job-name=\(slurm.jobName)",
            "#SBATCH --nodes=\(nodes)",
            "#SBATCH --ntasks-per-node=1",
        ]
        if slurm.gpusPerNode > 0 { lines.append("#SBATCH --gpus-per-node=\(slurm.gpusPerNode)") }
        if let time = slurm.time { lines.append("#SBATCH --time=\(time)") }
        if let partition = slurm.partition { lines.append("#SBATCH --partition=\(partition)") }
        lines += [
            "#SBATCH --signal=B:USR1@\(slurm.graceSeconds)",
            "#SBATCH --requeue",
            "#SBATCH --open-mode=append",
            "#SBATCH --output=\(runDirectory)/logs/slurm-%j.out",
            "#",
            "# Written by `mmed train` (MMedKit) for recipe \(recipe). One torchrun agent per node (srun, one task per node), c10d",
            "# rendezvous on the first host of the allocation. \(slurm.graceSeconds) s before the time limit Slurm sends USR1 to this",
            "# shell: it writes CHECKPOINT_REQUEST, the trainer checkpoints at the next step boundary and removes the file, and",
            "# the job is requeued; the requeued job resumes from the newest complete checkpoint.",
            "set -uo pipefail",
            "RUN=\(shellQuoted(runDirectory))",
            "export PYTHONPATH=\(shellQuoted(pythonPath))\"${PYTHONPATH:+:$PYTHONPATH}\"",
            "mkdir -p \"$RUN/logs\"",
            "cd \"$RUN\"",
            "# A request left by an earlier start of this job (its trap requeued before the trainer took it) is not for this one.",
            "rm -f \"$RUN/CHECKPOINT_REQUEST\"",
            "if [[ \"${SLURM_JOB_NUM_NODES:-\(nodes)}\" != \(nodes) ]]; then",
            "    echo \"mmed: config.json is for \(nodes) node(s), the job has $SLURM_JOB_NUM_NODES\" >&2",
            "    exit 2",
            "fi",
            "HEAD_NODE=$(scontrol show hostnames \"$SLURM_JOB_NODELIST\" | head -n 1)",
            "RDZV_PORT=\(rdzvPort)",
            "echo \"mmed: job $SLURM_JOB_ID, restart ${SLURM_RESTART_COUNT:-0}, \(nodes) node(s); rendezvous at $HEAD_NODE:$RDZV_PORT\"",
            "",
            "checkpoint_and_requeue() {",
            "    echo \"mmed: USR1 (time limit in \(slurm.graceSeconds) s): asking for a checkpoint at the next step boundary\"",
            "    echo \"$SLURM_JOB_ID\" > \"$RUN/.CHECKPOINT_REQUEST.tmp\" && mv -f \"$RUN/.CHECKPOINT_REQUEST.tmp\" \"$RUN/CHECKPOINT_REQUEST\"",
            "    local waited=0",
            "    while [[ -e \"$RUN/CHECKPOINT_REQUEST\" ]] && kill -0 \"$SRUN_PID\" 2>/dev/null && (( waited < \(waitLimit) )); do",
            "        sleep 2",
            "        waited=$((waited + 2))",
            "    done",
            "    if [[ -e \"$RUN/CHECKPOINT_REQUEST\" ]] && ! kill -0 \"$SRUN_PID\" 2>/dev/null; then",
            "        # The training ended (finished or failed) without taking the request: no requeue.",
            "        rm -f \"$RUN/CHECKPOINT_REQUEST\"",
            "        wait \"$SRUN_PID\"",
            "        exit $?",
            "    fi",
            "    if [[ -e \"$RUN/CHECKPOINT_REQUEST\" ]]; then",
            "        echo \"mmed: no checkpoint after ${waited} s; requeueing (the run resumes from its last complete checkpoint)\"",
            "    else",
            "        # The trainer took the request (checkpoint written, file removed) and is exiting. A requeue ends the job at",
            "        # once, so let the trainer finish first.",
            "        while kill -0 \"$SRUN_PID\" 2>/dev/null && (( waited < \(waitLimit) )); do",
            "            sleep 1",
            "            waited=$((waited + 1))",
            "        done",
            "        echo \"mmed: checkpoint written; requeueing job $SLURM_JOB_ID\"",
            "    fi",
            "    scontrol requeue \"$SLURM_JOB_ID\"",
            "    wait \"$SRUN_PID\"",
            "    exit 0",
            "}",
            "trap checkpoint_and_requeue USR1",
            "",
            "srun --ntasks-per-node=1 --kill-on-bad-exit=1 --open-mode=append --output=\"$RUN/logs/node-%N.log\" \\",
            "    torchrun \\",
        ]
        let arguments = torchrunArguments(endpoint: "\"$HEAD_NODE:$RDZV_PORT\"", id: "\"$SLURM_JOB_ID\"")
        for (index, argument) in arguments.enumerated() {
            lines.append("        " + argument + (index + 1 < arguments.count ? " \\" : " &"))
        }
        lines += [
            "SRUN_PID=$!",
            "# `wait` returns early when USR1 arrives (the trap then runs); wait again until srun has really ended.",
            "while true; do",
            "    wait \"$SRUN_PID\"",
            "    status=$?",
            "    kill -0 \"$SRUN_PID\" 2>/dev/null || break",
            "done",
            "exit $status",
        ]
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes the script atomically, executable, and removes the other kind's script (a run has one way to start).
    public func write(recipe: String) throws {
        let path = scriptPath
        try AtomicFileWriter.write(script(recipe: recipe), to: path)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        let other = runDirectory + (slurm == nil ? "/job.sbatch" : "/launch.sh")
        if fileExists(other) { removeFile(other) }
    }
}

/// `text` as one shell word in single quotes.
public func shellQuoted(_ text: String) -> String {
    "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

/// Where the `mmedtrain` Python package is: `$MMEDTRAIN_PYTHONPATH`, else `python/` of the checkout that holds the
/// running executable, else `python/` of the current directory.
public func locatePythonPath(executable: String = CommandLine.arguments.first ?? "") -> (path: String, found: Bool) {
    if let environment = ProcessInfo.processInfo.environment["MMEDTRAIN_PYTHONPATH"], !environment.isEmpty {
        return (absolutePath(environment), fileExists(environment + "/mmedtrain"))
    }
    if let root = repositoryRoot(containing: "python/mmedtrain", from: executable) { return (root + "/python", true) }
    let local = FileManager.default.currentDirectoryPath + "/python"
    if fileExists(local + "/mmedtrain") { return (local, true) }
    if let root = repositoryRoot(containing: "Sources/mmed", from: executable) { return (root + "/python", false) }
    return (local, false)
}

/// One line for a launch that failed, from the end of its log; nil when the log shows nothing we recognise.
public func explainLaunchFailure(log: String, runDirectory: String) -> String? {
    let logs = "\(runDirectory)/logs/"
    if log.contains("RendezvousTimeoutError") || log.contains("rendezvous") && log.contains("timed out") {
        return "the c10d rendezvous timed out: not every node's torchrun agent joined (check --nodes, that launch.sh ran on each node, and that the endpoint host and port are reachable); per-rank logs in \(logs)"
    }
    if log.contains("RendezvousConnectionError") || log.contains("DistNetworkError") || log.contains("EADDRINUSE") || log.contains("address already in use") {
        return "torchrun could not reach or open the rendezvous endpoint (port in use or host unreachable; another port: --rdzv-port); per-rank logs in \(logs)"
    }
    if log.contains("torchrun: command not found") || log.contains("torchrun: No such file") {
        return "torchrun is not on PATH: activate the environment that has PyTorch (pip install -r python/requirements.txt)"
    }
    if log.contains("No module named 'mmedtrain'") || log.contains("No module named mmedtrain") {
        return "Python cannot import mmedtrain: the PYTHONPATH in the launch script does not hold it (set MMEDTRAIN_PYTHONPATH and write the run again)"
    }
    if log.contains("No module named 'torch'") {
        return "PyTorch is not installed in the Python that runs the trainer"
    }
    if log.contains("OutOfMemoryError") || log.contains("CUDA out of memory") {
        return "a rank ran out of GPU memory: lower --micro-batch-size (the accumulation grows to keep the global batch); per-rank logs in \(logs)"
    }
    if let line = log.split(separator: "\n").last(where: { $0.contains("Error:") || $0.hasPrefix("error:") }) {
        return String(line).trimmingCharacters(in: .whitespaces) + " (per-rank logs in \(logs))"
    }
    return nil
}

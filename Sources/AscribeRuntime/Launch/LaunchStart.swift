import Glibc
import AscribeSystem

/// A helper that has been spawned but whose report has not been read: the job may still be
/// on its way to exec, or the helper may be about to report a failed step.
struct SpawnedHelper {
    let prepared: PreparedLaunch
    let pid: Int32
    let startedAt: ContinuousClock.Instant
    /// Wall time when `posix_spawn` returned.
    let spawnedAt: EventTime
    let processDescriptor: Int32
    let standardOutput: Int32
    let standardError: Int32
    let report: Int32

    /// Closes everything and reaps the (failed) helper.
    func abandon() {
        SystemCalls.signalProcess(pid, SIGKILL)
        _ = try? SystemCalls.reap(processDescriptor: processDescriptor, blocking: true)
        LeaderRegistry.release(pid)
        [processDescriptor, standardOutput, standardError, report].forEach(SystemCalls.close)
    }
}

extension Launcher {
    /// How many helpers a batch start keeps between spawn and report: enough to keep a second
    /// core busy with helpers and jobs, few enough to bound the descriptors held (four each).
    static let batchWindow = 32

    /// Phase one: the pipes, the environment, the spawn, the pidfd. Every descriptor made here
    /// is closed on every failure path.
    func spawnHelper(_ prepared: PreparedLaunch) throws(LaunchFailure) -> SpawnedHelper {
        var opened: [Int32] = []
        var kept: Set<Int32> = []
        defer { opened.filter { !kept.contains($0) }.forEach(SystemCalls.close) }
        func release(_ descriptor: Int32) {
            SystemCalls.close(descriptor)
            kept.insert(descriptor)
        }

        let output, errors, report, environment: (read: Int32, write: Int32)
        do throws(SystemError) {
            output = try SystemCalls.makePipe()
            opened += [output.read, output.write]
            errors = try SystemCalls.makePipe()
            opened += [errors.read, errors.write]
            report = try SystemCalls.makePipe()
            opened += [report.read, report.write]
            environment = try SystemCalls.makePipe()
            opened += [environment.read, environment.write]
            try SystemCalls.setNonBlocking(output.read)
            try SystemCalls.setNonBlocking(errors.read)
            // Written before the helper exists, so the whole block must fit in the pipe: a user
            // over its pipe-buffer quota gets one-page pipes, so anything larger asks for room.
            // A non-blocking write end turns "does not fit" into an error instead of a hang.
            let block = ExecHelper.environmentBlock(prepared.environment)
            try SystemCalls.setNonBlocking(environment.write)
            if block.count > 4096 { try SystemCalls.setPipeCapacity(environment.write, atLeast: block.count) }
            try SystemCalls.writeAll(environment.write, block[...], context: "environment pipe")
            release(environment.write)
        } catch {
            throw .spawnFailed(error)
        }

        let pid: Int32
        do throws(SystemError) {
            let descriptors = HelperDescriptors(standardOutput: output.write, standardError: errors.write,
                                                report: report.write, environment: environment.read)
            pid = try LeaderRegistry.spawn { () throws(SystemError) -> Int32 in
                try Spawn.spawn(path: prepared.helperArguments[0], arguments: prepared.helperArguments, descriptors: descriptors)
            }
        } catch {
            if error.call == "posix_spawn", [ENOENT, EACCES, ENOEXEC, ENOTDIR].contains(error.code) {
                throw .helperMissing(path: prepared.helperArguments[0])
            }
            throw .spawnFailed(error)
        }
        let startedAt = ContinuousClock.now
        let spawnedAt = EventTime.now()
        [output.write, errors.write, report.write, environment.read].forEach(release)

        let processDescriptor: Int32
        do throws(SystemError) {
            processDescriptor = try SystemCalls.openProcess(pid)
        } catch {
            SystemCalls.signalProcess(pid, SIGKILL)
            _ = try? SystemCalls.reap(pid: pid, blocking: true)
            LeaderRegistry.release(pid)
            throw .spawnFailed(error)
        }
        kept.formUnion([output.read, errors.read, report.read])
        return SpawnedHelper(prepared: prepared, pid: pid, startedAt: startedAt, spawnedAt: spawnedAt, processDescriptor: processDescriptor,
                             standardOutput: output.read, standardError: errors.read, report: report.read)
    }

    /// Phase two: reads the helper's report to EOF, which comes when the job's exec closes
    /// the pipe, or after the helper reports the step that failed.
    func awaitExec(_ helper: SpawnedHelper) throws(LaunchFailure) -> RunningLaunch {
        let request = helper.prepared.request
        let report: ExecHelper.Report
        do throws(SystemError) {
            report = ExecHelper.Report(parsing: try SystemCalls.readToEnd(helper.report))
        } catch {
            report = ExecHelper.Report(parsing: Array("fail report \(error.code)\n".utf8))
        }
        if let failure = report.failure {
            helper.abandon()
            throw ExecHelper.failure(step: failure.name, code: failure.code, executable: request.executable,
                                     workingDirectory: request.workingDirectory)
        }
        SystemCalls.close(helper.report)
        let limits = RunLimits(timeout: request.timeout, killGrace: request.killGrace, drainGrace: configuration.outputDrainGrace,
                               outputPath: request.outputPath, outputCapBytes: request.outputCapBytes,
                               makeDigest: configuration.makeDigest)
        return RunningLaunch(
            runID: request.runID, pid: helper.pid, account: helper.prepared.account, developmentRun: helper.prepared.developmentRun,
            loginUIDWarning: report.loginUIDWarning, credentialsDirectory: helper.prepared.credentialsDirectory,
            resources: RunResources(processDescriptor: helper.processDescriptor, standardOutput: helper.standardOutput,
                                    standardError: helper.standardError),
            limits: limits, startedAt: helper.startedAt, spawnedAt: helper.spawnedAt)
    }
}

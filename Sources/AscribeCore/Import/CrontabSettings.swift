/// The environment lines of one crontab as cron applies them: each entry gets the settings
/// made above it, and a later setting of a name replaces the earlier one.
struct CrontabSettings {
    struct Setting {
        var name: String
        var value: String
        var line: Int
    }

    /// What one job takes from the settings above it.
    struct Inheritance {
        var environment: [EnvironmentVariable] = []
        /// From `HOME`: cron started commands there.
        var workingDirectory: String?
        /// What its header says about them.
        var findings: [ImportFindingKind] = []
        /// The same, with the setting's line, for the summary.
        var reports: [(line: Int, kind: ImportFindingKind)] = []
    }

    /// In the order names were first set.
    private var settings: [Setting] = []
    /// Per setting line that matters to some job: the finding and the jobs it affects.
    private var reports: [Int: (kind: ImportFindingKind, jobs: [JobName])] = [:]

    mutating func set(_ name: String, _ value: String, line: Int) {
        let setting = Setting(name: name, value: value, line: line)
        if let index = settings.firstIndex(where: { $0.name == name }) {
            settings[index] = setting
        } else {
            settings.append(setting)
        }
    }

    func current(_ name: String) -> Setting? {
        settings.first { $0.name == name }
    }

    /// Sorts each setting into the job: `environment`, `working-directory`, or a finding.
    /// `SHELL` and `CRON_TZ` become keys of their own; the caller reads them with `current`.
    func inherit() -> Inheritance {
        var inheritance = Inheritance()
        func report(_ setting: Setting, _ kind: ImportFindingKind) {
            inheritance.findings.append(kind)
            inheritance.reports.append((setting.line, kind))
        }
        for setting in settings {
            let (name, value) = (setting.name, setting.value)
            switch name {
            case "SHELL":
                continue
            case "MAILTO":
                if !value.isEmpty { report(setting, .mailNotSent(address: value)) }
            case "CRON_TZ":
                if !value.isEmpty { report(setting, .cronTimeZone(value)) }
            case "PATH":
                report(setting, .variableDropped(name: name, value: value, reason: .fixedPath))
            case "HOME" where value.hasPrefix("/"):
                inheritance.workingDirectory = value
                report(setting, .variableDropped(name: name, value: value, reason: .homeBecameWorkingDirectory))
            case _ where EnvironmentVariable.launcherNames.contains(name) || name.hasPrefix(EnvironmentVariable.launcherPrefix):
                report(setting, .variableDropped(name: name, value: value, reason: .launcherOwned))
            default:
                do throws(JobValueError) {
                    let variable = try EnvironmentVariable(name: name, value: value)
                    guard value.last.map({ !$0.isBlank }) ?? true else {
                        report(setting, .variableDropped(name: name, value: value, reason: .trailingBlanks))
                        continue
                    }
                    inheritance.environment.append(variable)
                    if name == "TZ", !value.isEmpty { report(setting, .timeZoneVariable(value)) }
                } catch {
                    report(setting, .variableDropped(name: name, value: value, reason: .invalidName(error.reason)))
                }
            }
        }
        return inheritance
    }

    /// Notes that `job` was written with `inheritance`, for the summary.
    mutating func record(_ inheritance: Inheritance, for job: JobName) {
        for (line, kind) in inheritance.reports {
            reports[line, default: (kind, [])].jobs.append(job)
        }
    }

    /// One finding per setting line that affected at least one job.
    func findings(path: String) -> [ImportFinding] {
        reports.keys.sorted().compactMap { line in
            reports[line].map { ImportFinding(location: CrontabLocation(path: path, line: line), jobs: $0.jobs, kind: $0.kind) }
        }
    }
}

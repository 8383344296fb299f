extension JobKey {
    /// The key's rule in one sentence, for the man page's JOB FILES section. A switch, so a new
    /// key cannot ship without its line there (docs/JOB-FILES.md has the full rules).
    public var rule: String {
        switch self {
        case .schedule: "Required. A five-field cron expression (minute hour day-of-month month day-of-week, "
            + "with the L, W and # extensions) or a macro such as @daily or @reboot."
        case .identity: "Required. The non-human identity the job acts as: [a-z][a-z0-9-]{0,62}, never an "
            + "anonymous name such as root, system, cron or nobody."
        case .owner: "Required. The accountable human or team: \"name <contact>\", \"name\" or \"<contact>\" "
            + "(a warning without an email address or URL)."
        case .command: "Required. The program and its arguments, split like a POSIX shell but not run through one."
        case .shell: "An absolute path; then command is one script run as \"shell -c script\"."
        case .runAs: "user[:group], names or numeric ids. Required when the daemon runs as root; otherwise "
            + "only the daemon's own user, unless --dev sets it aside."
        case .credentials: "A comma list of credential names; a run gets copies of exactly these from "
            + "the credential store, in $CREDENTIALS_DIRECTORY."
        case .tokens: "NAME=AUDIENCE pairs, comma-separated: each run gets $CREDENTIALS_DIRECTORY/NAME.jwt, a short-lived "
            + "token signed by the daemon for that audience (docs/TOKENS.md)."
        case .purpose: "One line saying why the job exists."
        case .runbook: "One line: where on-call reads what to do when it fails."
        case .timezone: "An IANA zone (Europe/Berlin) the schedule is read in; default the daemon's own (TZ, else /etc/localtime)."
        case .timeout: "90s, 10m, 2h, 1d or 1h30m (1 s to 30 days): the run is terminated after this long."
        case .killGrace: "How long a timed-out run has between SIGTERM and SIGKILL; default 10s."
        case .overlap: "skip (default), queue or allow: what a slot does while the previous run is still going."
        case .catchUp: "none (default), once or all: what the daemon does with slots missed while it was down."
        case .placement: "once (default) or every-host: in a fleet sharing one PostgreSQL store, whether one host "
            + "fires each slot or every host does; a single host fires every slot either way."
        case .workingDirectory: "An absolute path; default /."
        case .environment: "NAME=value pairs, comma-separated (\\, for a literal comma); PATH, HOME, USER, "
            + "LOGNAME, SHELL, CREDENTIALS_DIRECTORY, TRACEPARENT and ASCRIBE_* are the launcher's."
        case .enabled: "yes (default) or no."
        }
    }
}

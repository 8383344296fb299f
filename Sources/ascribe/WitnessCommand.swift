import AscribeCommandLine
import AscribeCore
import AscribeRuntime
import AscribeSystem

/// `ascribe witness serve`: a C2SP tlog-witness for Ascribe logs, meant for another host.
enum WitnessCommand {
    static let listen = CommandOption("--listen", value: "ADDR", help: "host:port to listen on, e.g. 0.0.0.0:8470 (plain HTTP: see docs/EVENTS.md for https)",
                                      required: true)
    static let state = CommandOption("--state", value: "DIR", help: "the witness's own state: its key (witness.pem) and the last checkpoint cosigned per log",
                                     required: true)
    static let logKey = CommandOption("--log-key", value: "VKEY", help: "a log whose checkpoints to cosign: its checkpoint key (name = the log's origin, ascribe/<host>)",
                                      repeatable: true, required: true)
    static let name = CommandOption("--name", value: "NAME", help: "the witness's key name in its cosignatures", default: "witness/<this host>")

    static let declaration = CommandDeclaration(
        name: "witness", summary: "serve as a witness: cosign other hosts' checkpoints that extend what it saw",
        discussion: """
            `ascribe witness serve` is a C2SP tlog-witness: POST <prefix>/add-checkpoint with
            `old <size>`, the consistency proof from that size and a checkpoint signed by a
            --log-key; it answers with a cosignature/v1 line when the checkpoint extends the last one
            it cosigned for that log, 409 with its size when the old size differs, 422 when the
            proof does not verify, 403 for a signature it does not trust, 404 for an unknown log.
            The check and the record of the new size are one step (one request at a time, the state
            directory locked), written and synced before the answer. Run it on another host, under
            its own identity: a host's root can rewrite its own log, not the witness's memory.
            Prints its cosigner key first; give it to `ascribe verify --witness-key`.
            """,
        operands: [Operand("serve")], options: [listen, state, logKey, name],
        examples: """
            ascribe witness serve --listen 127.0.0.1:8470 --state ./witness   # exits 2: it needs a --log-key, each log's checkpoint key
            """)

    static func run(_ arguments: ParsedArguments, output: inout Output) throws(UsageError) -> ExitCode {
        guard try arguments.operands(max: 1) == ["serve"] else { throw UsageError(message: "witness has one subcommand: serve") }
        let keys: [Ed25519NoteVerifier]
        do {
            keys = try Ed25519NoteVerifier.parse(arguments.values(logKey))
        } catch {
            throw UsageError(message: "--log-key: \(error)")
        }
        let witnessName = arguments.value(name) ?? "witness/" + HostName.current()
        guard NoteKeyName.isValid(witnessName) else { throw UsageError(message: "--name \(witnessName.debugDescription) cannot name a key (white space or +)") }
        let service: WitnessService
        do {
            service = try WitnessService(stateDirectory: arguments.value(state) ?? "", name: witnessName, logKeys: keys,
                                         listen: arguments.value(listen) ?? "")
        } catch {
            output.error("ascribe witness: \(error)")
            return .findings
        }
        let banner = "witness \(witnessName) listening on port \(service.port); cosigner key \(service.witness.signer.cosignerKey)\n"
        try? SystemCalls.writeAll(1, ArraySlice(banner.utf8))
        do throws(SystemError) {
            try service.serve { line in try? SystemCalls.writeAll(2, ArraySlice(("ascribe witness: " + line + "\n").utf8)) }
        } catch {
            output.error("ascribe witness: \(error)")
        }
        return .findings
    }
}

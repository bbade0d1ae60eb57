import ArgumentParser

/// `-v` and `-q`: every command takes them (through `OutputOptions`, or on their own).
struct VerbosityOptions: ParsableArguments {
    @Flag(name: .shortAndLong, help: "Log more on stderr: -v info, -vv debug with each sync phase's time, -vvv trace (overrides SFGIT_LOG).")
    var verbose: Int

    @Flag(name: .shortAndLong, help: "Log only errors. For sync and status, print only what needs a person (see their help).")
    var quiet = false

    func validate() throws {
        if quiet && verbose > 0 { throw ValidationError("-q/--quiet and -v/--verbose exclude each other") }
    }
}

/// Flags every command takes.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print one JSON envelope (schema sfgit.v1) on stdout instead of text.")
    var json = false

    @OptionGroup var verbosity: VerbosityOptions
}

extension VerbosityOptions {
    /// The `-v`/`-q` a parsed command was given: found by reflection on its option groups, so
    /// that a new command needs nothing but the group itself.
    static func of(_ command: ParsableCommand) -> VerbosityOptions? {
        for child in Mirror(reflecting: command).children {
            if let group = child.value as? OptionGroup<OutputOptions> { return group.wrappedValue.verbosity }
            if let group = child.value as? OptionGroup<VerbosityOptions> { return group.wrappedValue }
        }
        return nil
    }
}

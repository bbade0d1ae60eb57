import ArgumentParser

/// Flags every command takes.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print one JSON envelope (schema sfgit.v1) on stdout instead of text.")
    var json = false
}

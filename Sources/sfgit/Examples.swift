/// The EXAMPLES section of each subcommand's help (and so of the man page generated from it).
enum Examples {
    static func block(_ lines: String...) -> String { "EXAMPLES:\n" + lines.map { "  " + $0 }.joined(separator: "\n") }

    static let initStore = block(
        "sfgit init --remote ssh://git@git.example.com/memories.git --store shared",
        "sfgit init --remote file:///srv/git/memories.git --author admin --host hq --key ~/.ssh/sfgit_ed25519")
    static let clone = block("sfgit clone ssh://git@git.example.com/memories.git --introduction COMMIT --signer SHA256:FP --store shared")
    static let remember = block(
        "sfgit remember learning --title \"gpt-4.1 wraps JSON in fences\" --body-file notes.md --tag openai",
        "sfgit remember benchmark --title \"p50 of /search\" --field subject=search --field metric=p50 --field value=12.5 --field unit=ms",
        "sfgit remember circuit-breaker --title \"k2p5 down\" --field subject=kimi-coding/k2p5 --field state=open --field resets_at=$(date -u -d +1hour +%FT%TZ)")
    static let retract = block("sfgit retract 01M8F3AT5G --reason \"fixed by the provider\"")
    static let sync = block(
        "sfgit sync",
        "sfgit sync --store shared --wait 30s",
        "sfgit sync -q --timeout 60s                # cron: silent until a person is needed")
    static let recall = block(
        "sfgit recall \"kimi-coding/k2p5\" --kind anti-pattern --since 30d --explain",
        "sfgit recall p50 --signer srv@server --limit 20 --offset 20",
        "sfgit recall --tier reviewed --json")
    static let show = block("sfgit show 01M8F3AT5G", "sfgit show 01M8F3AT5G --json")
    static let status = block(
        "sfgit status",
        "sfgit status -q --alert-after 2h || echo 'sfgit needs a person'",
        "sfgit status -q --prometheus /var/lib/prometheus/node-exporter/sfgit.prom")
    static let reindex = block("sfgit reindex --store shared")
    static let check = block("sfgit check .", "sfgit check memories/learning --format github")
    static let breakers = block("sfgit breakers", "sfgit breakers kimi-coding/k2p5 --json")
    static let benchmarks = block("sfgit benchmarks openai/gpt-4.1 --metric p50 --by-host", "sfgit benchmarks --max-age 7d")
    static let mcp = block("sfgit mcp", "sfgit mcp --print-config claude")
    static let hookInstall = block("sfgit hook install --harness claude --scope user", "sfgit hook install --harness cursor --dry-run")
    static let hookUninstall = block("sfgit hook uninstall --harness claude --scope user")
    static let sessionStart = block("echo '{}' | sfgit hook session-start --max-chars 4000")
    static let whoami = block("sfgit whoami", "sfgit whoami --key ~/.ssh/other_ed25519")
    static let storeList = block("sfgit store list", "sfgit store list --json")
    static let storeRemove = block("sfgit store remove old-store", "sfgit store remove old-store --force   # discard unpublished memories")
    static let trustList = block("sfgit trust list", "sfgit trust list --store shared --json")
    static let trustAdd = block("sfgit trust add ana@desk ana.pub --role write", "sfgit trust add bot@ci bot.pub --role review --quota 50")
    static let trustRemove = block("sfgit trust remove ana@desk                 # retire: past memories stay, marked retired")
    static let trustRevoke = block("sfgit trust revoke ana@desk --since 5d2caff1caba   # a leaked key: later commits refused")
    static let policyShow = block("sfgit policy show", "sfgit policy show --json")
    static let policySet = block("sfgit policy set mode review", "sfgit policy set quota 50 --principal ana@desk", "sfgit policy set half_lives.benchmark 3")
    static let policyUnset = block("sfgit policy unset half_lives.benchmark", "sfgit policy unset quota --principal ana@desk")
    static let reviewList = block("sfgit review list", "sfgit review list --offline --json")
    static let reviewShow = block("sfgit review show ana@desk")
    static let reviewMerge = block("sfgit review merge ana@desk                 # make and check the merge only",
                                   "sfgit review merge ana@desk --push --expect-tip f9345f418c7d")
    // Group pages: one line per subcommand, the subcommand's own page has more.
    static let trustGroup = block("sfgit trust list", "sfgit trust add ana@desk ana.pub --role write", "sfgit trust remove ana@desk",
                                  "sfgit trust revoke ana@desk --since 5d2caff1caba")
    static let policyGroup = block("sfgit policy show", "sfgit policy set mode review", "sfgit policy unset quota --principal ana@desk")
    static let reviewGroup = block("sfgit review list", "sfgit review show ana@desk", "sfgit review merge ana@desk --push")
    static let hookGroup = block("sfgit hook install --harness claude --scope user", "sfgit hook uninstall --harness claude --scope user",
                                 "echo '{}' | sfgit hook session-start")
    static let storeGroup = block("sfgit store list", "sfgit store remove old-store")
    static let adminReset = block("sfgit admin reset --to 5d2caff1caba --reason \"the merged anti-pattern was wrong\"")
    static let config = block("sfgit config get identity.key", "sfgit config set identity.key ~/.ssh/sfgit_ed25519", "sfgit config set default_store shared")
}

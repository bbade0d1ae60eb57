import SFGitIndex
import SFGitMemory
import SFGitTrust

// The value types the executable renders, named through the facade so that it imports SFGit only.

/// One answer of `recall` or `show`.
public typealias RecallItem = SFGitIndex.RecallItem
/// A recall request.
public typealias RecallQuery = SFGitIndex.RecallQuery
/// Counts of a store's cache.
public typealias IndexCounts = SFGitIndex.IndexCounts
/// A JSON value with ordered object keys (a recall item's `fields`).
public typealias JSONValue = SFGitMemory.JSONValue
/// A role of a store's policy.
public typealias Role = SFGitTrust.Policy.Role
/// How a memory reached this host (`self`, `authenticated`, `reviewed`).
public typealias Tier = SFGitIndex.Tier
/// What the fleet views (`breakers`, `benchmarks`) look at.
public typealias FleetQuery = SFGitIndex.FleetQuery
/// The fleet's breaker state for one subject.
public typealias FleetBreaker = SFGitIndex.FleetBreaker
/// The fleet's benchmark estimate for one subject, metric and unit.
public typealias FleetBenchmark = SFGitIndex.FleetBenchmark
/// A recency-weighted estimate.
public typealias FleetEstimate = SFGitIndex.FleetEstimate
/// JSON text read by hand (`sfgit mcp` reads its requests with it).
public typealias JSONText = SFGitMemory.JSONText
/// JSON text written by hand, as JSONEncoder writes it with sfgit's settings.
public typealias JSONWriter = SFGitMemory.JSONWriter

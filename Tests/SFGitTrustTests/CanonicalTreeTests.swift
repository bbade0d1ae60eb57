import Foundation
import SFGitMemory
import SFGitRepository
import SFGitTestSupport
import Testing
@testable import SFGitTrust

/// Trees `git fsck` rejects, written by hand and signed by a trusted writer: each must refuse
/// its commit as malformed, so that no host ever reads another principal's file through them.
@Suite("Verifier: non-canonical trees")
struct CanonicalTreeTests {
    /// A store where sf@mikki-bunker published a memory (the victim) and evil@x may write.
    struct Scene {
        let store: StoreBuilder
        /// The last good commit, holding the victim's memory.
        let base: String
        let victimID: ULID
        let victimPath: String
        /// A memory by evil@x that reuses the victim's id.
        let impostorBlob: String
        /// A legitimate new memory by evil@x (its own id).
        let freshBlob: String
        let freshName: String

        init() throws {
            store = try StoreBuilder()
            try store.setRoles("sf@mikki-bunker", ["write"])
            try store.setRoles("evil@x", ["write"])
            try store.commit(as: "admin@hq", "add writers")
            victimID = store.nextID()
            victimPath = try store.addMemory(by: "sf@mikki-bunker", id: victimID, title: "the victim's finding")
            base = try store.commit(as: "sf@mikki-bunker")
            impostorBlob = try store.git.run(["hash-object", "-w", "--stdin"],
                                             stdin: Data(store.memoryText(id: victimID, principal: "evil@x", title: "the impostor's text").utf8))
            let fresh = store.nextID()
            freshName = "\(fresh).yaml"
            freshBlob = try store.git.run(["hash-object", "-w", "--stdin"], stdin: Data(store.memoryText(id: fresh, principal: "evil@x").utf8))
        }

        var monthPath: String { String(victimPath.split(separator: "/").dropLast().joined(separator: "/")) }
        var victimName: String { String(victimPath.split(separator: "/").last!) }

        /// The root tree after replacing the tree at `path` by `entries`, written raw.
        func root(replacing path: String, with entries: [RawTreeEntry]) throws -> String {
            try store.git.replaceTree(at: path, in: base + "^{tree}", with: try store.git.writeRawTree(entries))
        }

        func entries(_ path: String) throws -> [RawTreeEntry] {
            try store.git.rawEntries(of: path.isEmpty ? base + "^{tree}" : "\(base):\(path)")
        }
    }

    /// Sorts entries in git's order (a tree compares as if its name ended in `/`), so that a
    /// case breaks only the rule it is named for.
    static func gitOrder(_ entries: [RawTreeEntry]) -> [RawTreeEntry] {
        entries.sorted { a, b in
            let x = a.name + (a.mode == "40000" ? [UInt8(ascii: "/")] : [])
            let y = b.name + (b.mode == "40000" ? [UInt8(ascii: "/")] : [])
            return x.lexicographicallyPrecedes(y)
        }
    }

    /// Each hostile tree: a name, and how to build the new root tree from the scene.
    static let cases: [(String, @Sendable (Scene) throws -> String)] = [
        ("a root entry named with '/' that shadows the victim's path", { scene in
            try scene.root(replacing: "", with: gitOrder(try scene.entries("") + [RawTreeEntry(mode: "100644", name: scene.victimPath, id: scene.impostorBlob)]))
        }),
        ("the victim's name twice, the impostor second", { scene in
            var entries = try scene.entries(scene.monthPath)
            let at = entries.firstIndex { $0.name == Array(scene.victimName.utf8) }!
            entries.insert(RawTreeEntry(mode: "100644", name: scene.victimName, id: scene.impostorBlob), at: at + 1)
            return try scene.root(replacing: scene.monthPath, with: entries)
        }),
        ("the victim's name twice, the impostor first", { scene in
            var entries = try scene.entries(scene.monthPath)
            let at = entries.firstIndex { $0.name == Array(scene.victimName.utf8) }!
            entries.insert(RawTreeEntry(mode: "100644", name: scene.victimName, id: scene.impostorBlob), at: at)
            return try scene.root(replacing: scene.monthPath, with: entries)
        }),
        ("entries out of git's order", { scene in
            let entries = gitOrder(try scene.entries(scene.monthPath) + [RawTreeEntry(mode: "100644", name: scene.freshName, id: scene.freshBlob)])
            return try scene.root(replacing: scene.monthPath, with: entries.reversed())
        }),
        ("an empty name", { scene in
            try scene.root(replacing: scene.monthPath, with: [RawTreeEntry(mode: "100644", name: "", id: scene.freshBlob)] + (try scene.entries(scene.monthPath)))
        }),
        ("an entry named '.'", { scene in
            try scene.root(replacing: "", with: gitOrder(try scene.entries("") + [RawTreeEntry(mode: "40000", name: ".", id: try scene.store.git.run(["rev-parse", "\(scene.base):memories"]))]))
        }),
        ("an entry named '..'", { scene in
            try scene.root(replacing: "", with: gitOrder(try scene.entries("") + [RawTreeEntry(mode: "40000", name: "..", id: try scene.store.git.run(["rev-parse", "\(scene.base):memories"]))]))
        }),
        ("an entry named '.GIT'", { scene in
            try scene.root(replacing: "", with: gitOrder(try scene.entries("") + [RawTreeEntry(mode: "40000", name: ".GIT", id: try scene.store.git.run(["rev-parse", "\(scene.base):memories"]))]))
        }),
        ("a mode git never writes", { scene in
            try scene.root(replacing: scene.monthPath, with: gitOrder(try scene.entries(scene.monthPath) + [RawTreeEntry(mode: "100664", name: scene.freshName, id: scene.freshBlob)]))
        }),
        ("a file and a directory of the same name, apart in order", { scene in
            let memories = try scene.store.git.run(["rev-parse", "\(scene.base):memories"])
            let entries = try scene.entries("").filter { $0.name != Array("memories".utf8) } + [
                RawTreeEntry(mode: "100644", name: "memories", id: scene.freshBlob),
                RawTreeEntry(mode: "100644", name: "memories-notes", id: scene.freshBlob),
                RawTreeEntry(mode: "40000", name: "memories", id: memories),
            ]
            return try scene.root(replacing: "", with: gitOrder(entries))
        }),
        ("a memory file entry that names a tree", { scene in
            let month = try scene.store.git.run(["rev-parse", "\(scene.base):\(scene.monthPath)"])
            return try scene.root(replacing: scene.monthPath, with: gitOrder(try scene.entries(scene.monthPath) + [RawTreeEntry(mode: "100644", name: scene.freshName, id: month)]))
        }),
        ("a directory entry that names a blob", { scene in
            let kindPath = String(scene.monthPath.split(separator: "/").prefix(2).joined(separator: "/"))
            return try scene.root(replacing: kindPath, with: gitOrder(try scene.entries(kindPath) + [RawTreeEntry(mode: "40000", name: "2099", id: scene.freshBlob)]))
        }),
    ]

    @Test("a hand-written non-canonical tree refuses its commit as malformed", arguments: 0..<cases.count)
    func refused(_ index: Int) throws {
        let (name, build) = Self.cases[index]
        let scene = try Scene()
        let hostile = try scene.store.commitTree(try build(scene), as: "evil@x", message: name)
        let result = try verify(scene.store, from: scene.base)
        #expect(result.blocked?.commit.hex == hostile, "\(name)")
        #expect(result.blocked?.status == .malformed, "\(name): \(result.blocked?.reason ?? "accepted")")
        #expect(result.verifiedTip?.hex == scene.base, "\(name)")
        #expect(result.accepted.isEmpty, "\(name)")
        // A fresh clone (verifying from the introduction) refuses it the same way.
        let fresh = try verify(scene.store)
        #expect(fresh.blocked?.commit.hex == hostile && fresh.blocked?.status == .malformed, "\(name)")
        #expect(fresh.verifiedTip?.hex == scene.base, "\(name)")
    }

    @Test("the hand-written trees are ones git itself refuses (the cases test what they claim)")
    func gitAgrees() throws {
        for (name, build) in Self.cases {
            let scene = try Scene()
            let hostile = try scene.store.commitTree(try build(scene), as: "evil@x", message: name)
            let fsck = try scene.store.git.result(["fsck", "--strict", "--no-dangling", "--connectivity-only", hostile])
            let full = try scene.store.git.result(["fsck", "--strict", "--no-dangling"])
            #expect(fsck.exitCode != 0 || full.exitCode != 0, "git fsck accepts the tree of case '\(name)'")
        }
    }

    @Test("a canonical tree written the same raw way is accepted (the writer is not the problem)")
    func canonicalRawTreeAccepted() throws {
        let scene = try Scene()
        let root = try scene.root(replacing: scene.monthPath, with: Self.gitOrder(try scene.entries(scene.monthPath) + [RawTreeEntry(mode: "100644", name: scene.freshName, id: scene.freshBlob)]))
        let commit = try scene.store.commitTree(root, as: "evil@x")
        let result = try verify(scene.store, from: scene.base)
        #expect(result.blocked == nil)
        #expect(result.verifiedTip?.hex == commit)
        #expect(result.accepted.map(\.path) == ["\(scene.monthPath)/\(scene.freshName)"])
    }
}

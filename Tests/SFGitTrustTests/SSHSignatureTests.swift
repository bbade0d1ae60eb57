import Crypto
import _CryptoExtras
import Foundation
import PropertyBased
import SFGitTestSupport
import Testing
@testable import SFGitTrust

@Suite("SSH signatures (SSHSIG)")
struct SSHSignatureTests {
    /// Signs `message` with ssh-keygen in namespace `namespace`, optionally with `-O hashalg=`.
    static func keygenSign(_ key: TestKey, _ message: [UInt8], namespace: String = "git", hash: String? = nil) throws -> [UInt8] {
        var arguments = ["-q", "-Y", "sign", "-n", namespace, "-f", key.privatePath]
        if let hash { arguments += ["-O", "hashalg=\(hash)"] }
        let result = try ProcessRunner.run("ssh-keygen", arguments, stdin: Data(message))
        #expect(result.exitCode == 0, "\(result.stderr)")
        return Array(result.stdout.utf8)
    }

    struct KeyCase: Sendable, CustomTestStringConvertible {
        var type: String
        var bits: Int?
        var hash: String?
        var testDescription: String { "\(type)\(bits.map { "-\($0)" } ?? "") \(hash ?? "sha512")" }
    }

    @Test("signatures made by ssh-keygen verify natively; tampering and other namespaces do not", arguments: [
        KeyCase(type: "ed25519"), KeyCase(type: "ed25519", hash: "sha256"),
        KeyCase(type: "ecdsa", bits: 256), KeyCase(type: "ecdsa", bits: 384, hash: "sha256"),
        KeyCase(type: "rsa", bits: 2048), KeyCase(type: "rsa", bits: 3072, hash: "sha256"),
    ])
    func verifiesKeygenSignatures(_ c: KeyCase) throws {
        let dir = try TemporaryDirectory()
        let key = try TestKey.generate(in: dir.path, name: "k", type: c.type, bits: c.bits)
        let message = Array("tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\nhello\n".utf8)
        let signature = try SSHSignature(armored: Self.keygenSign(key, message, hash: c.hash))
        #expect(signature.publicKey.fingerprint == key.fingerprint)
        #expect(signature.publicKey.openSSH == key.publicKey)
        #expect(signature.hashAlgorithm == (c.hash ?? "sha512"))
        #expect(signature.verify(message: message, namespace: "git"))
        #expect(!signature.verify(message: message + [0x0A], namespace: "git"))
        #expect(!signature.verify(message: message, namespace: "file"))
        let other = try SSHSignature(armored: Self.keygenSign(key, message, namespace: "file"))
        #expect(other.namespace == "file")
        #expect(!other.verify(message: message, namespace: "git"))
    }

    @Test("fingerprints match ssh-keygen -l for every supported key type", arguments: ["ed25519", "ecdsa", "rsa"])
    func fingerprints(type: String) throws {
        let dir = try TemporaryDirectory()
        let key = try TestKey.generate(in: dir.path, name: "k", type: type)
        #expect(try SSHPublicKey(openSSH: key.publicKey).fingerprint == key.fingerprint)
    }

    @Test("RSA keys under 2048 bits are refused")
    func shortRSA() throws {
        let dir = try TemporaryDirectory()
        let key = try TestKey.generate(in: dir.path, name: "k", type: "rsa", bits: 1024)
        #expect(throws: SSHPublicKey.ParseError.rsaTooShort(bits: 1024)) { try SSHPublicKey(openSSH: key.publicKey) }
    }

    @Test("native ed25519 signing equals ssh-keygen's, byte for byte")
    func nativeSigningMatchesKeygen() throws {
        let dir = try TemporaryDirectory()
        let key = try TestKey.generate(in: dir.path, name: "k")
        let message = Array("some commit bytes\n".utf8)
        let signer = try SigningKey.load(key.privatePath)
        #expect(signer is Ed25519Signer)
        #expect(signer.publicKey.fingerprint == key.fingerprint)
        let native = try signer.sign(message)
        var keygen = String(decoding: try Self.keygenSign(key, message), as: UTF8.self)
        while keygen.hasSuffix("\n") { keygen.removeLast() }
        #expect(native == keygen)
        // And ssh-keygen accepts the native signature.
        try dir.write("allowed", "signer@test namespaces=\"git\" \(key.publicKey)\n")
        try dir.write("sig", native + "\n")
        let verified = try ProcessRunner.run("ssh-keygen", ["-Y", "verify", "-f", dir.url("allowed"), "-I", "signer@test", "-n", "git", "-s", dir.url("sig")], stdin: Data(message))
        #expect(verified.exitCode == 0, "\(verified.stderr)")
    }

    @Test("keys sfgit does not sign natively go through ssh-keygen")
    func keygenFallback() throws {
        let dir = try TemporaryDirectory()
        let key = try TestKey.generate(in: dir.path, name: "k", type: "ecdsa")
        let signer = try SigningKey.load(key.privatePath)
        #expect(signer is SSHKeygenSigner)
        let message = Array("payload".utf8)
        let signature = try SSHSignature(armored: Array(try signer.sign(message).utf8))
        #expect(signature.verify(message: message, namespace: "git"))
        #expect(signature.publicKey.fingerprint == key.fingerprint)
    }

    @Test("a key held by ssh-agent signs through its .pub path")
    func agentSigning() throws {
        let dir = try TemporaryDirectory()
        let key = try TestKey.generate(in: dir.path, name: "k")
        let socket = dir.url("agent.sock")
        let agent = try ProcessRunner.spawn("ssh-agent", ["-D", "-a", socket])
        defer {
            agent.signal(SIGKILL)
            agent.wait()
        }
        for _ in 0..<100 where !FileManager.default.fileExists(atPath: socket) { usleep(20_000) }
        let added = try ProcessRunner.run("ssh-add", [key.privatePath], environment: ["SSH_AUTH_SOCK": socket])
        #expect(added.exitCode == 0, "\(added.stderr)")
        // Move the private key away: only the agent can sign now.
        try FileManager.default.removeItem(atPath: key.privatePath)
        setenv("SSH_AUTH_SOCK", socket, 1)
        defer { unsetenv("SSH_AUTH_SOCK") }
        let signer = try SigningKey.load(key.publicPath)
        let message = Array("agent payload".utf8)
        let signature = try SSHSignature(armored: Array(try signer.sign(message).utf8))
        #expect(signature.verify(message: message, namespace: "git"))
    }

    @Test("sk-ssh-ed25519 signatures verify, and require user presence")
    func securityKeySignatures() throws {
        // No FIDO token here: build the structures PROTOCOL.u2f describes around a software key.
        let privateKey = Curve25519.Signing.PrivateKey()
        let application = Array("ssh:".utf8)
        var keyBlob = SSHWriter()
        keyBlob.string("sk-ssh-ed25519@openssh.com")
        keyBlob.string([UInt8](privateKey.publicKey.rawRepresentation))
        keyBlob.string(application)
        let publicKey = try SSHPublicKey(blob: keyBlob.bytes)
        let message = Array("commit".utf8)

        func signature(flags: UInt8, counter: UInt32) throws -> SSHSignature {
            let data = SSHSignature.signedData(message: message, namespace: "git", hashAlgorithm: "sha512")
            var signed = SSHWriter()
            signed.raw(Array(SHA256.hash(data: application)))
            signed.byte(flags)
            signed.uint32(counter)
            signed.raw(Array(SHA256.hash(data: data)))
            let raw = try privateKey.signature(for: signed.bytes)
            var sig = SSHWriter()
            sig.string("sk-ssh-ed25519@openssh.com")
            sig.string([UInt8](raw))
            sig.byte(flags)
            sig.uint32(counter)
            return try SSHSignature(blob: SSHSignature.blob(publicKey: publicKey, namespace: "git", hashAlgorithm: "sha512", signature: sig.bytes))
        }
        #expect(try signature(flags: 0x01, counter: 7).verify(message: message, namespace: "git"))
        #expect(!(try signature(flags: 0x00, counter: 7).verify(message: message, namespace: "git")))
        #expect(!(try signature(flags: 0x01, counter: 7).verify(message: message + [1], namespace: "git")))
    }

    /// OpenSSH's plain `ssh-rsa` signature algorithm hashes with SHA-1; ssh-keygen no longer makes
    /// one, so this builds it: the SSHSIG blob of an RSA key around a PKCS#1 v1.5 SHA-1 signature
    /// over exactly the bytes an `rsa-sha2-512` signature covers.
    @Test("an ssh-rsa (SHA-1) signature is refused though it is a valid RSA signature; the same key's rsa-sha2-256/512 ones verify")
    func sha1RSARefused() throws {
        let dir = try TemporaryDirectory()
        let key = try TestKey.generate(in: dir.path, name: "k", type: "rsa", bits: 2048)
        // The private key as PKCS#1 PEM, which swift-crypto reads.
        let converted = try ProcessRunner.run("ssh-keygen", ["-q", "-p", "-m", "PEM", "-N", "", "-P", "", "-f", key.privatePath])
        #expect(converted.exitCode == 0, "\(converted.stderr)")
        let privateKey = try _RSA.Signing.PrivateKey(pemRepresentation: String(contentsOfFile: key.privatePath, encoding: .utf8))
        let publicKey = try SSHPublicKey(openSSH: key.publicKey)
        let message = Array("tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\nsigned with SHA-1\n".utf8)
        let signed = SSHSignature.signedData(message: message, namespace: "git", hashAlgorithm: "sha512")

        func sshsig(_ algorithm: String, _ raw: Data) throws -> SSHSignature {
            var inner = SSHWriter()
            inner.string(algorithm)
            inner.string([UInt8](raw))
            return try SSHSignature(blob: SSHSignature.blob(publicKey: publicKey, namespace: "git", hashAlgorithm: "sha512", signature: inner.bytes))
        }
        let sha1 = try privateKey.signature(for: Insecure.SHA1.hash(data: signed), padding: .insecurePKCS1v1_5)
        // It is a genuine SHA-1 signature by this key over the SSHSIG data…
        #expect(privateKey.publicKey.isValidSignature(sha1, for: Insecure.SHA1.hash(data: signed), padding: .insecurePKCS1v1_5))
        // …and sfgit refuses it, under its own name and under a SHA-2 name alike.
        #expect(!(try sshsig("ssh-rsa", sha1.rawRepresentation)).verify(message: message, namespace: "git"))
        #expect(!(try sshsig("rsa-sha2-512", sha1.rawRepresentation)).verify(message: message, namespace: "git"))
        #expect(!(try sshsig("rsa-sha2-256", sha1.rawRepresentation)).verify(message: message, namespace: "git"))
        // Built the same way, SHA-2 signatures verify: only the hash makes the difference.
        let sha512 = try privateKey.signature(for: SHA512.hash(data: signed), padding: .insecurePKCS1v1_5)
        #expect(try sshsig("rsa-sha2-512", sha512.rawRepresentation).verify(message: message, namespace: "git"))
        let sha256 = try privateKey.signature(for: SHA256.hash(data: signed), padding: .insecurePKCS1v1_5)
        #expect(try sshsig("rsa-sha2-256", sha256.rawRepresentation).verify(message: message, namespace: "git"))
        #expect(!(try sshsig("ssh-rsa", sha512.rawRepresentation)).verify(message: message, namespace: "git"))
    }

    @Test("flipping any byte of the payload or of the signature makes verification fail")
    func byteFlips() async throws {
        let dir = try TemporaryDirectory()
        let key = try TestKey.generate(in: dir.path, name: "k")
        let message = Array("tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@b> 1 +0000\n\nmessage\n".utf8)
        let armored = try Self.keygenSign(key, message)
        let blob = try SSHSignature(armored: armored)
        #expect(blob.verify(message: message, namespace: "git"))
        let rawBlob = SSHSignature.blob(publicKey: blob.publicKey, namespace: "git", hashAlgorithm: blob.hashAlgorithm, signature: blob.signatureBlob)

        await propertyCheck(count: 1000, input: Gen.int(in: 0..<message.count), Gen.uint8(in: 1...255)) { index, mask in
            var tampered = message
            tampered[index] ^= mask
            #expect(!blob.verify(message: tampered, namespace: "git"))
        }
        await propertyCheck(count: 1000, input: Gen.int(in: 0..<rawBlob.count), Gen.uint8(in: 1...255)) { index, mask in
            var tampered = rawBlob
            tampered[index] ^= mask
            // Either it no longer parses, or it parses and does not verify.
            if let parsed = try? SSHSignature(blob: tampered) {
                #expect(!parsed.verify(message: message, namespace: "git"), "byte \(index) ^ \(mask)")
            }
        }
    }
}

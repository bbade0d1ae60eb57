import Crypto
import Foundation
import SFGitProcess

/// Something that can make SSH signatures in namespace `git` for commits.
public protocol CommitSigner: Sendable {
    /// The public key signatures will carry.
    var publicKey: SSHPublicKey { get }
    /// An armored SSHSIG signature over `message`, without a trailing newline.
    func sign(_ message: [UInt8]) throws(SigningError) -> String
}

/// Why signing failed.
public struct SigningError: Error, Sendable, CustomStringConvertible {
    /// What went wrong and what to do.
    public var message: String
    /// Creates an error with its message.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}

/// Signs natively with an ed25519 key (unencrypted OpenSSH private key): no subprocess.
public struct Ed25519Signer: CommitSigner {
    private let privateKey: Curve25519.Signing.PrivateKey
    /// The key's public half.
    public let publicKey: SSHPublicKey

    /// Creates a signer from a 32-byte seed.
    public init(seed: [UInt8]) throws(SigningError) {
        guard let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: seed) else {
            throw SigningError("an ed25519 seed is 32 bytes")
        }
        privateKey = key
        var writer = SSHWriter()
        writer.string("ssh-ed25519")
        writer.string([UInt8](key.publicKey.rawRepresentation))
        publicKey = try! SSHPublicKey(blob: writer.bytes)
    }

    /// An armored SSHSIG signature over `message` in namespace `git`.
    public func sign(_ message: [UInt8]) throws(SigningError) -> String {
        let hashAlgorithm = "sha512"
        let data = SSHSignature.signedData(message: message, namespace: "git", hashAlgorithm: hashAlgorithm)
        guard let raw = try? privateKey.signature(for: data) else { throw SigningError("ed25519 signing failed") }
        var signature = SSHWriter()
        signature.string("ssh-ed25519")
        signature.string([UInt8](raw))
        return SSHSignature.armor(SSHSignature.blob(publicKey: publicKey, namespace: "git", hashAlgorithm: hashAlgorithm, signature: signature.bytes))
    }
}

/// Signs by running `ssh-keygen -Y sign -n git`, for keys sfgit does not sign natively: other
/// algorithms, passphrase-protected keys, and keys held by ssh-agent (given as the `.pub` file).
public struct SSHKeygenSigner: CommitSigner {
    /// The key file passed to `ssh-keygen -f` (a private key, or a `.pub` whose key is in the agent).
    public let keyPath: String
    /// The key's public half.
    public let publicKey: SSHPublicKey

    /// Creates a signer; the public key is read from `keyPath` if it is a `.pub`, else from `keyPath.pub`.
    public init(keyPath: String) throws(SigningError) {
        self.keyPath = keyPath
        let publicPath = keyPath.hasSuffix(".pub") ? keyPath : keyPath + ".pub"
        guard let text = try? String(contentsOfFile: publicPath, encoding: .utf8) else {
            throw SigningError("cannot read the public key \(publicPath)")
        }
        do {
            publicKey = try SSHPublicKey(openSSH: text.trimmingCharacters(in: .whitespacesAndNewlines))
        } catch {
            throw SigningError("\(publicPath): \(error)")
        }
    }

    /// An armored SSHSIG signature over `message`, made by `ssh-keygen -Y sign -n git`.
    public func sign(_ message: [UInt8]) throws(SigningError) -> String {
        let result: ChildResult
        do {
            result = try Launcher.run(ChildCommand("ssh-keygen", ["-q", "-Y", "sign", "-n", "git", "-f", keyPath]), input: Data(message))
        } catch {
            throw SigningError("could not run ssh-keygen: \(error)")
        }
        guard result.succeeded else {
            throw SigningError("ssh-keygen -Y sign failed (\(result.shellStatus)): \(result.errorText.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        var armored = result.outputText
        while armored.hasSuffix("\n") { armored.removeLast() }  // git stores the armor without it
        return armored
    }
}

/// Loads the signer for a key file: native for unencrypted ed25519 private keys, `ssh-keygen`
/// for everything else (other algorithms, passphrases, ssh-agent via a `.pub` path).
public enum SigningKey {
    /// The signer for `path`.
    public static func load(_ path: String) throws(SigningError) -> any CommitSigner {
        if !path.hasSuffix(".pub"), let data = FileManager.default.contents(atPath: path),
           let seed = OpenSSHPrivateKey.unencryptedEd25519Seed([UInt8](data)) {
            return try Ed25519Signer(seed: seed)
        }
        return try SSHKeygenSigner(keyPath: path)
    }
}

/// Reads the `openssh-key-v1` private key format far enough to find an unencrypted ed25519 seed.
enum OpenSSHPrivateKey {
    static func unencryptedEd25519Seed(_ file: [UInt8]) -> [UInt8]? {
        guard let text = String(validating: file, as: UTF8.self) else { return nil }
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        guard lines.first == "-----BEGIN OPENSSH PRIVATE KEY-----", lines.last == "-----END OPENSSH PRIVATE KEY-----",
              let blob = Data(base64Encoded: lines.dropFirst().dropLast().joined()) else { return nil }
        var reader = SSHReader([UInt8](blob))
        guard reader.fixed(15) == Array("openssh-key-v1\0".utf8),
              reader.text() == "none", reader.text() == "none", reader.string() != nil,
              reader.uint32() == 1, reader.string() != nil, let privateSection = reader.string() else { return nil }
        var inner = SSHReader(privateSection)
        guard let check1 = inner.uint32(), let check2 = inner.uint32(), check1 == check2,
              inner.text() == "ssh-ed25519", let publicKey = inner.string(), publicKey.count == 32,
              let secret = inner.string(), secret.count == 64, Array(secret[32...]) == publicKey else { return nil }
        return Array(secret[..<32])
    }
}

import Crypto
import _CryptoExtras
import Foundation

/// A public key in OpenSSH's format, for the algorithms sfgit verifies natively.
/// The key types accepted: docs/TRUST.md § Signatures.
public struct SSHPublicKey: Sendable, Hashable, CustomStringConvertible {
    /// The algorithms sfgit accepts.
    public enum Algorithm: String, Sendable, Hashable, CaseIterable {
        case ed25519 = "ssh-ed25519"
        case ecdsaP256 = "ecdsa-sha2-nistp256"
        case ecdsaP384 = "ecdsa-sha2-nistp384"
        case rsa = "ssh-rsa"
        case skEd25519 = "sk-ssh-ed25519@openssh.com"
    }

    /// The key's algorithm.
    public let algorithm: Algorithm
    /// The wire-format key blob (what the base64 field of a `.pub` line encodes).
    public let blob: [UInt8]
    /// The algorithm-specific parts, parsed once.
    let material: Material

    enum Material: Sendable, Hashable {
        case ed25519([UInt8])
        case ecdsa(curve: String, point: [UInt8])
        case rsa(e: [UInt8], n: [UInt8])
        case skEd25519(key: [UInt8], application: [UInt8])
    }

    /// Why a key was refused.
    public enum ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        case malformed(String)
        case unsupportedAlgorithm(String)
        case rsaTooShort(bits: Int)

        /// What is wrong with the key, and what is accepted.
        public var description: String {
            switch self {
            case .malformed(let why): return "malformed SSH public key: \(why)"
            case .unsupportedAlgorithm(let name): return "unsupported key type '\(name)' (use ssh-ed25519, ecdsa-sha2-nistp256/384, rsa ≥ 2048 bits or sk-ssh-ed25519@openssh.com)"
            case .rsaTooShort(let bits): return "RSA key of \(bits) bits is too short; at least 2048 bits are required"
            }
        }
    }

    /// Parses a wire-format key blob.
    public init(blob: [UInt8]) throws(ParseError) {
        var reader = SSHReader(blob)
        guard let name = reader.text() else { throw .malformed("no key type") }
        guard let algorithm = Algorithm(rawValue: name) else { throw .unsupportedAlgorithm(name) }
        switch algorithm {
        case .ed25519:
            guard let key = reader.string(), key.count == 32 else { throw .malformed("ed25519 key is not 32 bytes") }
            material = .ed25519(key)
        case .ecdsaP256, .ecdsaP384:
            let expected = algorithm == .ecdsaP256 ? "nistp256" : "nistp384"
            guard let curve = reader.text(), curve == expected else { throw .malformed("curve does not match \(name)") }
            guard let point = reader.string(), point.first == 0x04,
                  point.count == (algorithm == .ecdsaP256 ? 65 : 97) else { throw .malformed("bad EC point") }
            material = .ecdsa(curve: curve, point: point)
        case .rsa:
            guard let e = reader.positiveMPInt(), let n = reader.positiveMPInt(), !e.isEmpty, !n.isEmpty else {
                throw .malformed("bad RSA parameters")
            }
            let bits = n.count * 8 - (n.first.map { $0.leadingZeroBitCount } ?? 0)
            guard bits >= 2048 else { throw .rsaTooShort(bits: bits) }
            material = .rsa(e: e, n: n)
        case .skEd25519:
            guard let key = reader.string(), key.count == 32, let application = reader.string() else {
                throw .malformed("bad sk-ssh-ed25519 key")
            }
            material = .skEd25519(key: key, application: application)
        }
        guard reader.isAtEnd else { throw .malformed("trailing bytes") }
        self.algorithm = algorithm
        self.blob = blob
        fingerprint = "SHA256:" + Data(SHA256.hash(data: blob)).base64EncodedString().replacingOccurrences(of: "=", with: "")
    }

    /// Parses `TYPE BASE64 [COMMENT]` as in a `.pub` file or an allowed_signers line's key part.
    public init(openSSH text: String) throws(ParseError) {
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count >= 2 else { throw .malformed("expected 'TYPE BASE64'") }
        guard let blob = Data(base64Encoded: String(fields[1])) else { throw .malformed("key is not base64") }
        try self.init(blob: [UInt8](blob))
        guard algorithm.rawValue == fields[0] else { throw .malformed("type '\(fields[0])' does not match the key blob's '\(algorithm.rawValue)'") }
    }

    /// `SHA256:` and the unpadded base64 of the blob's SHA-256, exactly as `ssh-keygen -l` prints it.
    /// Computed once: every memory a key signed carries it, sharing this one string.
    public let fingerprint: String

    /// `TYPE BASE64`, the form used in `.pub` files and allowed_signers.
    public var openSSH: String { "\(algorithm.rawValue) \(Data(blob).base64EncodedString())" }

    /// The algorithm and the `SHA256:` fingerprint.
    public var description: String { "\(algorithm.rawValue) \(fingerprint)" }

    /// Verifies an SSH signature blob (`string type, string sig[, flags, counter]`) over `data`.
    func verify(signature: [UInt8], over data: [UInt8]) -> Bool {
        var reader = SSHReader(signature)
        guard let type = reader.text(), let sig = reader.string() else { return false }
        switch material {
        case .ed25519(let key):
            guard type == "ssh-ed25519", reader.isAtEnd, sig.count == 64,
                  let publicKey = try? Curve25519.Signing.PublicKey(rawRepresentation: key) else { return false }
            return publicKey.isValidSignature(sig, for: data)
        case .ecdsa(_, let point):
            guard type == algorithm.rawValue, reader.isAtEnd else { return false }
            var inner = SSHReader(sig)
            guard let r = inner.positiveMPInt(), let s = inner.positiveMPInt(), inner.isAtEnd else { return false }
            if algorithm == .ecdsaP256 {
                guard let raw = Self.fixedWidth(r, s, width: 32),
                      let key = try? P256.Signing.PublicKey(x963Representation: point),
                      let signature = try? P256.Signing.ECDSASignature(rawRepresentation: raw) else { return false }
                return key.isValidSignature(signature, for: SHA256.hash(data: data))
            } else {
                guard let raw = Self.fixedWidth(r, s, width: 48),
                      let key = try? P384.Signing.PublicKey(x963Representation: point),
                      let signature = try? P384.Signing.ECDSASignature(rawRepresentation: raw) else { return false }
                return key.isValidSignature(signature, for: SHA384.hash(data: data))
            }
        case .rsa(let e, let n):
            guard reader.isAtEnd, let key = try? _RSA.Signing.PublicKey(n: n, e: e) else { return false }
            let signature = _RSA.Signing.RSASignature(rawRepresentation: sig)
            // `isValidSignature(_:for: Data)` would hash with SHA-256 itself: hand it the right digest.
            switch type {
            case "rsa-sha2-512": return key.isValidSignature(signature, for: SHA512.hash(data: data), padding: .insecurePKCS1v1_5)
            case "rsa-sha2-256": return key.isValidSignature(signature, for: SHA256.hash(data: data), padding: .insecurePKCS1v1_5)
            default: return false  // plain `ssh-rsa` signs with SHA-1: refused
            }
        case .skEd25519(let key, let application):
            // FIDO keys sign SHA256(application) ‖ flags ‖ counter ‖ SHA256(data).
            guard type == algorithm.rawValue, sig.count == 64, let flags = reader.byte(), let counter = reader.uint32(),
                  reader.isAtEnd, flags & 0x01 != 0,  // user presence is required
                  let publicKey = try? Curve25519.Signing.PublicKey(rawRepresentation: key) else { return false }
            var signed = SSHWriter()
            signed.raw(Array(SHA256.hash(data: application)))
            signed.byte(flags)
            signed.uint32(counter)
            signed.raw(Array(SHA256.hash(data: data)))
            return publicKey.isValidSignature(sig, for: signed.bytes)
        }
    }

    /// ECDSA r and s as fixed-width big-endian integers (mpints drop leading zeros).
    private static func fixedWidth(_ r: [UInt8], _ s: [UInt8], width: Int) -> [UInt8]? {
        guard r.count <= width, s.count <= width else { return nil }
        return [UInt8](repeating: 0, count: width - r.count) + r + [UInt8](repeating: 0, count: width - s.count) + s
    }
}

import Crypto
import Foundation

/// An SSH signature in OpenSSH's SSHSIG format (PROTOCOL.sshsig), as `git commit -S` with
/// `gpg.format=ssh` and `ssh-keygen -Y sign` write it.
/// docs/TRUST.md § Signatures.
public struct SSHSignature: Sendable, Hashable {
    /// The signer's public key, embedded in the signature.
    public let publicKey: SSHPublicKey
    /// The namespace the signature is bound to (`git` for commits).
    public let namespace: String
    /// `sha256` or `sha512`: how the message was hashed before signing.
    public let hashAlgorithm: String
    let reserved: [UInt8]
    let signatureBlob: [UInt8]

    /// Why a signature could not be read.
    public enum ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        case notArmored
        case badBase64
        case malformed(String)
        case key(SSHPublicKey.ParseError)

        /// What is wrong with the signature, for people.
        public var description: String {
            switch self {
            case .notArmored: return "not an SSH signature (expected -----BEGIN SSH SIGNATURE-----)"
            case .badBase64: return "SSH signature armor is not valid base64"
            case .malformed(let why): return "malformed SSH signature: \(why)"
            case .key(let error): return error.description
            }
        }
    }

    static let beginMarker = "-----BEGIN SSH SIGNATURE-----"
    static let endMarker = "-----END SSH SIGNATURE-----"
    static let magic = Array("SSHSIG".utf8)

    /// Parses an armored signature (the markers, then base64 over any number of lines).
    public init(armored bytes: [UInt8]) throws(ParseError) {
        // Byte-level: this runs once per commit during verification.
        let begin = Array(Self.beginMarker.utf8), end = Array(Self.endMarker.utf8)
        var start = 0
        while start < bytes.count, Self.isSpace(bytes[start]) { start += 1 }
        var stop = bytes.count
        while stop > start, Self.isSpace(bytes[stop - 1]) { stop -= 1 }
        guard stop - start >= begin.count + end.count,
              bytes[start..<(start + begin.count)].elementsEqual(begin),
              bytes[(stop - end.count)..<stop].elementsEqual(end) else { throw .notArmored }
        let body = bytes[(start + begin.count)..<(stop - end.count)].filter { !Self.isSpace($0) }
        guard let blob = Data(base64Encoded: Data(body)) else { throw .badBase64 }
        try self.init(blob: [UInt8](blob))
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    /// Parses the binary SSHSIG blob.
    init(blob: [UInt8]) throws(ParseError) {
        var reader = SSHReader(blob)
        guard reader.fixed(6) == Self.magic else { throw .malformed("missing SSHSIG magic") }
        guard reader.uint32() == 1 else { throw .malformed("unsupported SSHSIG version") }
        guard let keyBlob = reader.string(), let namespace = reader.text(), let reserved = reader.string(),
              let hashAlgorithm = reader.text(), let signature = reader.string() else {
            throw .malformed("truncated")
        }
        guard reader.isAtEnd else { throw .malformed("trailing bytes") }
        guard hashAlgorithm == "sha256" || hashAlgorithm == "sha512" else {
            throw .malformed("unsupported hash algorithm '\(hashAlgorithm)'")
        }
        do {
            publicKey = try SSHPublicKey(blob: keyBlob)
        } catch {
            throw .key(error)
        }
        self.namespace = namespace
        self.reserved = reserved
        self.hashAlgorithm = hashAlgorithm
        self.signatureBlob = signature
    }

    /// The bytes the key actually signs: the SSHSIG preamble around the message's hash.
    static func signedData(message: [UInt8], namespace: String, reserved: [UInt8] = [], hashAlgorithm: String) -> [UInt8] {
        var writer = SSHWriter()
        writer.raw(magic)
        writer.string(namespace)
        writer.string(reserved)
        writer.string(hashAlgorithm)
        let digest: [UInt8] = hashAlgorithm == "sha256" ? Array(SHA256.hash(data: message)) : Array(SHA512.hash(data: message))
        writer.string(digest)
        return writer.bytes
    }

    /// Whether this is a valid signature by its embedded key over `message` in `namespace`.
    public func verify(message: [UInt8], namespace expected: String) -> Bool {
        guard namespace == expected else { return false }
        let data = Self.signedData(message: message, namespace: namespace, reserved: reserved, hashAlgorithm: hashAlgorithm)
        return publicKey.verify(signature: signatureBlob, over: data)
    }

    /// Armors a binary SSHSIG blob as `ssh-keygen -Y sign` does (base64 in lines of 70), without
    /// a trailing newline, which is the form git stores in a `gpgsig` header.
    static func armor(_ blob: [UInt8]) -> String {
        let encoded = Data(blob).base64EncodedString()
        var lines = [beginMarker]
        var index = encoded.startIndex
        while index < encoded.endIndex {
            let end = encoded.index(index, offsetBy: 70, limitedBy: encoded.endIndex) ?? encoded.endIndex
            lines.append(String(encoded[index..<end]))
            index = end
        }
        lines.append(endMarker)
        return lines.joined(separator: "\n")
    }

    /// Builds the SSHSIG blob for a signature made by `publicKey` over `signedData(…)`.
    static func blob(publicKey: SSHPublicKey, namespace: String, hashAlgorithm: String, signature: [UInt8]) -> [UInt8] {
        var writer = SSHWriter()
        writer.raw(magic)
        writer.uint32(1)
        writer.string(publicKey.blob)
        writer.string(namespace)
        writer.string([UInt8]())
        writer.string(hashAlgorithm)
        writer.string(signature)
        return writer.bytes
    }
}

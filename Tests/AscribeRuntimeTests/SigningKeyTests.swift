import AscribeCore
import Testing
@testable import AscribeRuntime

/// The libcrypto wrapper against published vectors, and the encodings around it.
@Suite struct SigningKeyTests {
    static func bytes(_ base64url: String) -> [UInt8] { Base64.url.decode(base64url) ?? [] }
    static func hex(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            bytes.append(UInt8(text[index..<next], radix: 16) ?? 0)
            index = next
        }
        return bytes
    }

    @Test func base64URLRoundTripsAndRefusesEveryNonCanonicalSpelling() {
        for length in 0..<40 {
            let data = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            #expect(Base64.url.decode(Base64.url.encode(data)) == data)
        }
        #expect(Base64.url.encode(Array("Payload".utf8)) == "UGF5bG9hZA")
        #expect(Base64.url.decode("UGF5bG9hZA==") == nil, "padding is not base64url")
        #expect(Base64.url.decode("UGF5bG9hZB") == nil, "non-zero bits past the data")
        #expect(Base64.url.decode("UGF5+G9hZA") == nil, "+ is base64, not base64url")
        #expect(Base64.url.decode("U") == nil, "one character is never a byte")
    }

    /// RFC 7638 §3.1: the thumbprint of the RFC 7517 RSA example key.
    @Test func rfc7638Thumbprint() throws {
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
        let key = PublicKeyParameters.rsa(modulus: Self.bytes(n), exponent: Self.bytes("AQAB"))
        #expect(try key.thumbprint() == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        #expect(try VerifyingKey(key).parameters == key)
    }

    /// RFC 8037 appendix A: the Ed25519 key, its thumbprint, and its (deterministic) signature.
    @Test func rfc8037Ed25519() throws {
        let pem = """
            -----BEGIN PRIVATE KEY-----
            MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g
            -----END PRIVATE KEY-----

            """
        let key = try SigningKey(pem: Array(pem.utf8))
        #expect(key.algorithm == .ed25519)
        let parameters = try key.publicParameters()
        #expect(parameters == .ed25519(Self.bytes("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")))
        #expect(try parameters.thumbprint() == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k")
        let input = Array("eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc".utf8)
        let signature = try key.sign(input)
        #expect(Base64.url.encode(signature) == "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg")
        #expect(try key.verifyingKey().isValidSignature(signature, for: input))
        #expect(try key.pem() == Array(pem.utf8))
    }

    /// RFC 7515 appendix A.3: the ES256 example verifies with the example public key, and no
    /// longer does with any byte of the signature or the input changed.
    @Test func rfc7515ES256Verification() throws {
        let key = try VerifyingKey(.ecP256(x: Self.bytes("f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"),
                                           y: Self.bytes("x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0")))
        let input = Array("eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ".utf8)
        let signature = Self.bytes("DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q")
        #expect(key.isValidSignature(signature, for: input))
        for index in signature.indices {
            var changed = signature
            changed[index] ^= 0x01
            #expect(!key.isValidSignature(changed, for: input))
        }
        var changedInput = input
        changedInput[10] ^= 0x01
        #expect(!key.isValidSignature(signature, for: changedInput))
        #expect(!key.isValidSignature(Array(signature.dropLast()), for: input))
    }

    /// RFC 7515 appendix A.2: the RS256 example verifies with the example's public key (n, e);
    /// one changed bit anywhere in the signature does not.
    @Test func rfc7515RS256Verification() throws {
        let n = "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"
        let key = try VerifyingKey(.rsa(modulus: Self.bytes(n), exponent: Self.bytes("AQAB")))
        let input = Array("eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ".utf8)
        let signature = Self.bytes("cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw")
        #expect(signature.count == 256)
        #expect(key.isValidSignature(signature, for: input))
        for index in stride(from: 0, to: signature.count, by: 7) {
            var changed = signature
            changed[index] ^= 0x01
            #expect(!key.isValidSignature(changed, for: input))
        }
    }

    /// DER ↔ raw r ‖ s, against DER made by Python's `cryptography` (encode_dss_signature).
    @Test func ecdsaDERAndRawConvertBothWays() throws {
        let raw = Self.bytes("DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q")
        let der = Self.hex("304502200ed1215379636c483c2f7f155807d402a3b228033af97c7e17819ac3169ea665022100c50a07d38c3c70e5d8f12daf084a5480a66590c5f293509a8f3f7f8a83a354d5")
        #expect(try ECDSASignature.raw(fromDER: der) == raw)
        #expect(try ECDSASignature.der(fromRaw: raw) == der)
        // r = 1 (one byte in DER, 31 zeros of padding raw), s with its top bit set (a zero byte in DER).
        let small = Self.hex("30260201010221008000000000000000000000000000000000000000000000000000000000000005")
        let smallRaw = [UInt8](repeating: 0, count: 31) + [1, 0x80] + [UInt8](repeating: 0, count: 30) + [5]
        #expect(try ECDSASignature.raw(fromDER: small) == smallRaw)
        #expect(try ECDSASignature.der(fromRaw: smallRaw) == small)
        #expect(throws: CryptoError.self) { try ECDSASignature.der(fromRaw: Array(raw.prefix(63))) }
        #expect(throws: CryptoError.self) { try ECDSASignature.raw(fromDER: Array(der.prefix(20))) }
    }

    @Test(arguments: KeyAlgorithm.allCases)
    func generatedKeysSignVerifyAndSurvivePEM(algorithm: KeyAlgorithm) throws {
        let key = try SigningKey.generate(algorithm)
        let message = Array("a message to sign".utf8)
        let signature = try key.sign(message)
        if algorithm != .rs256 { #expect(signature.count == 64) }
        let verifying = try key.verifyingKey()
        #expect(verifying.isValidSignature(signature, for: message))
        var changed = signature
        changed[changed.count / 2] ^= 0x80
        #expect(!verifying.isValidSignature(changed, for: message))
        let reread = try SigningKey(pem: key.pem())
        #expect(reread.algorithm == algorithm)
        #expect(try reread.publicParameters() == key.publicParameters())
        #expect(verifying.isValidSignature(try reread.sign(message), for: message))
        // A JWK of the public key reads back as the same key.
        #expect(try PublicKeyParameters(jwk: key.publicParameters().jwk(kid: "k")) == key.publicParameters())
    }

    @Test func weakOrForeignKeysAreRefusedWithOpenSSLsOrOurReason() throws {
        #expect(throws: CryptoError.self) { try SigningKey.generate(.rs256, rsaBits: 1024) }
        let p384 = """
            -----BEGIN PRIVATE KEY-----
            MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDDqiMiQgZuOEl6o+xzK
            gmP6N8JZp874Zh3DtdrvfyWuh3fIXgSeM2nJnRTd9cDxTrmhZANiAAT/qyZaAIcc
            but32k6Of4jwggesFyh9nC/+KDUqeQfigQa03xZWIK9mZINpuFSqWYRSJobjCjKi
            RubXpY7pGMRPYbNFposkKlyT4C4aa4mm0lijuUdqGMDubPmb/4S/7Gc=
            -----END PRIVATE KEY-----
            """
        do {
            _ = try SigningKey(pem: Array(p384.utf8))
            Issue.record("a P-384 key was accepted")
        } catch {
            #expect(error.message.contains("secp384r1"))
        }
        do {
            _ = try SigningKey(pem: Array("not a key".utf8))
            Issue.record("garbage was accepted")
        } catch {
            #expect(error.function == "PEM_read_bio_PrivateKey")
            #expect(error.openSSLCode != 0, "OpenSSL's own reason is kept")
        }
        // A point that is not on P-256.
        #expect(throws: CryptoError.self) { try VerifyingKey(.ecP256(x: [UInt8](repeating: 1, count: 32), y: [UInt8](repeating: 2, count: 32))) }
        #expect(throws: CryptoError.self) { try VerifyingKey(.ed25519([1, 2, 3])) }
        #expect(throws: CryptoError.self) { try VerifyingKey(.rsa(modulus: [UInt8](repeating: 0xC5, count: 128), exponent: [1, 0, 1])) }
    }

    /// C2SP signed-note key ID: SHA-256(name ‖ \n ‖ 0x01 ‖ key), first four bytes.
    @Test func noteKeyIDFollowsC2SP() throws {
        let key = [UInt8](repeating: 7, count: 32)
        let expected = Array(try SHA256.digest(Array("example.com/log".utf8) + [0x0A, 0x01] + key).bytes.prefix(4))
        #expect(try PublicKeyParameters.ed25519(key).noteKeyID(name: "example.com/log") == expected)
        #expect(throws: CryptoError.self) {
            try PublicKeyParameters.ecP256(x: key, y: key).noteKeyID(name: "example.com/log")
        }
    }
}

import Crypto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import HeliosEdge
import Logging
import NIOCore
import NIOSSL
import SwiftASN1
import Synchronization
import Testing
import X509

/// TLS on the edge layer and the peer link: the hook the security work turns into mutual TLS.
@Suite("TLS on the edge and the peer link (real sockets)")
struct TLSTests {
    /// A CA and certificates it signs, made fresh for each test.
    struct PKI {
        let caKey = P256.Signing.PrivateKey()
        let ca: Certificate

        init() throws {
            let name = try DistinguishedName { CommonName("Helios test CA") }
            let now = Date()
            ca = try Certificate(
                version: .v3, serialNumber: .init(), publicKey: .init(caKey.publicKey), notValidBefore: now - 300,
                notValidAfter: now + 3600, issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                    Critical(KeyUsage(keyCertSign: true))
                }, issuerPrivateKey: .init(caKey))
        }

        /// A leaf for `commonName`, valid for 127.0.0.1 and localhost, as server and client.
        func leaf(_ commonName: String) throws -> (NIOSSLCertificate, NIOSSLPrivateKey, keyPEM: [UInt8]) {
            let key = P256.Signing.PrivateKey()
            let now = Date()
            let certificate = try Certificate(
                version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey), notValidBefore: now - 300,
                notValidAfter: now + 3600, issuer: ca.subject, subject: try DistinguishedName { CommonName(commonName) },
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    SubjectAlternativeNames([.dnsName("localhost"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1]))])
                    try ExtendedKeyUsage([.serverAuth, .clientAuth])
                }, issuerPrivateKey: .init(caKey))
            let pem = Array(key.pemRepresentation.utf8)
            return (try Self.nio(certificate), try NIOSSLPrivateKey(bytes: pem, format: .pem), pem)
        }

        var caCertificate: NIOSSLCertificate { get throws { try Self.nio(ca) } }

        static func nio(_ certificate: Certificate) throws -> NIOSSLCertificate {
            var serializer = DER.Serializer()
            try serializer.serialize(certificate)
            return try NIOSSLCertificate(bytes: serializer.serializedBytes, format: .der)
        }
    }

    /// Answers `Who` with the common name of the client's verified certificate ("" without one).
    static func router() -> GRPCRouter {
        var router = GRPCServerEndpointTests.router()
        router.register("/test.Edge/Who", .unary { _, call in
            let subject = call.peerCertificate.map { certificate in
                (try? Certificate(derEncoded: certificate.toDERBytes()))?.subject.description ?? "?"
            } ?? ""
            call.respond(Array(subject.utf8))
        })
        return router
    }

    /// Records the verified certificate of each peer link it accepts.
    final class Acceptor: PeerLinkAcceptor {
        let subjects = Mutex<[String]>([])

        func accept(_ hello: PeerLinkHello, link: PeerLinkInbound) throws(PeerLinkError) -> any PeerLinkReceiver {
            let subject = link.peerCertificate.map { (try? Certificate(derEncoded: $0.toDERBytes()))?.subject.description ?? "?" } ?? ""
            subjects.withLock { $0.append(subject) }
            return try PeerLinkTests.Acceptor().accept(hello, link: link)
        }
    }

    @Test("mutual TLS: a gRPC client and a peer link with certificates from the CA are served, and their verified certificates reach the handlers; a plaintext client and one without a certificate are not")
    func mutualTLS() async throws {
        let pki = try PKI()
        let (serverCertificate, serverKey, _) = try pki.leaf("server-1")
        let configuration = GRPCServerEndpoint.tlsConfiguration(
            certificateChain: [serverCertificate], privateKey: serverKey, clientTrustRoots: [try pki.caCertificate])
        let acceptor = Acceptor()
        let endpoint = GRPCServerEndpoint(router: Self.router(), peerLink: acceptor, tls: try NIOSSLContext(configuration: configuration))
        let port = try await endpoint.bind(host: "127.0.0.1", port: 0).port!

        // A gRPC client with a certificate.
        let (cliCertificate, _, cliKey) = try pki.leaf("cli")
        let caBytes = try pki.caCertificate.toDERBytes()
        let secure = try HTTP2ClientTransport.Posix(
            target: .ipv4(address: "127.0.0.1", port: port),
            transportSecurity: .mTLS(
                certificateChain: [.bytes(try cliCertificate.toDERBytes(), format: .der)], privateKey: .bytes(cliKey, format: .pem)
            ) { tls in
                tls.trustRoots = .certificates([.bytes(caBytes, format: .der)])
            },
            config: .defaults)
        try await withGRPCClient(transport: secure) { client in
            let who = String(decoding: try await GRPCServerEndpointTests.call(client, "Who", []), as: UTF8.self)
            #expect(who.contains("CN=cli"), "\(who)")
            let echoed = try await GRPCServerEndpointTests.call(client, "Echo", [1, 2, 3])
            #expect(echoed == [1, 2, 3])
        }

        // A peer link with server 2's certificate.
        var clientTLS = TLSConfiguration.makeClientConfiguration()
        clientTLS.trustRoots = .certificates([try pki.caCertificate])
        let (peerCertificate, peerKey, _) = try pki.leaf("server-2")
        clientTLS.certificateChain = [.certificate(peerCertificate)]
        clientTLS.privateKey = .privateKey(peerKey)
        clientTLS.applicationProtocols = ["helios-peer"]
        let link = PeerLinkClient(
            hello: PeerLinkHello(sender: 2, receiver: 1), host: "127.0.0.1", port: port,
            tls: (try NIOSSLContext(configuration: clientTLS), "localhost"), logger: Logger(label: "test"))
        #expect(try await link.request([5, 6], timeout: .seconds(10)) == ByteBuffer(bytes: [6, 5]))
        #expect(acceptor.subjects.withLock { $0 }.first?.contains("CN=server-2") == true, "\(acceptor.subjects.withLock { $0 })")
        link.close()

        // Plaintext, and TLS without a client certificate: refused.
        let plaintext = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext, config: .defaults)
        try await withGRPCClient(transport: plaintext) { client in
            _ = await #expect(throws: RPCError.self) { _ = try await GRPCServerEndpointTests.call(client, "Echo", [1], timeout: .seconds(3)) }
        }
        let anonymous = try HTTP2ClientTransport.Posix(
            target: .ipv4(address: "127.0.0.1", port: port),
            transportSecurity: .tls { $0.trustRoots = .certificates([.bytes(caBytes, format: .der)]) }, config: .defaults)
        try await withGRPCClient(transport: anonymous) { client in
            _ = await #expect(throws: RPCError.self) { _ = try await GRPCServerEndpointTests.call(client, "Echo", [1], timeout: .seconds(3)) }
        }
        await endpoint.shutdownGracefully(timeout: .seconds(1))
    }
}

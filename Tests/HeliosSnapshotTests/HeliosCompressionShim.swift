import HeliosCompression
@testable import HeliosSnapshot

/// Decompression for tests that inspect a snapshot's LZ4 content.
enum HeliosCompressionShim {
    static func decompress(_ bytes: [UInt8]) throws -> [UInt8] { try LZ4Frame.decompress(bytes) }
}

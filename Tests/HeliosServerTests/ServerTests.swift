import Testing

/// The server suites start real clusters; they run one at a time so elections are not starved of
/// CPU by each other on small machines.
@Suite(.serialized, .timeLimit(.minutes(2)))
enum ServerTests {}

import Foundation

#if HELIOS_LIBFUZZER
import CFuzzer

/// The target libFuzzer's callback runs (set once, before the driver starts).
nonisolated(unsafe) var libFuzzerTarget: (any FuzzTarget.Type)?
#endif

/// `helios-fuzz <target> [inputs...]`: the fuzz targets of bad-input paths (log recovery, job files,
/// event apply, job specs through the scheduler, snapshot records). Built normally it replays files or directories of inputs (a corpus, a saved crash),
/// runs `--mutations N [--seed S]` seeded mutations of the seeds (what CI does), and `--seeds DIR`
/// writes the starting corpus; built by `tools/fuzz` (-sanitize=fuzzer,address -DHELIOS_LIBFUZZER)
/// the same targets run under libFuzzer, which takes the remaining arguments.
@main
enum HeliosFuzz {
    static func main() {
        var arguments = CommandLine.arguments
        guard arguments.count >= 2, let target = FuzzTargets.named(arguments[1]) else {
            let names = FuzzTargets.all.map { "  \($0.name): \($0.summary)" }.joined(separator: "\n")
            print("usage: helios-fuzz <target> [--seeds DIR | --mutations N [--seed S] | inputs...]\ntargets:\n\(names)")
            exit(arguments.count >= 2 && (arguments[1] == "--help" || arguments[1] == "-h") ? 0 : 2)
        }
        if arguments.count == 4, arguments[2] == "--seeds" {
            writeSeeds(target, to: arguments[3])
            return
        }
        if arguments.count >= 4, arguments[2] == "--mutations", let count = Int(arguments[3]) {
            let seed = arguments.count == 6 && arguments[4] == "--seed" ? UInt64(arguments[5]) ?? 1 : 1
            mutate(target, count: count, seed: seed)
            return
        }
        #if HELIOS_LIBFUZZER
        libFuzzerTarget = target
        arguments.remove(at: 1)
        var count = Int32(arguments.count)
        var pointers = arguments.map { strdup($0) } + [nil]
        let status = pointers.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var argv = buffer.baseAddress
            return LLVMFuzzerRunDriver(&count, &argv) { data, size in
                _ = libFuzzerTarget!.run(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
                return 0
            }
        }
        exit(status)
        #else
        replay(target, Array(arguments.dropFirst(2)))
        #endif
    }

    /// Runs every file named (directories: every file in them) through the target.
    static func replay(_ target: any FuzzTarget.Type, _ paths: [String]) {
        var files: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                print("helios-fuzz: \(path): no such file or directory")
                exit(2)
            }
            if isDirectory.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                files += names.sorted().map { path + "/" + $0 }
            } else {
                files.append(path)
            }
        }
        var inputs = files.map { file -> (String, [UInt8]) in (file, Array(FileManager.default.contents(atPath: file) ?? Data())) }
        if paths.isEmpty {
            // No inputs given: the seeds themselves.
            inputs = ((try? target.seeds()) ?? []).enumerated().map { ("seed \($0.offset)", $0.element) }
        }
        var tally = Tally()
        for (name, bytes) in inputs {
            setenv("HELIOS_FUZZ_INPUT", name, 1)  // named by violated()
            tally.add(target.run(bytes))
        }
        print("helios-fuzz \(target.name): \(inputs.count) inputs (\(tally)), no oracle violated")
    }

    /// Runs `count` seeded mutations of the target's seeds; a violation names the seed and case.
    static func mutate(_ target: any FuzzTarget.Type, count: Int, seed: UInt64) {
        let seeds: [[UInt8]]
        do {
            seeds = try target.seeds()
        } catch {
            print("helios-fuzz \(target.name): cannot build the seeds: \(error)")
            exit(1)
        }
        var mutator = Mutator(seed: seed, seeds: seeds)
        var tally = Tally()
        for number in 0..<count {
            setenv("HELIOS_FUZZ_INPUT", "mutation \(number) of seed \(seed)", 1)
            tally.add(target.run(mutator.next()))
        }
        print("helios-fuzz \(target.name): \(count) mutations (seed \(seed)) of \(seeds.count) seeds (\(tally)), no oracle violated")
    }

    static func writeSeeds(_ target: any FuzzTarget.Type, to directory: String) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let seeds = try target.seeds()
            for (number, seed) in seeds.enumerated() {
                try Data(seed).write(to: URL(fileURLWithPath: directory + "/seed-\(number)"))
            }
            print("helios-fuzz \(target.name): \(seeds.count) seeds written to \(directory)")
        } catch {
            print("helios-fuzz: writing seeds to \(directory) failed: \(error)")
            exit(1)
        }
    }
}

/// How many inputs ended each way ("refused 812, served all 3, ...").
struct Tally: CustomStringConvertible {
    private var counts: [String: Int] = [:]
    mutating func add(_ outcome: String) { counts[outcome, default: 0] += 1 }
    var description: String { counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") }
}

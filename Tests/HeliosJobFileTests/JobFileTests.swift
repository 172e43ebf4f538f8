import Foundation
import HeliosJobFile
import HeliosProto
import Testing

@Suite("Job files")
struct JobFileTests {
    @Test("a full YAML file parses into the spec, durations and maps included")
    func fullFile() throws {
        let spec = try JobFile.parse(
            """
            name: web
            type: service
            priority: 70
            datacenters: [dc1, dc2]
            meta: {owner: team-a}
            constraints:
              - attribute: kernel.name
                value: linux
            groups:
              - name: frontend
                count: 3
                restart: {attempts: 5, interval: 10m, delay: 250ms, mode: delay}
                reschedule: {attempts: 2, interval: 1h30m, delay_function: fibonacci, unlimited: false}
                spread: [{attribute: node.datacenter, weight: 80}]
                tasks:
                  - name: server
                    command: /bin/sh
                    args: ["-c", "echo hi"]
                    env: {B: "2", A: "1"}
                    resources: {cpu: 250, memory: 128}
                    kill_timeout: 10s
                    logs: {max_files: 3, max_file_size: 1}
            """, file: "web.yaml")
        #expect(spec.id == "web")
        #expect(spec.priority == 70)
        #expect(spec.datacenters == ["dc1", "dc2"])
        #expect(spec.constraints.first?.operator == .equal)
        let group = try #require(spec.groups.first)
        #expect(group.count == 3)
        #expect(group.restart.attempts == 5 && group.restart.intervalMs == 600_000 && group.restart.delayMs == 250 && group.restart.mode == .delay)
        #expect(group.reschedule.intervalMs == 5_400_000 && group.reschedule.delayFunction == "fibonacci")
        #expect(group.spreads.first?.weight == 80)
        let task = try #require(group.tasks.first)
        #expect(task.driver == "exec")
        #expect(task.args == ["-c", "echo hi"])
        #expect(task.env.map(\.key) == ["A", "B"])
        #expect(task.resources.cpuMhz == 250 && task.resources.memoryMb == 128)
        #expect(task.killTimeoutMs == 10_000)
        #expect(task.logs.maxFiles == 3 && task.logs.maxFileSizeMb == 1)
    }

    @Test("omitted fields get Nomad's defaults, by job type")
    func defaults() throws {
        let service = try JobFile.parse("name: s\ngroups: [{name: g, tasks: [{name: t, command: sleep}]}]", file: "s.yaml")
        let group = try #require(service.groups.first)
        #expect(service.type == .service && service.priority == 50 && service.datacenters == ["dc1"])
        #expect(group.count == 1)
        #expect(group.restart.attempts == 2 && group.restart.intervalMs == 1_800_000 && group.restart.delayMs == 15_000)
        #expect(group.reschedule.unlimited && group.reschedule.delayFunction == "exponential" && group.reschedule.maxDelayMs == 3_600_000)
        let task = try #require(group.tasks.first)
        #expect(task.resources.cpuMhz == 100 && task.resources.memoryMb == 300)
        #expect(task.killTimeoutMs == 5_000 && task.killSignal == "SIGTERM")
        #expect(task.logs.maxFiles == 10 && task.logs.maxFileSizeMb == 10)

        let batch = try JobFile.parse("name: b\ntype: batch\ngroups: [{name: g, tasks: [{name: t, command: echo}]}]", file: "b.yaml")
        #expect(batch.groups[0].restart.attempts == 3 && batch.groups[0].restart.intervalMs == 86_400_000)
        #expect(batch.groups[0].reschedule.attempts == 1 && !batch.groups[0].reschedule.unlimited)
    }

    @Test("JSON job files parse the same as YAML")
    func json() throws {
        let spec = try JobFile.parse(
            #"{"name": "j", "type": "batch", "groups": [{"name": "g", "count": 2, "tasks": [{"name": "t", "command": "echo", "args": ["a b"]}]}]}"#,
            file: "j.json")
        #expect(spec.type == .batch && spec.groups[0].count == 2 && spec.groups[0].tasks[0].args == ["a b"])
    }

    @Test("an unknown key is an error with its path, line and a suggestion")
    func unknownKey() {
        let text = """
            name: web
            groups:
              - name: g
                tasks:
                  - name: t
                    comand: echo
            """
        #expect(throws: JobFileError(
            file: "web.yaml", line: 6, path: "groups[0].tasks[0].comand",
            message: "unknown key; did you mean 'command'? (known keys: name, driver, command, args, env, user, resources, kill_timeout, kill_signal, logs)")
        ) {
            try JobFile.parse(text, file: "web.yaml")
        }
    }

    @Test("bad values name the field, the value and the line")
    func badValues() {
        let cases: [(String, String)] = [
            ("name: w\ngroups:\n  - name: g\n    count: three\n    tasks: [{name: t, command: x}]", "w.yaml:4: groups[0].count: 'three' is not a whole number"),
            ("name: w\ntype: daemon\ngroups: [{name: g, tasks: [{name: t, command: x}]}]", "w.yaml:2: type: 'daemon' is not service or batch"),
            ("name: w\ngroups:\n  - name: g\n    tasks:\n      - name: t\n        command: x\n        kill_timeout: soon", "w.yaml:7: groups[0].tasks[0].kill_timeout: 'soon' is not a duration (e.g. 250ms, 30s, 5m, 1h30m)"),
            ("name: w\ngroups: []", "w.yaml:1: groups: a job needs at least one group with a task"),
            ("groups: [{name: g, tasks: [{name: t, command: x}]}]", "w.yaml:1: name: is required"),
            ("name: w\ngroups: [{name: g, tasks: [{name: t}]}]", "w.yaml:2: groups[0].tasks[0].command: is required"),
            ("name: [unclosed", "w.yaml:2: not valid YAML or JSON: did not find expected ',' or ']'"),
            ("", "w.yaml: the file is empty; write a job with 'helios job init'"),
        ]
        for (text, expected) in cases {
            do {
                _ = try JobFile.parse(text, file: "w.yaml")
                Issue.record("expected an error for \(text)")
            } catch {
                #expect(error.description == expected)
            }
        }
    }

    @Test("the example 'helios job init' writes is a valid job file")
    func example() throws {
        let spec = try JobFile.parse(JobFile.example, file: "example.yaml")
        #expect(spec.id == "example" && spec.groups[0].count == 2 && spec.groups[0].tasks[0].command == "/bin/sh")
    }

    @Test("every example under Formats/examples parses")
    func formatsExamples() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Formats/examples").standardized
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".json") }
        #expect(files.count >= 3)
        for file in files {
            let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            #expect(throws: Never.self, "\(file)") { try JobFile.parse(text, file: file) }
        }
    }

    @Test("durations")
    func durations() throws {
        for (text, ms) in [("250ms", 250), ("30s", 30_000), ("5m", 300_000), ("1h30m", 5_400_000), ("2", 2_000), ("1d", 86_400_000)] {
            let spec = try JobFile.parse("name: d\ngroups: [{name: g, restart: {delay: \(text)}, tasks: [{name: t, command: x}]}]", file: "d.yaml")
            #expect(spec.groups[0].restart.delayMs == UInt64(ms), "\(text)")
        }
    }

    @Test("close matches for did-you-mean hints")
    func suggestions() {
        #expect(closeMatches("wbe", among: ["web", "worker", "api"]) == ["web"])
        #expect(closeMatches("we", among: ["web", "web-2", "api"]) == ["web", "web-2"])
        #expect(closeMatches("zzzzzz", among: ["web"]).isEmpty)
    }
}

extension JobFile {
    /// The commented example `helios job init` writes: every field, with Nomad's defaults noted.
    public static let example = """
        # A Helios job file (YAML; JSON works too). Reference: Formats/jobspec.md
        # Submit it with:   helios job run example.yaml
        # Preview it with:  helios job plan example.yaml
        name: example            # required; also the job id unless 'id' is given
        type: service            # service (runs until stopped) or batch (runs to completion)
        priority: 50             # 1..100
        datacenters: [dc1]       # nodes in these datacenters (agents' --datacenter) may run it
        meta:
          owner: team-a
        # constraints:           # node attribute rules; see 'helios node status <node>' for attributes
        #   - attribute: kernel.name
        #     operator: "="      # =, !=, regexp, version, set_contains
        #     value: linux
        groups:
          - name: web
            count: 2             # how many allocations of this group
            restart:             # restarts on the same node (defaults: service 2 in 30m, batch 3 in 24h)
              attempts: 2
              interval: 30m
              delay: 15s
              mode: fail         # fail: give up after 'attempts'; delay: wait for the next interval
            reschedule:          # replacement on another node after a failure
              delay: 30s
              delay_function: exponential   # constant, exponential or fibonacci
              max_delay: 1h
              unlimited: true
            # spread:
            #   - attribute: node.datacenter
            #     weight: 100
            tasks:
              - name: server
                driver: exec
                command: /bin/sh
                args: ["-c", "while true; do echo \\"hello from $HELIOS_ALLOC_ID\\"; sleep 5; done"]
                env:
                  GREETING: hello
                resources:
                  cpu: 100       # MHz
                  memory: 64     # MB; enforced with cgroups where the node has them
                kill_timeout: 5s # SIGTERM (kill_signal), then SIGKILL after this long
                kill_signal: SIGTERM
                logs:
                  max_files: 10
                  max_file_size: 10   # MB
        """
}

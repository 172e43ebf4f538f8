#ifndef HELIOS_CSPAWN_H
#define HELIOS_CSPAWN_H

#include <sys/types.h>

/// Starts `path` with `argv` and `envp` (NULL-terminated) in a new process group (its pid is the
/// group id), in `cwd`, with stdin from /dev/null and stdout/stderr on the given descriptors, all
/// signals reset to their defaults and unblocked. If `new_session` is non-zero the child calls
/// setsid() instead (a new session and group).
///
/// Returns the child's pid, or -1 with `*error_out` set to the errno of the step that failed
/// (fork, chdir, open, dup2 or execve); `*failed_step_out` names that step. The child reports an
/// exec failure through a close-on-exec pipe, so a missing binary is an error here, not an exit code.
pid_t helios_spawn(const char *path, char *const argv[], char *const envp[], const char *cwd,
                   int stdout_fd, int stderr_fd, int new_session, int *error_out,
                   const char **failed_step_out);


/// Installs handlers for SIGTERM, SIGINT and SIGHUP that only record the request (async-signal-safe),
/// for a process that polls ``helios_stop_requested``. Works whatever threads already exist.
void helios_install_stop_handlers(void);

/// Whether one of those signals arrived.
int helios_stop_requested(void);

#endif

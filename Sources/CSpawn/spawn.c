#define _GNU_SOURCE
#include "cspawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* What the child writes to the error pipe: the failed step's index and errno. */
struct child_failure {
    int step;
    int error;
};

static const char *steps[] = {"fork", "chdir", "open /dev/null", "dup2", "execve", "setsid", "setpgid"};

static void child_fail(int pipe_fd, int step) {
    struct child_failure failure = {step, errno};
    ssize_t ignored = write(pipe_fd, &failure, sizeof failure);
    (void)ignored;
    _exit(127);
}

pid_t helios_spawn(const char *path, char *const argv[], char *const envp[], const char *cwd,
                   int stdout_fd, int stderr_fd, int new_session, int *error_out,
                   const char **failed_step_out) {
    int error_pipe[2];
    if (pipe2(error_pipe, O_CLOEXEC) != 0) {
        *error_out = errno;
        *failed_step_out = "pipe";
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        *error_out = errno;
        *failed_step_out = steps[0];
        close(error_pipe[0]);
        close(error_pipe[1]);
        return -1;
    }
    if (pid == 0) {
        /* Child: only async-signal-safe calls from here on. */
        close(error_pipe[0]);
        if (new_session) {
            if (setsid() < 0) child_fail(error_pipe[1], 5);
        } else if (setpgid(0, 0) != 0) {
            child_fail(error_pipe[1], 6);
        }
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        for (int sig = 1; sig < NSIG; sig++) {
            if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
        }
        if (cwd != NULL && chdir(cwd) != 0) child_fail(error_pipe[1], 1);
        int null_fd = open("/dev/null", O_RDONLY);
        if (null_fd < 0) child_fail(error_pipe[1], 2);
        if (dup2(null_fd, 0) < 0) child_fail(error_pipe[1], 3);
        if (stdout_fd >= 0 && dup2(stdout_fd, 1) < 0) child_fail(error_pipe[1], 3);
        if (stderr_fd >= 0 && dup2(stderr_fd, 2) < 0) child_fail(error_pipe[1], 3);
        /* Everything else is closed: the task inherits no descriptors of the parent. */
        for (int fd = 3; fd < 1024; fd++) {
            if (fd != error_pipe[1]) close(fd);
        }
        execve(path, argv, envp);
        child_fail(error_pipe[1], 4);
    }
    /* Parent: the child either execs (the pipe closes, read returns 0) or reports a failure. */
    close(error_pipe[1]);
    struct child_failure failure;
    ssize_t got;
    do {
        got = read(error_pipe[0], &failure, sizeof failure);
    } while (got < 0 && errno == EINTR);
    close(error_pipe[0]);
    if (got == (ssize_t)sizeof failure) {
        int status;
        waitpid(pid, &status, 0);
        *error_out = failure.error;
        *failed_step_out = (failure.step >= 0 && failure.step < 7) ? steps[failure.step] : "spawn";
        return -1;
    }
    return pid;
}

static volatile sig_atomic_t stop_requested = 0;

static void record_stop(int sig) {
    (void)sig;
    stop_requested = 1;
}

void helios_install_stop_handlers(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = record_stop;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGHUP, &action, NULL);
}

int helios_stop_requested(void) { return stop_requested != 0; }

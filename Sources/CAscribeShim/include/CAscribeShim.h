#ifndef ASCRIBE_SHIM_H
#define ASCRIBE_SHIM_H

// The few GNU/Linux calls Swift's Glibc module cannot see (it is built without _GNU_SOURCE),
// each behind a one-line wrapper. Internal to AscribeRuntime; nothing here reaches public API.

#include <spawn.h>
#include <stdint.h>
#include <sys/types.h>

/// How a child ended, copied out of `siginfo_t` so Swift never touches its unions.
typedef struct {
    /// 0 when a WNOHANG wait found nothing to report.
    pid_t pid;
    /// One of the ASCRIBE_CHILD_* values.
    int kind;
    /// Exit code for ASCRIBE_CHILD_EXITED, signal number for ASCRIBE_CHILD_SIGNALED.
    int status;
} ascribe_child_state;

enum {
    ASCRIBE_CHILD_NONE = 0,
    ASCRIBE_CHILD_EXITED = 1,
    ASCRIBE_CHILD_SIGNALED = 2,
    ASCRIBE_CHILD_OTHER = 3,
};

int ascribe_pipe2(int fds[2], int flags);
int ascribe_set_pipe_size(int fd, int bytes);
int ascribe_pidfd_open(pid_t pid);
int ascribe_wait_pidfd(int pidfd, int options, ascribe_child_state *state);
int ascribe_wait_pid(pid_t pid, int options, ascribe_child_state *state);
int ascribe_wait_any(int options, ascribe_child_state *state);
int ascribe_spawn_add_closefrom(posix_spawn_file_actions_t *actions, int lowest);
short ascribe_spawn_setsid_flag(void);
int ascribe_set_child_subreaper(int enabled);

int ascribe_eventfd(void);
int ascribe_epoll_create(void);
/// Watches `fd` for input (level-triggered), tagged with `token`.
int ascribe_epoll_add(int epoll, int fd, uint64_t token);
int ascribe_epoll_remove(int epoll, int fd);
/// Waits like epoll_wait and copies out only the tokens (at most 256), so Swift never sees
/// the packed `struct epoll_event`.
int ascribe_epoll_wait(int epoll, uint64_t *tokens, int capacity, int timeout_ms);

/// malloc_trim(0): returns the allocator's free pages, in every arena, to the kernel.
int ascribe_malloc_trim(void);

#endif

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
/// Names the calling thread (PR_SET_NAME; the kernel keeps 15 bytes).
int ascribe_set_thread_name(const char *name);

int ascribe_eventfd(void);
int ascribe_epoll_create(void);
/// Watches `fd` for input (level-triggered), tagged with `token`.
int ascribe_epoll_add(int epoll, int fd, uint64_t token);
int ascribe_epoll_remove(int epoll, int fd);
/// Waits like epoll_wait and copies out only the tokens (at most 256), so Swift never sees
/// the packed `struct epoll_event`.
int ascribe_epoll_wait(int epoll, uint64_t *tokens, int capacity, int timeout_ms);

/// A listening Unix-domain stream socket at `path` (non-blocking, close-on-exec); -1 and errno
/// on failure (ENAMETOOLONG when the path does not fit `sun_path`).
int ascribe_unix_listen(const char *path, int backlog);
/// A blocking, close-on-exec stream connection to `path`; -1 and errno on failure.
int ascribe_unix_connect(const char *path);
/// A blocking, close-on-exec TCP socket listening on `host`:`port` (a numeric port; 0 picks
/// one); -1 and errno on failure.
int ascribe_tcp_listen(const char *host, const char *port, int backlog);
/// A blocking, close-on-exec TCP connection to `host`:`port`; -1 and errno on failure.
int ascribe_tcp_connect(const char *host, const char *port);
/// accept4 with SOCK_CLOEXEC only: the connection blocks (bounded by a receive timeout).
int ascribe_accept_blocking(int listener);
/// The local port a TCP socket is bound to, or -1 and errno.
int ascribe_local_port(int fd);
/// accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC.
int ascribe_accept(int listener);
/// The connecting process's pid, uid and gid as the kernel recorded them at connect (SO_PEERCRED).
int ascribe_peer_credentials(int fd, int32_t *pid, uint32_t *uid, uint32_t *gid);
/// The peer's supplementary groups at connect (SO_PEERGROUPS): the count, or -1 and errno.
int ascribe_peer_groups(int fd, uint32_t *groups, int capacity);
/// send() that never raises SIGPIPE and never blocks: bytes sent, or -1 and errno.
long ascribe_send_nowait(int fd, const void *bytes, unsigned long count);
/// A receive timeout for a blocking socket, in milliseconds.
int ascribe_set_receive_timeout(int fd, int milliseconds);

/// A non-blocking, close-on-exec inotify descriptor.
int ascribe_inotify_init(void);
/// Watches a directory for entries created, deleted, written, renamed or re-moded, and for the
/// directory itself going away; the watch descriptor, or -1 and errno.
int ascribe_inotify_watch_directory(int fd, const char *path);
/// Whether an inotify event mask says the watched directory itself is gone (deleted, moved,
/// or the watch dropped).
int ascribe_inotify_mask_lost_directory(uint32_t mask);

/// Who sent a signal, copied out of `siginfo_t` by the handler `ascribe_catch_signal` installs.
typedef struct {
    int32_t signo;
    /// `si_code`: <= 0 when a process sent it (kill, sigqueue, tgkill), SI_KERNEL from the kernel.
    int32_t code;
    int32_t pid;
    uint32_t uid;
} ascribe_signal_record;

/// Installs an SA_SIGINFO handler for `signo` that writes one `ascribe_signal_record` to
/// `write_fd` (a non-blocking pipe; one fd for the whole process) and does nothing else, so the
/// signal's default action can no longer end the process and its sender is known; unblocks the
/// signal in the calling thread (a blocked mask survives exec).
int ascribe_catch_signal(int signo, int write_fd);
/// Reads one record from the pipe's read end: 1, 0 when none waits, -1 and errno.
int ascribe_read_signal_record(int fd, ascribe_signal_record *record);
/// renameat2(…, RENAME_NOREPLACE): moves an entry without ever replacing one at the target
/// (EEXIST instead); never follows a symbolic link in either name.
int ascribe_rename_noreplace(int from_directory, const char *from, int to_directory, const char *to);

/// malloc_trim(0): returns the allocator's free pages, in every arena, to the kernel.
int ascribe_malloc_trim(void);

#endif

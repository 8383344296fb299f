#define _GNU_SOURCE 1
#include "CAscribeShim.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

int ascribe_pipe2(int fds[2], int flags) { return pipe2(fds, flags); }

int ascribe_set_pipe_size(int fd, int bytes) { return fcntl(fd, F_SETPIPE_SZ, bytes); }

// glibc 2.36 has no pidfd_open wrapper.
int ascribe_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

static int wait_for(idtype_t type, id_t id, int options, ascribe_child_state *state) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    int result = waitid(type, id, &info, options);
    state->pid = info.si_pid;
    state->status = info.si_status;
    switch (info.si_pid == 0 ? 0 : info.si_code) {
    case 0: state->kind = ASCRIBE_CHILD_NONE; break;
    case CLD_EXITED: state->kind = ASCRIBE_CHILD_EXITED; break;
    case CLD_KILLED: case CLD_DUMPED: state->kind = ASCRIBE_CHILD_SIGNALED; break;
    default: state->kind = ASCRIBE_CHILD_OTHER; break;
    }
    return result;
}

int ascribe_wait_pidfd(int pidfd, int options, ascribe_child_state *state) {
    return wait_for((idtype_t)P_PIDFD, (id_t)pidfd, options, state);
}

int ascribe_wait_pid(pid_t pid, int options, ascribe_child_state *state) {
    return wait_for(P_PID, (id_t)pid, options, state);
}

int ascribe_wait_any(int options, ascribe_child_state *state) { return wait_for(P_ALL, 0, options, state); }

int ascribe_spawn_add_closefrom(posix_spawn_file_actions_t *actions, int lowest) {
    return posix_spawn_file_actions_addclosefrom_np(actions, lowest);
}

short ascribe_spawn_setsid_flag(void) { return POSIX_SPAWN_SETSID; }

int ascribe_set_child_subreaper(int enabled) { return prctl(PR_SET_CHILD_SUBREAPER, enabled ? 1 : 0, 0, 0, 0); }

int ascribe_set_thread_name(const char *name) { return prctl(PR_SET_NAME, name, 0, 0, 0); }

int ascribe_eventfd(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }

int ascribe_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int ascribe_epoll_add(int epoll, int fd, uint64_t token) {
    struct epoll_event event = { .events = EPOLLIN, .data.u64 = token };
    return epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event);
}

int ascribe_epoll_remove(int epoll, int fd) { return epoll_ctl(epoll, EPOLL_CTL_DEL, fd, NULL); }

int ascribe_epoll_wait(int epoll, uint64_t *tokens, int capacity, int timeout_ms) {
    struct epoll_event events[256];
    int count = epoll_wait(epoll, events, capacity < 256 ? capacity : 256, timeout_ms);
    for (int index = 0; index < count; index++) tokens[index] = events[index].data.u64;
    return count;
}

static int unix_address(const char *path, struct sockaddr_un *address) {
    memset(address, 0, sizeof *address);
    address->sun_family = AF_UNIX;
    size_t length = strlen(path);
    if (length == 0 || length >= sizeof address->sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(address->sun_path, path, length);
    return 0;
}

int ascribe_unix_listen(const char *path, int backlog) {
    struct sockaddr_un address;
    if (unix_address(path, &address) != 0) return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (bind(fd, (struct sockaddr *)&address, sizeof address) != 0 || listen(fd, backlog) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int ascribe_unix_connect(const char *path) {
    struct sockaddr_un address;
    if (unix_address(path, &address) != 0) return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int result;
    do { result = connect(fd, (struct sockaddr *)&address, sizeof address); } while (result != 0 && errno == EINTR);
    if (result != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

// TCP for the witness protocol: `host` and `port` as getaddrinfo reads them (numeric port);
// the first address that works. A getaddrinfo failure is reported as EADDRNOTAVAIL.
static int tcp_socket(const char *host, const char *port, int passive, int backlog) {
    struct addrinfo hints, *found = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    if (getaddrinfo(host, port, &hints, &found) != 0) {
        errno = EADDRNOTAVAIL;
        return -1;
    }
    int fd = -1, saved = EADDRNOTAVAIL;
    for (struct addrinfo *address = found; address != NULL; address = address->ai_next) {
        fd = socket(address->ai_family, address->ai_socktype | SOCK_CLOEXEC, address->ai_protocol);
        if (fd < 0) { saved = errno; continue; }
        int one = 1;
        int result;
        if (passive) {
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
            result = bind(fd, address->ai_addr, address->ai_addrlen) == 0 ? listen(fd, backlog) : -1;
        } else {
            do { result = connect(fd, address->ai_addr, address->ai_addrlen); } while (result != 0 && errno == EINTR);
        }
        if (result == 0) break;
        saved = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(found);
    if (fd < 0) errno = saved;
    return fd;
}

int ascribe_tcp_listen(const char *host, const char *port, int backlog) { return tcp_socket(host, port, 1, backlog); }

int ascribe_tcp_connect(const char *host, const char *port) { return tcp_socket(host, port, 0, 0); }

int ascribe_accept_blocking(int listener) { return accept4(listener, NULL, NULL, SOCK_CLOEXEC); }

int ascribe_local_port(int fd) {
    struct sockaddr_storage address;
    socklen_t length = sizeof address;
    if (getsockname(fd, (struct sockaddr *)&address, &length) != 0) return -1;
    if (address.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&address)->sin_port);
    if (address.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&address)->sin6_port);
    errno = EAFNOSUPPORT;
    return -1;
}

int ascribe_accept(int listener) { return accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC); }

int ascribe_peer_credentials(int fd, int32_t *pid, uint32_t *uid, uint32_t *gid) {
    struct ucred credentials;
    socklen_t length = sizeof credentials;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return -1;
    *pid = credentials.pid;
    *uid = credentials.uid;
    *gid = credentials.gid;
    return 0;
}

int ascribe_peer_groups(int fd, uint32_t *groups, int capacity) {
    socklen_t length = (socklen_t)(capacity * (int)sizeof(gid_t));
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &length) != 0) return -1;
    return (int)(length / sizeof(gid_t));
}

long ascribe_send_nowait(int fd, const void *bytes, unsigned long count) {
    return (long)send(fd, bytes, count, MSG_NOSIGNAL | MSG_DONTWAIT);
}

int ascribe_set_receive_timeout(int fd, int milliseconds) {
    struct timeval timeout = { .tv_sec = milliseconds / 1000, .tv_usec = (milliseconds % 1000) * 1000 };
    return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
}

int ascribe_inotify_init(void) { return inotify_init1(IN_NONBLOCK | IN_CLOEXEC); }

int ascribe_inotify_watch_directory(int fd, const char *path) {
    return inotify_add_watch(fd, path, IN_CREATE | IN_DELETE | IN_CLOSE_WRITE | IN_MODIFY | IN_MOVED_FROM | IN_MOVED_TO
                                           | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR);
}

int ascribe_inotify_mask_lost_directory(uint32_t mask) {
    return (mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | IN_UNMOUNT)) != 0;
}

int ascribe_malloc_trim(void) { return malloc_trim(0); }

// The pipe the signal handler writes to; set before any handler is installed.
static _Atomic int signal_pipe = -1;

// Async-signal-safe: one write(2) of 16 bytes (atomic on a pipe), errno preserved.
static void note_signal(int signo, siginfo_t *info, void *context) {
    (void)context;
    int saved = errno;
    ascribe_signal_record record = { signo, info->si_code, info->si_pid, info->si_uid };
    int fd = atomic_load(&signal_pipe);
    if (fd >= 0) { ssize_t ignored = write(fd, &record, sizeof record); (void)ignored; }
    errno = saved;
}

int ascribe_catch_signal(int signo, int write_fd) {
    atomic_store(&signal_pipe, write_fd);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = note_signal;
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    sigfillset(&action.sa_mask);
    if (sigaction(signo, &action, NULL) != 0) return -1;
    // A parent may have left the signal blocked (a thread of Swift's pool blocks nearly every
    // signal, and exec keeps the mask): unblock it here, or the handler would never run.
    sigset_t unblock;
    sigemptyset(&unblock);
    sigaddset(&unblock, signo);
    int result = pthread_sigmask(SIG_UNBLOCK, &unblock, NULL);
    if (result != 0) { errno = result; return -1; }
    return 0;
}

int ascribe_read_signal_record(int fd, ascribe_signal_record *record) {
    ssize_t got = read(fd, record, sizeof *record);
    if (got == (ssize_t)sizeof *record) return 1;
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    if (got >= 0) { errno = EIO; }
    return -1;
}

int ascribe_rename_noreplace(int from_directory, const char *from, int to_directory, const char *to) {
    return renameat2(from_directory, from, to_directory, to, RENAME_NOREPLACE);
}

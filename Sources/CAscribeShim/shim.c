#define _GNU_SOURCE 1
#include "CAscribeShim.h"

#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
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

int ascribe_malloc_trim(void) { return malloc_trim(0); }

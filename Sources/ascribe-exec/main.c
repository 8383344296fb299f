/*
 * ascribe-exec: the launcher's exec helper, and the only place Ascribe drops privilege.
 * glibc's posix_spawn cannot change uid, gid or groups, so the launcher spawns this helper,
 * which finishes the job's process set-up and then execs the job in place (same pid).
 *
 *   ascribe-exec <uid|-> <gid|-> <groups,csv|-> <workdir> <loginuid|-> -- <path> <argv0> [arg...]
 *
 * uid "-" keeps the caller's identity (a scheduler that is not root runs jobs as itself);
 * then gid, groups and loginuid must be "-" too. Groups "-" means no supplementary groups.
 *
 * fd 3 is the report pipe. This helper marks it close-on-exec, so EOF on the parent's end
 * means the job's exec succeeded. A failed step writes "fail <step> <errno>\n" and exits 127;
 * a recoverable problem writes "warn <step> <errno>\n" and carries on.
 *
 * fd 4 carries the job's environment: NAME=value entries, each ending in NUL, read to EOF.
 * The helper itself starts with an empty environment, so nothing a job file sets (LD_PRELOAD,
 * GLIBC_TUNABLES, SWIFT_BACKTRACE, ...) can influence it while it still runs as root.
 *
 * Steps, in order: read the environment; close every other descriptor above 3; every signal
 * to its default action; write the audit login uid (best effort, while still privileged);
 * setgroups, setresgid, setresuid, each checked, then check that uid 0 cannot be regained;
 * PR_SET_NO_NEW_PRIVS; umask 027; chdir as the job's user; execve.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { REPORT_FD = 3, ENVIRONMENT_FD = 4, FAILED_TO_START = 127 };

static void report(const char *kind, const char *step, int error) {
    char line[64];
    int length = snprintf(line, sizeof line, "%s %s %d\n", kind, step, error);
    if (length > 0 && (size_t)length < sizeof line) {
        ssize_t written = write(REPORT_FD, line, (size_t)length);
        (void)written; /* nothing left to report a failed report on */
    }
}

static _Noreturn void fail(const char *step, int error) {
    report("fail", step, error);
    _exit(FAILED_TO_START);
}

/* A decimal uid or gid; (id_t)-1 is refused because the kernel reads it as "no change". */
static unsigned parse_id(const char *text) {
    unsigned long long value = 0;
    if (*text == '\0') fail("arguments", EINVAL);
    for (const char *c = text; *c != '\0'; c++) {
        if (*c < '0' || *c > '9') fail("arguments", EINVAL);
        value = value * 10 + (unsigned long long)(*c - '0');
        if (value >= 4294967295ULL) fail("arguments", ERANGE);
    }
    return (unsigned)value;
}

/* Comma-separated gids, or "-" for none. */
static gid_t *parse_groups(char *text, size_t *count) {
    *count = 0;
    if (strcmp(text, "-") == 0) return NULL;
    size_t capacity = 1;
    for (const char *c = text; *c != '\0'; c++) capacity += (*c == ',');
    gid_t *groups = calloc(capacity, sizeof *groups);
    if (groups == NULL) fail("arguments", ENOMEM);
    for (char *saved = NULL, *item = strtok_r(text, ",", &saved); item != NULL; item = strtok_r(NULL, ",", &saved)) {
        groups[(*count)++] = parse_id(item);
    }
    return groups;
}

/* Reads fd 4 to EOF and splits it into an envp array. */
static char **read_environment(void) {
    size_t capacity = 4096, length = 0;
    char *block = malloc(capacity);
    if (block == NULL) fail("environment", ENOMEM);
    for (;;) {
        if (length == capacity) {
            capacity *= 2;
            block = realloc(block, capacity);
            if (block == NULL) fail("environment", ENOMEM);
        }
        ssize_t count = read(ENVIRONMENT_FD, block + length, capacity - length);
        if (count < 0 && errno == EINTR) continue;
        if (count < 0) fail("environment", errno);
        if (count == 0) break;
        length += (size_t)count;
    }
    if (length > 0 && block[length - 1] != '\0') fail("environment", EINVAL);
    size_t entries = 0;
    for (size_t index = 0; index < length; index++) entries += (block[index] == '\0');
    char **environment = calloc(entries + 1, sizeof *environment);
    if (environment == NULL) fail("environment", ENOMEM);
    for (size_t index = 0, entry = 0; index < length; entry++) {
        environment[entry] = block + index;
        index += strlen(block + index) + 1;
    }
    return environment;
}

/*
 * glibc's posix_spawn leaves its two internal signals (32 and 33) ignored in the child, even
 * with POSIX_SPAWN_SETSIGDEF, and an ignored signal stays ignored across exec. glibc's
 * sigaction refuses to touch them, so this asks the kernel directly, for every signal: a
 * zeroed kernel sigaction is SIG_DFL with no flags and an empty mask, whatever the
 * architecture's field order.
 */
static void reset_signals(void) {
    for (int signal = 1; signal <= 64; signal++) {
        if (signal == SIGKILL || signal == SIGSTOP) continue;
        unsigned long action[8] = {0};
        if (syscall(SYS_rt_sigaction, signal, action, NULL, 64 / 8) != 0) fail("signals", errno);
    }
}

/* Gives the run its own kernel audit session. Containers often refuse: a warning, not a failure. */
static void set_login_uid(const char *text) {
    int fd = open("/proc/self/loginuid", O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        report("warn", "loginuid", errno);
        return;
    }
    size_t length = strlen(text);
    if (write(fd, text, length) != (ssize_t)length) report("warn", "loginuid", errno);
    close(fd);
}

static void change_identity(const char *uid_text, const char *gid_text, char *groups_text, const char *loginuid_text) {
    uid_t uid = parse_id(uid_text);
    gid_t gid = parse_id(gid_text);
    size_t count = 0;
    gid_t *groups = parse_groups(groups_text, &count);
    if (strcmp(loginuid_text, "-") != 0) set_login_uid(loginuid_text);
    if (setgroups(count, groups) != 0) fail("setgroups", errno);
    if (setresgid(gid, gid, gid) != 0) fail("setresgid", errno);
    if (setresuid(uid, uid, uid) != 0) fail("setresuid", errno);
    uid_t real_uid, effective_uid, saved_uid;
    gid_t real_gid, effective_gid, saved_gid;
    if (getresuid(&real_uid, &effective_uid, &saved_uid) != 0) fail("verify-uid", errno);
    if (real_uid != uid || effective_uid != uid || saved_uid != uid) fail("verify-uid", EPERM);
    if (getresgid(&real_gid, &effective_gid, &saved_gid) != 0) fail("verify-gid", errno);
    if (real_gid != gid || effective_gid != gid || saved_gid != gid) fail("verify-gid", EPERM);
    if (uid != 0 && setresuid(0, 0, 0) == 0) fail("regain-root", EPERM);
    free(groups);
}

int main(int argc, char **argv) {
    if (fcntl(REPORT_FD, F_SETFD, FD_CLOEXEC) != 0) _exit(FAILED_TO_START);
    if (argc < 9 || strcmp(argv[6], "--") != 0) fail("arguments", EINVAL);
    char **environment = read_environment();
    if (close_range(ENVIRONMENT_FD, ~0U, 0) != 0) fail("close-range", errno);
    reset_signals();

    const char *uid = argv[1], *gid = argv[2], *loginuid = argv[5], *workdir = argv[4], *path = argv[7];
    if (strcmp(uid, "-") != 0) {
        change_identity(uid, gid, argv[3], loginuid);
    } else if (strcmp(gid, "-") != 0 || strcmp(argv[3], "-") != 0 || strcmp(loginuid, "-") != 0) {
        fail("arguments", EINVAL);
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail("no-new-privs", errno);
    umask(027);
    if (chdir(workdir) != 0) fail("chdir", errno);
    execve(path, argv + 8, environment);
    fail("exec", errno);
}

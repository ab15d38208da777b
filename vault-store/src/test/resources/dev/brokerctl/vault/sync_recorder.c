/*
 * LD_PRELOAD recorder for VaultSyncTest: every fsync/fdatasync of a file is appended, as
 * "sync PATH", to the file named by BROKERCTL_TEST_SYNC_LOG (opened O_APPEND for each line, so
 * lines interleave in order with the child's own "ack N" lines written to the same file), then
 * passed on to libc. Built with gcc at test time.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void record(int fd) {
    const char *log = getenv("BROKERCTL_TEST_SYNC_LOG");
    if (log == NULL) {
        return;
    }
    char link[64];
    char path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n < 0) {
        return;
    }
    path[n] = '\0';
    char line[4200];
    int len = snprintf(line, sizeof line, "sync %s\n", path);
    int out = open(log, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (out >= 0) {
        ssize_t ignored = write(out, line, (size_t) len);
        (void) ignored;
        close(out);
    }
}

int fsync(int fd) {
    static int (*real)(int);
    if (real == NULL) {
        real = (int (*)(int)) dlsym(RTLD_NEXT, "fsync");
    }
    record(fd);
    return real(fd);
}

int fdatasync(int fd) {
    static int (*real)(int);
    if (real == NULL) {
        real = (int (*)(int)) dlsym(RTLD_NEXT, "fdatasync");
    }
    record(fd);
    return real(fd);
}

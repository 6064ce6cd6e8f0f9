/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <sys/file.h>
#include <time.h>

#include "lock.h"
#include "util/macro.h"

int lock_dir_try(const char *dir)
{
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY);

        if (fd < 0)
                return negative_errno();
        if (flock(fd, LOCK_EX | LOCK_NB) < 0)
                return negative_errno(); /* -EWOULDBLOCK: held by another */
        return TAKE_FD(fd);
}

int lock_dir_wait(const char *dir, usec_t timeout)
{
        const usec_t step = 50 * USEC_PER_MSEC;
        usec_t deadline = usec_add(now_usec(CLOCK_MONOTONIC), timeout);

        for (;;) {
                int fd = lock_dir_try(dir);
                struct timespec ts = { 0, (long)(step * 1000) };

                if (fd != -EWOULDBLOCK)
                        return fd;
                if (now_usec(CLOCK_MONOTONIC) >= deadline)
                        return -ETIMEDOUT;
                /* Polling with a short sleep keeps this simple and bounded; a one-shot run
                 * waits here only while another sync of the same destination runs. */
                if (nanosleep(&ts, NULL) < 0 && errno != EINTR)
                        return negative_errno();
        }
}

/* SPDX-License-Identifier: MIT */
#include <sys/resource.h>
#include <sys/syscall.h>

#include "prio.h"
#include "util/errmsg.h"
#include "util/macro.h"

/* From the kernel's uapi linux/ioprio.h; glibc has no wrapper for ioprio_set(2). */
#define IOPRIO_WHO_PROCESS_ 1
#define IOPRIO_CLASS_SHIFT_ 13

int prio_apply(int nice, int io_class, int io_level, char **why)
{
        if (setpriority(PRIO_PROCESS, 0, nice) < 0)
                return errmsg(why, negative_errno(), "cannot set nice value %d: %m", nice);
        if (io_class == IOPRIO_CLASS_NONE_)
                return 0;
        /* The idle class has no levels; the kernel wants 0 there. */
        if (io_class == IOPRIO_CLASS_IDLE_)
                io_level = 0;
        if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS_, 0,
                    (io_class << IOPRIO_CLASS_SHIFT_) | io_level) < 0)
                return errmsg(why, negative_errno(), "cannot set I/O class %d level %d: %m",
                              io_class, io_level);
        return 0;
}

/* SPDX-License-Identifier: MIT */
#pragma once

/* CPU and I/O priority of this process (DESIGN.md §5): applied before any rsync runs, so every
 * rsync child inherits it. */

/* ionice classes, as ioprio_set(2) numbers them. */
enum {
        IOPRIO_CLASS_NONE_ = 0,
        IOPRIO_CLASS_RT_ = 1,
        IOPRIO_CLASS_BE_ = 2,
        IOPRIO_CLASS_IDLE_ = 3,
};

/* Sets the nice value (setpriority) and, unless io_class is 0 (none: leave the kernel's
 * default), the I/O class and level (ioprio_set). Returns 0 or -errno with *why. */
int prio_apply(int nice, int io_class, int io_level, char **why);

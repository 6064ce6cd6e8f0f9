/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdint.h>

/*
 * Hands back the pages an idle process only reads from files (DESIGN.md §6, §15): every
 * private, read-only mapping of a file (program and library code, read-only data) that holds no
 * page of its own (smaps' Anonymous: 0, so nothing written, relocated or patched by a debugger
 * is there) is dropped from the page tables with MADV_DONTNEED. Its pages stay in the page cache
 * (libc's are every process's) and come back by a minor fault when next used, identical: the
 * mapping is of the file, and none of its pages differed from it. smaps names the file to read:
 * NULL for /proc/self/smaps (a test passes a malformed one; its addresses must be this process's,
 * since they are released). The whole file is read and checked before anything is released.
 * *ret_bytes (may be NULL): the resident bytes released, as smaps counted them. Returns 0 or -errno
 * (the file unreadable or malformed); a mapping madvise refuses is left as it is.
 */
int mappings_release_clean(const char *smaps, uint64_t *ret_bytes);

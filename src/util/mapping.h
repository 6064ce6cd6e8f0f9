/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>

/*
 * Handing back the pages an idle process only reads from files (DESIGN.md §6 N2, §15): every
 * private, read-only mapping of a file (program and library code, read-only data) that holds no
 * page of its own (smaps' Anonymous: 0, so nothing written, relocated or patched by a debugger
 * is there) is dropped from the page tables with MADV_DONTNEED. Its pages stay in the page cache
 * (libc's are every process's) and come back by a minor fault when next used, identical: the
 * mapping is of the file, and none of its pages differed from it.
 */

struct mapping_range {
        uintptr_t start, end;
        uint64_t rss_kb; /* resident, as smaps counted it */
};

/* Parses text, the contents of a /proc/PID/smaps (NUL-terminated): the mappings that may be
 * dropped (private, read-only, of a file, resident, none of their pages anonymous, neither
 * locked nor of a device). Returns 0, -EBADMSG (not smaps: a field before any mapping, a line
 * that is neither) or -ENOMEM; *ret and *ret_n written only on success (*ret may be NULL). */
int mappings_parse_clean(const char *text, struct mapping_range **ret, size_t *ret_n);

/* Reads /proc/self/smaps whole, then drops the mappings mappings_parse_clean() finds.
 * *ret_bytes (may be NULL): the resident bytes released. Returns 0 or -errno (smaps unreadable
 * or malformed: nothing released); a mapping madvise refuses is left as it is. */
int mappings_release_clean(uint64_t *ret_bytes);

/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Shim's fallback (fb<arch>.efi) and the BOOT<ARCH>.CSV files it reads (DESIGN.md §11b L8):
 * started as the removable-media fallback beside fb<arch>.efi, shim runs the fallback,
 * which reads \EFI\<vendor>\BOOT<ARCH>.CSV (else BOOT.CSV) in each directory of \EFI but
 * BOOT, creates a Boot#### for each line and starts the first. A CSV is UCS-2 little
 * endian, an optional byte order mark, one "file,label,options,description" line per
 * entry; the file is relative to the CSV's directory. Parsing only, bounded, fuzzed
 * (fuzz-shimcsv).
 */

#include <stddef.h>

#include "util/macro.h"

#define SHIMCSV_MAX (64 * 1024)

struct shimcsv_line {
        unsigned line; /* 1-based, for messages */
        char *file;    /* as written, UTF-8 ("shimx64.efi") */
        char *label;   /* the entry's description */
        char *options; /* "" when none */
};

struct shimcsv {
        struct shimcsv_line *lines;
        size_t n;
};

void shimcsv_done(struct shimcsv *c);

/* Parses size bytes of a CSV. Returns 0 with *ret (blank lines skipped), or -EBADMSG with
 * *why naming the line and what is wrong (an odd length, a surrogate, a NUL, a line
 * without file and label, more than SHIMCSV_MAX bytes), or -ENOMEM. */
int shimcsv_parse(const void *data, size_t size, struct shimcsv *ret, char **why);

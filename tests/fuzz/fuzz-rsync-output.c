/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the readers of rsync's output (src/rsync.c): each line of the input
 * is read as an --itemize-changes line (rsync_itemized_change()) and as an --info=progress2
 * report (rsync_parse_progress(), then worded). Any result is fine; a crash, a sanitizer
 * report or a leak is not.
 *
 *   build-clang/tests/fuzz-rsync-output -max_total_time=60 CORPUS
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rsync.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *copy = malloc(size + 1), *line, *next;

        if (!copy)
                return 0;
        memcpy(copy, data, size);
        copy[size] = 0;
        for (line = copy; line; line = next) {
                struct rsync_progress p;
                char *said = NULL;

                next = strpbrk(line, "\r\n");
                if (next)
                        *next++ = 0;
                if (rsync_itemized_change(line, &said) > 0)
                        free(said);
                said = NULL;
                if (rsync_parse_progress(line, &p) && rsync_progress_line(&p, "x", &said) == 0)
                        free(said);
        }
        free(copy);
        return 0;
}

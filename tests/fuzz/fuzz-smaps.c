/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the /proc/self/smaps reader of the idle daemon (src/util/mapping.c,
 * mappings_parse_clean(): the parse only; nothing is released). Any input is fine; a crash, a
 * sanitizer report or a leak is not. What it returns is consistent: every range is non-empty
 * and resident.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -include build/build-config.h \
 *         -Isrc -I. tests/fuzz/fuzz-smaps.c src/util/mapping.c src/util/fileio.c -o fuzz-smaps
 *   ./fuzz-smaps -max_total_time=60 CORPUS_DIR
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/mapping.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct mapping_range *ranges = NULL;
        size_t n = 0;
        char *text = malloc(size + 1);

        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = 0;
        if (mappings_parse_clean(text, &ranges, &n) == 0)
                for (size_t i = 0; i < n; i++)
                        if (ranges[i].end <= ranges[i].start || ranges[i].rss_kb == 0)
                                abort();
        free(ranges);
        free(text);
        return 0;
}

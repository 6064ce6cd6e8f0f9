/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for shim's BOOT<ARCH>.CSV reader (src/shimcsv.c). Any result is fine; a
 * crash, a sanitizer report or a leak is not; what is parsed is UTF-8 without NUL.
 *
 *   build-clang/tests/fuzz-shimcsv -max_total_time=60 tests/fixtures/shimcsv
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shimcsv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct shimcsv c = {};
        char *why = NULL;

        if (shimcsv_parse(data, size, &c, &why) >= 0) {
                for (size_t i = 0; i < c.n; i++)
                        if (!*c.lines[i].file || !*c.lines[i].label ||
                            strlen(c.lines[i].options) > size * 2)
                                abort();
                shimcsv_done(&c);
        }
        free(why);
        return 0;
}

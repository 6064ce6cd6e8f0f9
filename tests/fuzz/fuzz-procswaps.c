/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the /proc/swaps reader (src/procswaps.c). Any result is fine; a crash,
 * a sanitizer report or a leak is not; each path returned is absolute and no longer than the
 * input.
 *
 *   build-clang/tests/fuzz-procswaps -max_total_time=60 tests/fixtures/procswaps
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "procswaps.h"
#include "util/strv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char **l = NULL, *why = NULL;

        if (procswaps_parse((const char *)data, size, &l, &why) >= 0) {
                STRV_FOREACH(p, l)
                if ((*p)[0] != '/' || strlen(*p) > size)
                        abort();
                strv_free(l);
        }
        free(why);
        return 0;
}

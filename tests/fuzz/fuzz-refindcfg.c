/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the rEFInd readers (src/refindcfg.c): the input is parsed as a
 * refind.conf and as a refind_linux.conf. Any result is fine; a crash, a sanitizer report
 * or a leak is not.
 *
 *   build-clang/tests/fuzz-refindcfg -max_total_time=60 tests/fixtures/refind
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "refindcfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct refind_cfg c = {};
        struct refind_linux_line *l = NULL;
        size_t n = 0;
        char *copy, *why = NULL;

        /* An exact-size copy, so that ASan sees a read one byte past the data. */
        copy = malloc(size ? size : 1);
        if (!copy)
                return 0;
        memcpy(copy, data, size);
        if (refind_cfg_parse(copy, size, &c, &why) >= 0) {
                for (size_t i = 0; i < c.n; i++)
                        if (c.stanzas[i].parent >= (int)c.n || !c.stanzas[i].title)
                                abort();
                (void)refind_cfg_manual_only(&c);
                refind_cfg_done(&c);
        }
        free(why);
        why = NULL;
        if (refind_linux_parse(copy, size, &l, &n, &why) >= 0)
                refind_linux_free(l, n);
        free(why);
        free(copy);
        return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the drill record's parser (src/drill.c, DESIGN.md §13): the input is
 * parsed as a .dual-root-drill file; what parses is formatted and parsed again, and must give
 * the same text (the format is canonical). Any refusal is fine; a crash, a sanitizer report, a
 * leak or a record that does not read back is not.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -include build/build-config.h \
 *         -Isrc -I. tests/fuzz/fuzz-drill.c src/drill-record.c src/util/errmsg.c \
 *         src/util/fileio.c src/util/strv.c -o fuzz-drill
 *   ./fuzz-drill -max_total_time=60 tests/fixtures/drill
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drill.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct drill_state s = {}, back = {};
        char *copy, *why = NULL, *text = NULL, *again = NULL;

        /* An exact-size copy, so that ASan sees a read one byte past the data. */
        copy = malloc(size ? size : 1);
        if (!copy)
                return 0;
        memcpy(copy, data, size);
        if (drill_state_parse(copy, size, &s, &why) >= 0) {
                if (drill_state_format(&s, &text) >= 0) {
                        if (drill_state_parse(text, strlen(text), &back, NULL) < 0)
                                abort();
                        if (drill_state_format(&back, &again) < 0 || strcmp(text, again) != 0)
                                abort();
                }
                drill_state_done(&back);
                drill_state_done(&s);
        }
        free(again);
        free(text);
        free(why);
        free(copy);
        return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the Boot Loader Specification entry parser (src/bls.c): the input is
 * parsed as a type #1 entry, and its first line as a file name with a boot counter. Any
 * result is fine; a crash, a sanitizer report or a leak is not.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -include build/build-config.h \
 *         -Isrc -I. tests/fuzz/fuzz-bls.c src/bls.c src/util/errmsg.c src/util/fileio.c \
 *         src/util/strv.c -o fuzz-bls
 *   ./fuzz-bls -max_total_time=60 tests/fixtures/esp/sdboot/loader/entries
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bls.h"
#include "util/strv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct bls_entry e = {};
        char *copy, *why = NULL, *id = NULL, *name;
        char **files = NULL;
        int left, done;

        /* An exact-size copy, so that ASan sees a read one byte past the data. */
        copy = malloc(size ? size : 1);
        if (!copy)
                return 0;
        memcpy(copy, data, size);
        if (bls_entry_parse("fuzz+1-2.conf", copy, size, &e, &why) >= 0) {
                if (bls_entry_files(&e, &files) >= 0)
                        strv_free(files);
                (void)bls_pattern_matches("fuzz*", &e);
                bls_entry_done(&e);
        }
        free(why);

        {
                const char *nl = memchr(copy, '\n', size);

                name = strndup(copy, nl ? (size_t)(nl - copy) : size);
        }
        if (name && bls_parse_counter(name, ".conf", &id, &left, &done) >= 0)
                free(id);
        free(name);
        free(copy);
        return 0;
}

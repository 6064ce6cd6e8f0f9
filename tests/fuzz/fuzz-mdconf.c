/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the mdadm.conf reader (md_conf_find in src/md.c): the input is the
 * file's text; the ARRAY line of a fixed UUID is looked for. Any answer is fine; a crash, a
 * sanitizer report or a leak is not. A line found is within the input's line count.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -include build/build-config.h \
 *         -Isrc -I. tests/fuzz/fuzz-mdconf.c src/md.c src/util/errmsg.c src/util/fileio.c \
 *         src/util/strv.c -o fuzz-mdconf
 *   ./fuzz-mdconf -max_total_time=60 CORPUS_DIR
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "md.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *text = malloc(size + 1), *devices = NULL;
        unsigned line = 0, lines = 1;
        int r;

        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = 0;
        for (size_t i = 0; i < size && text[i]; i++)
                lines += text[i] == '\n';
        r = md_conf_find(text, "3b2e5f0c:91d44b7a:8e216c0f:9a1d2e34", &line, &devices);
        if (r == 1 && (line == 0 || line > lines))
                abort();
        free(devices);
        free(text);
        return 0;
}

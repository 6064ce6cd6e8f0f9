/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the config parser: any input must give either a config or an error
 * message with a position, never a crash, leak or hang.
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -include build/build-config.h -Isrc \
 *         tests/fuzz/fuzz-config.c src/{config,toml,rsync}.c src/util/{errmsg,fileio,strv}.c
 *   mkdir -p corpus && ./a.out -dict=tests/fuzz/config.dict corpus tests/fixtures/config/valid
 * (libFuzzer writes new inputs to the first directory: keep it out of the source tree.)
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct config *c = NULL;
        char *why = NULL;
        int r;

        r = config_parse("fuzz.conf", (const char *)data, size, &c, &why);
        if (r < 0) {
                /* Every failure but ENOMEM explains itself, starting with the file name. */
                assert(r == -ENOMEM || (why && strncmp(why, "fuzz.conf:", 10) == 0));
                assert(!c);
        } else
                assert(c && c->rsync_opts && c->rsync_opts[0] && c->settle_time <= c->max_wait);
        free(why);
        config_free(c);

        /* What -b reads from a broken file (DESIGN.md §4 B2): always a config. */
        bool from_file;
        c = NULL;
        r = config_parse_for_bind("fuzz.conf", (const char *)data, size, &c, &from_file);
        assert(r == -ENOMEM || (r == 0 && c && c->path && (!from_file || c->esp_mounts)));
        config_free(c);
        return 0;
}

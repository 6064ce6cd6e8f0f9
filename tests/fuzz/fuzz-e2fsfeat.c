/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the ext2/3/4 superblock reader (src/e2fsfeat.c). Any result is fine; a
 * crash, a sanitizer report or a leak is not; what is parsed gives mke2fs options that are
 * bounded and name only the features the reader knows.
 *
 *   build-clang/tests/fuzz-e2fsfeat -max_total_time=60 tests/fixtures/e2fs
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "e2fsfeat.h"
#include "util/strv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct e2fs_params p = {};
        char *why = NULL, **args = NULL;

        if (e2fs_params_parse(data, size, &p, &why) >= 0) {
                if (p.block_size < 1024 || p.block_size > 65536 || p.inode_size < 128 ||
                    p.inode_size > p.block_size)
                        abort();
                if (e2fs_params_mkfs_args(&p, &args) >= 0) {
                        if (strv_length(args) > 8 || strv_length(args) < 6 ||
                            strncmp(args[strv_length(args) - 1], "none", 4) != 0)
                                abort();
                        strv_free(args);
                }
                e2fs_params_done(&p);
        }
        free(why);
        return 0;
}

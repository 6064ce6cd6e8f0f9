/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the xfs superblock reader (src/xfsfeat.c). Any result is fine; a crash,
 * a sanitizer report or a leak is not; what is parsed holds sizes in mkfs.xfs's ranges and
 * gives a bounded argv.
 *
 *   build-clang/tests/fuzz-xfsfeat -max_total_time=60 tests/fixtures/xfs
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "xfsfeat.h"
#include "util/strv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct xfs_params p = {};
        char *why = NULL, **args = NULL;

        if (xfs_params_parse(data, size, &p, &why) >= 0) {
                if (p.block_size < 512 || p.block_size > 65536 || p.sect_size > p.block_size ||
                    p.inode_size < 256 || p.inode_size > 2048 || p.dir_block_size < p.block_size ||
                    p.dir_block_size > 65536 || (p.version != 4 && p.version != 5) ||
                    strv_length(p.state) > 6)
                        abort();
                if (xfs_params_mkfs_args(&p, &args) >= 0) {
                        size_t n = strv_length(args);

                        if (n != (p.version == 5 ? 10 : 12))
                                abort();
                        strv_free(args);
                }
                xfs_params_done(&p);
        }
        free(why);
        return 0;
}

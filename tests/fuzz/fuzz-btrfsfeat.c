/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the btrfs superblock reader (src/btrfsfeat.c). Any result is fine; a
 * crash, a sanitizer report or a leak is not; what is parsed holds sizes in mkfs.btrfs's
 * ranges and gives a bounded argv naming only the features the reader knows.
 *
 *   build-clang/tests/fuzz-btrfsfeat -max_total_time=60 tests/fixtures/btrfs
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "btrfsfeat.h"
#include "util/strv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct btrfs_params p = {};
        char *why = NULL, **args = NULL;

        if (btrfs_params_parse(data, size, &p, &why) >= 0) {
                if (p.sector_size < 4096 || p.sector_size > 65536 || p.node_size < p.sector_size ||
                    p.node_size > 65536 || !p.csum || strv_length(p.features) > 7 ||
                    strv_length(p.state) > 5)
                        abort();
                if (btrfs_params_mkfs_args(&p, &args) >= 0) {
                        if (strv_length(args) != 10 || strcmp(args[6], "-O") != 0 ||
                            args[7][0] == '\0')
                                abort();
                        strv_free(args);
                }
                btrfs_params_done(&p);
        }
        free(why);
        return 0;
}

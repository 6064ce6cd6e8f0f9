/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the debconf database reader (src/debconf.c). Any result is fine; a
 * crash, a sanitizer report or a leak is not.
 *
 *   build-clang/tests/fuzz-debconf -max_total_time=60 tests/fixtures/debconf
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "debconf.h"
#include "util/strv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *copy, *value = NULL, *why = NULL, **l = NULL;

        copy = malloc(size ? size : 1);
        if (!copy)
                return 0;
        memcpy(copy, data, size);
        if (debconf_value(copy, size, "grub-efi/install_devices", &value, &why) >= 0) {
                if (debconf_split_list(value, &l) >= 0)
                        strv_free(l);
                free(value);
        }
        free(why);
        free(copy);
        return 0;
}

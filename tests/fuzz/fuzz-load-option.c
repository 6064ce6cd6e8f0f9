/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the firmware-data parsers (src/devpath.c, which does no I/O): the
 * input is tried as an EFI_LOAD_OPTION, as a bare device path (also as a PCI chain) and as
 * LoaderDevicePartUUID text. Any result is fine; a crash, a sanitizer report or a leak is not.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -include build/build-config.h \
 *         -Isrc -I. tests/fuzz/fuzz-load-option.c src/devpath.c src/util/errmsg.c \
 *         -o fuzz-load-option
 *   ./fuzz-load-option -max_total_time=60 CORPUS_DIR
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "efivars.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct efi_load_option opt = {};
        struct efi_pci_chain chain;
        char uuid[GUID_STRING_MAX], *why = NULL, *text = NULL;
        uint8_t *copy;

        /* An exact-size copy, so that ASan sees a read one byte past the data. */
        copy = malloc(size ? size : 1);
        if (!copy)
                return 0;
        memcpy(copy, data, size);

        if (efi_parse_load_option(copy, size, &opt, &why) >= 0) {
                (void)efi_devpath_find_gpt_partuuid(opt.path, opt.path_size, uuid, &why);
                free(why);
                why = NULL;
                if (efi_devpath_find_file(opt.path, opt.path_size, &text, &why) >= 0)
                        free(text);
                if (efi_devpath_to_string(opt.path, opt.path_size, &text) >= 0)
                        free(text);
                efi_load_option_done(&opt);
        }
        free(why);
        why = NULL;

        (void)efi_devpath_find_gpt_partuuid(copy, size, uuid, &why);
        free(why);
        why = NULL;
        if (efi_devpath_find_file(copy, size, &text, &why) >= 0)
                free(text);
        free(why);
        why = NULL;
        (void)efi_devpath_pci_chain(copy, size, &chain, &why);
        free(why);
        why = NULL;
        if (efi_devpath_to_string(copy, size, &text) >= 0)
                free(text);
        (void)efi_parse_loader_partuuid(copy, size, uuid, &why);
        free(why);

        free(copy);
        return 0;
}

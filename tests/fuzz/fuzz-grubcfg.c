/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the GRUB script reader (src/grubcfg.c): the input is parsed as a
 * grub.cfg; every command is read as a search, every word expanded and rendered. Any result
 * is fine; a crash, a sanitizer report or a leak is not.
 *
 *   build-clang/tests/fuzz-grubcfg -max_total_time=60 tests/fixtures/grub
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "grubcfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *lookup(const char *name, void *userdata)
{
        return strcmp(name, "root") == 0 ? "hd0,gpt1" : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct grub_cfg cfg = {};
        struct grub_search s;
        char *copy, *why = NULL;

        /* An exact-size copy, so that ASan sees a read one byte past the data. */
        copy = malloc(size ? size : 1);
        if (!copy)
                return 0;
        memcpy(copy, data, size);
        if (grub_cfg_parse(copy, size, &cfg, &why) >= 0) {
                for (size_t i = 0; i < cfg.n_cmds; i++) {
                        char *w;

                        (void)grub_search_parse(cfg.cmds[i].argv, &s, &why);
                        free(why);
                        why = NULL;
                        for (char **a = cfg.cmds[i].argv; *a; a++) {
                                free(grub_word_expand(*a, lookup, NULL, NULL));
                                w = grub_word_render(*a);
                                free(w);
                        }
                }
                for (size_t i = 0; i < cfg.n_entries; i++)
                        if (cfg.entries[i].first_cmd + cfg.entries[i].n_cmds > cfg.n_cmds)
                                abort(); /* an entry's range must lie within the commands */
                grub_cfg_done(&cfg);
        }
        free(why);
        free(copy);
        return 0;
}

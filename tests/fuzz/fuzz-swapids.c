/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the swap_ids rewrite (src/swapids.c, which does no I/O): the input
 * is rewritten as a file's text with a fixed map (UUIDs, PARTUUIDs, labels with blanks,
 * identifiers without a counterpart), and the root references are looked for. Any result
 * is fine; a crash, a sanitizer report or a leak is not. When the rewrite succeeds, the
 * result has as many lines as the input and rewrites again without error (what it writes
 * has counterparts only).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -include build/build-config.h \
 *         -Isrc -I. tests/fuzz/fuzz-swapids.c src/swapids.c src/util/errmsg.c \
 *         src/util/strv.c -o fuzz-swapids
 *   ./fuzz-swapids -max_total_time=60 CORPUS_DIR
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "swapids.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct swapids_map map;

static void build_map(void)
{
        struct swapids_fs a = { .name = "a",
                                .uuid = "0b3c7f1e-5a55-4a8e-9d0e-1d8a2a1b0a01",
                                .partuuid = "1a1a1a1a-0000-4000-8000-00000000000a",
                                .label = "root 0",
                                .partlabel = "linux-a" };
        struct swapids_fs b = { .name = "b",
                                .uuid = "7e9a4c22-6f3d-4b1a-8c44-2f0e3b9c0b02",
                                .partuuid = "2b2b2b2b-0000-4000-8000-00000000000b",
                                .label = "r\\1",
                                .partlabel = "linux b" };
        struct swapids_fs la = { .name = "la", .uuid = "d1d1d1d1-aaaa-4aaa-8aaa-aaaaaaaaaaaa" };
        struct swapids_fs lb = { .name = "lb", .uuid = "e2e2e2e2-bbbb-4bbb-8bbb-bbbbbbbbbbbb" };
        struct swapids_fs e0 = { .name = "e0", .uuid = "74B3-8D8F", .label = "EFI" };
        struct swapids_fs e1 = { .name = "e1", .uuid = "1C2D-3E4F", .label = "EFI" };
        struct swapids_fs s = { .name = "s", .uuid = "aaaa", .label = "swap" };

        if (swapids_map_add_pair(&map, &a, &b, NULL) < 0 ||
            swapids_map_add_pair(&map, &e0, &e1, NULL) < 0 ||
            swapids_map_add_pair(&map, &la, &lb, NULL) < 0 ||
            swapids_map_add_fs(&map, &s, true) < 0)
                abort();
}

static size_t lines(const char *s, size_t n)
{
        size_t k = 0;

        for (size_t i = 0; i < n; i++)
                k += s[i] == '\n';
        return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct swapids_result res = {}, again = {};
        const struct swapids_entry *e;
        char *why = NULL, *copy;
        unsigned line;

        if (map.n == 0)
                build_map();
        /* An exact-size copy, so that ASan sees a read one byte past the data. */
        copy = malloc(size ? size : 1);
        if (!copy)
                return 0;
        memcpy(copy, data, size);
        (void)swapids_find_roots(&map, copy, size, true, &line, &e);
        if (swapids_rewrite(&map, "f", copy, size, &res, &why) >= 0) {
                if (lines(res.text, res.size) != lines(copy, size) || strlen(res.text) != res.size)
                        abort();
                if (swapids_rewrite(&map, "f", res.text, res.size, &again, &why) < 0)
                        abort();
                swapids_result_done(&again);
                swapids_result_done(&res);
        }
        free(why);
        free(copy);
        return 0;
}

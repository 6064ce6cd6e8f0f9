/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the fstab text readers (src/fstab.c, the parts that do no I/O): every
 * active line is walked, a PARTUUID and a mount point are looked up, and the source of the
 * first active line is replaced on its own mount point as --add-disk does for a replacement
 * disk (DESIGN.md §12 rule 9). Any input is fine; a crash, a sanitizer report or a leak is
 * not. When the replacement succeeds, it changed exactly the source: the text's length grows
 * by the length difference of the two sources and the line count stays, and the new source is
 * found on that mount point.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -include build/build-config.h \
 *         -Isrc -I. tests/fuzz/fuzz-fstab.c src/fstab.c src/util/errmsg.c src/util/fileio.c \
 *         -o fuzz-fstab
 *   ./fuzz-fstab -max_total_time=60 CORPUS_DIR
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fstab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct first {
        char *src, *target;
        size_t n;
};

static int take_first(const char *src, const char *target, const char *line, void *u)
{
        struct first *f = u;

        if (!line)
                abort();
        f->n++;
        if (!f->src) {
                f->src = strdup(src);
                f->target = strdup(target);
                if (!f->src || !f->target)
                        return -1;
        }
        return 0;
}

static size_t lines(const char *s)
{
        size_t n = 0;

        for (; *s; s++)
                n += *s == '\n';
        return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const char new_src[] = "PARTUUID=6a1e0c5b-2222-4a4a-8000-00000000e2e2";
        struct first f = {};
        char *text, *out = NULL, *o = NULL, *n = NULL, *t = NULL;

        if (size > 64 * 1024)
                return 0;
        text = strndup((const char *)data, size); /* the text up to a NUL, as read_full_fd */
        if (!text)
                return 0;
        if (fstab_text_foreach(text, take_first, &f) < 0)
                goto out;
        (void)fstab_text_find_partuuid(text, "6a1e0c5b-0000-4a4a-8000-00000000e0e0", &t);
        (void)fstab_text_has_target(text, "/efi0");
        if (f.src && f.target &&
            fstab_text_replace_source(text, f.target, f.src, new_src, &out, &o, &n) == 0) {
                char *found = NULL;

                if (strlen(out) != strlen(text) - strlen(f.src) + strlen(new_src) ||
                    lines(out) != lines(text) ||
                    strlen(n) != strlen(o) - strlen(f.src) + strlen(new_src))
                        abort();
                if (fstab_text_find_partuuid(out, new_src + strlen("PARTUUID="), &found) < 0)
                        abort();
                free(found);
        }
out:
        free(f.src);
        free(f.target);
        free(text);
        free(out);
        free(o);
        free(n);
        free(t);
        return 0;
}

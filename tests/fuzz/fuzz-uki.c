/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the PE section reader and the boot entry's command line (src/uki.c,
 * DESIGN.md §11b L11): the first byte chooses what the rest is, an image (read from memory
 * and, through a memfd, from a file descriptor: both must give the same verdict, kind,
 * command line and reason) or a Boot#### entry's optional data. A crash, a sanitizer report,
 * a leak or a disagreement is a failure.
 *
 *   ./fuzz-uki -max_total_time=60 CORPUS_DIR   (seeds: tests/tools/mkloaderfile uki)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "uki.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same(const char *a, const char *b)
{
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct uki_image m = {}, f = {};
        char *why_m = NULL, *why_f = NULL, *text = NULL;
        uint8_t *copy;
        int r_m, r_f, fd;

        if (size == 0)
                return 0;
        /* An exact-size copy, so that ASan sees a read one byte past the data. */
        copy = malloc(size - 1 ? size - 1 : 1);
        if (!copy)
                return 0;
        memcpy(copy, data + 1, size - 1);
        if (data[0] & 1) {
                if (uki_optional_cmdline(copy, size - 1, &text, &why_m) == 0 && text &&
                    strlen(text) > 3 * ((size - 1) / 2))
                        abort();
                free(text);
                free(why_m);
                free(copy);
                return 0;
        }
        r_m = uki_read_buffer(copy, size - 1, &m, &why_m);
        fd = memfd_create("fuzz-uki", MFD_CLOEXEC);
        if (fd >= 0) {
                if (write(fd, copy, size - 1) == (ssize_t)(size - 1)) {
                        r_f = uki_read_fd(fd, &f, &why_f);
                        if (r_m != r_f)
                                abort();
                        if (r_m == 0 && (m.kind != f.kind || !same(m.cmdline, f.cmdline) ||
                                         m.has_initrd != f.has_initrd))
                                abort();
                        if (r_m < 0 && !same(why_m, why_f))
                                abort();
                }
                close(fd);
        }
        uki_image_done(&m);
        uki_image_done(&f);
        free(why_m);
        free(why_f);
        free(copy);
        return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the loader-file reader (src/loaderfile.c): the first byte chooses the
 * kind judged (EFI program, unified kernel image, kernel, initrd, devicetree), the rest is the
 * file. It is judged from memory and, through a memfd, from a file descriptor: both must give
 * the same verdict and the same reason. A crash, a sanitizer report, a leak or a disagreement
 * is a failure.
 *
 *   ./fuzz-loaderfile -max_total_time=60 CORPUS_DIR   (seeds: tests/tools/mkloaderfile)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "loaderfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        enum loaderfile_kind kind;
        char *why_mem = NULL, *why_fd = NULL;
        uint8_t *copy;
        int r_mem, r_fd, fd;

        if (size == 0)
                return 0;
        kind = (enum loaderfile_kind)(data[0] % 5);
        data++;
        size--;
        /* An exact-size copy, so that ASan sees a read one byte past the data. */
        copy = malloc(size ? size : 1);
        if (!copy)
                return 0;
        memcpy(copy, data, size);
        r_mem = loaderfile_check_buffer(copy, size, kind, &why_mem);

        fd = memfd_create("fuzz-loaderfile", MFD_CLOEXEC);
        if (fd >= 0) {
                if (size == 0 || write(fd, copy, size) == (ssize_t)size) {
                        r_fd = loaderfile_check_fd(fd, kind, &why_fd);
                        if (r_fd != r_mem || (why_mem && (!why_fd || strcmp(why_mem, why_fd))))
                                abort();
                }
                close(fd);
        }
        free(why_mem);
        free(why_fd);
        free(copy);
        return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * mkloaderfile: writes a plausible file of a kind a loader starts (tests/tools/loaderimage.h),
 * so the integration tests' ESPs hold images --status accepts, and can then cut them.
 * A test tool; not installed.
 *
 *   mkloaderfile KIND SIZE PATH [CMDLINE]
 *       KIND: efi, efi-signed, kernel, bzimage, uki, initrd, dtb; SIZE in bytes (a multiple
 *       of 512 for the PE and bzImage kinds). CMDLINE (uki only): the text of a .cmdline
 *       section (at most 511 bytes).
 *
 * Exit status: 0 written, 1 could not write, 2 usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loaderimage.h"

int main(int argc, char **argv)
{
        unsigned long size;
        uint8_t *b;
        char *end;
        size_t done = 0;
        int fd;

        if (argc != 4 && !(argc == 5 && strcmp(argv[1], "uki") == 0)) {
                fprintf(stderr, "usage: mkloaderfile KIND SIZE PATH [CMDLINE (uki only)]\n");
                return 2;
        }
        errno = 0;
        size = strtoul(argv[2], &end, 10);
        if (errno || *end || size == 0 || size > 256UL << 20) {
                fprintf(stderr, "mkloaderfile: bad size '%s'\n", argv[2]);
                return 2;
        }
        b = calloc(1, size);
        if (!b)
                return 1;
        if ((argc == 5 ? li_uki_cmdline(b, (uint32_t)size, argv[4])
                       : loaderimage_make(argv[1], b, (uint32_t)size)) < 0) {
                fprintf(stderr, "mkloaderfile: cannot make a %s of %lu bytes\n", argv[1], size);
                free(b);
                return 2;
        }
        fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
                fprintf(stderr, "mkloaderfile: %s: %s\n", argv[3], strerror(errno));
                free(b);
                return 1;
        }
        while (done < size) {
                ssize_t n = write(fd, b + done, size - done);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        fprintf(stderr, "mkloaderfile: %s: %s\n", argv[3], strerror(errno));
                        close(fd);
                        free(b);
                        return 1;
                }
                done += (size_t)n;
        }
        free(b);
        if (close(fd) < 0) {
                fprintf(stderr, "mkloaderfile: %s: %s\n", argv[3], strerror(errno));
                return 1;
        }
        return 0;
}

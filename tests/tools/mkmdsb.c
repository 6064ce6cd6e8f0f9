/* SPDX-License-Identifier: MIT */
/*
 * mkmdsb FILE-OR-DEVICE: writes an md RAID1 superblock of metadata 1.0 at its end (md-sb.h),
 * as anaconda and installimage leave on each ESP of an md-mirrored pair; the FAT at offset 0 is
 * left as it is. For t-esp-md.sh: this kernel has no md, so mdadm --create cannot make one.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "md-sb.h"

int main(int argc, char **argv)
{
        static const uint8_t uuid[16] = { 0x3b, 0x2e, 0x5f, 0x0c, 0x91, 0xd4, 0x4b, 0x7a,
                                          0x8e, 0x21, 0x6c, 0x0f, 0x9a, 0x1d, 0x2e, 0x34 };
        uint64_t size = 0;
        struct stat st;
        int fd;

        if (argc != 2) {
                fprintf(stderr, "usage: mkmdsb FILE-OR-DEVICE\n");
                return 2;
        }
        fd = open(argv[1], O_RDWR | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0) {
                fprintf(stderr, "mkmdsb: %s: %s\n", argv[1], strerror(errno));
                return 1;
        }
        if (S_ISBLK(st.st_mode)) {
                if (ioctl(fd, BLKGETSIZE64, &size) < 0) {
                        fprintf(stderr, "mkmdsb: %s: BLKGETSIZE64: %s\n", argv[1], strerror(errno));
                        return 1;
                }
        } else {
                size = (uint64_t)st.st_size;
        }
        if (size < 64 * 1024) {
                fprintf(stderr, "mkmdsb: %s: %llu bytes, too small\n", argv[1],
                        (unsigned long long)size);
                return 1;
        }
        if (md_sb1_write(fd, size, uuid, false) < 0 || fsync(fd) < 0) {
                fprintf(stderr, "mkmdsb: %s: %s\n", argv[1], strerror(errno));
                return 1;
        }
        return close(fd) < 0 ? 1 : 0;
}

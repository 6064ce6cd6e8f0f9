/* SPDX-License-Identifier: MIT */
/*
 * mkmdsb DEVICE
 *     an md raid1 superblock of metadata 1.0 at the end of DEVICE (md-sb.h), as anaconda and
 *     installimage leave on each ESP of an md-mirrored pair; the FAT at offset 0 stays
 *     (t-esp-md.sh: this kernel has no md, so mdadm --create cannot make one).
 * mkmdsb --v1.2 UUID NAME MEMBER DATA_OFFSET ARRAY_SECTORS DEVICE
 *     member MEMBER (0 or 1, in sync) of a two-member raid1 of metadata 1.2, array UUID (32 hex
 *     digits, separators allowed), data from DATA_OFFSET, ARRAY_SECTORS used (the VM's md
 *     root, tests/vm/build-image-md, built on a host without md).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "md-sb.h"

static int parse_uuid(const char *s, uint8_t ret[16])
{
        int n = 0;

        for (; *s; s++) {
                int v;

                if (*s == '-' || *s == ':')
                        continue;
                if (!isxdigit((unsigned char)*s) || n >= 32)
                        return -1;
                v = isdigit((unsigned char)*s) ? *s - '0' : tolower((unsigned char)*s) - 'a' + 10;
                ret[n / 2] = (uint8_t)(n % 2 ? ret[n / 2] | v : v << 4);
                n++;
        }
        return n == 32 ? 0 : -1;
}

static int parse_num(const char *s, uint64_t *ret)
{
        char *end;

        errno = 0;
        *ret = strtoull(s, &end, 10);
        return errno || end == s || *end ? -1 : 0;
}

int main(int argc, char **argv)
{
        struct md_sb_params p = { .minor = 0, .raid_disks = 2, .name = "test:esp" };
        const char *dev;
        uint64_t size = 0, v;
        struct stat st;
        int fd;

        if (argc == 2) {
                static const uint8_t uuid[16] = { 0x3b, 0x2e, 0x5f, 0x0c, 0x91, 0xd4, 0x4b, 0x7a,
                                                  0x8e, 0x21, 0x6c, 0x0f, 0x9a, 0x1d, 0x2e, 0x34 };
                memcpy(p.uuid, uuid, 16);
                dev = argv[1];
        } else if (argc == 8 && strcmp(argv[1], "--v1.2") == 0) {
                p.minor = 2;
                if (parse_uuid(argv[2], p.uuid) < 0 || strlen(argv[3]) > 31 ||
                    parse_num(argv[4], &v) < 0 || v > 1 || parse_num(argv[5], &p.data_offset) < 0 ||
                    parse_num(argv[6], &p.array_sectors) < 0) {
                        fprintf(stderr, "mkmdsb: bad arguments (see the comment in mkmdsb.c)\n");
                        return 2;
                }
                p.name = argv[3];
                p.dev_number = (uint32_t)v;
                dev = argv[7];
        } else {
                fprintf(stderr,
                        "usage: mkmdsb DEVICE\n"
                        "       mkmdsb --v1.2 UUID NAME MEMBER DATA_OFFSET ARRAY_SECTORS DEVICE\n");
                return 2;
        }
        memcpy(p.dev_uuid, p.uuid, 16);
        p.dev_uuid[0] ^= (uint8_t)(0x5a + p.dev_number);
        p.dev_uuid[15] ^= (uint8_t)(0xa5 + p.dev_number);
        fd = open(dev, O_RDWR | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0) {
                fprintf(stderr, "mkmdsb: %s: %s\n", dev, strerror(errno));
                return 1;
        }
        if (S_ISBLK(st.st_mode)) {
                if (ioctl(fd, BLKGETSIZE64, &size) < 0) {
                        fprintf(stderr, "mkmdsb: %s: BLKGETSIZE64: %s\n", dev, strerror(errno));
                        return 1;
                }
        } else {
                size = (uint64_t)st.st_size;
        }
        if (size < 64 * 1024) {
                fprintf(stderr, "mkmdsb: %s: %llu bytes, too small\n", dev,
                        (unsigned long long)size);
                return 1;
        }
        p.dev_sectors = size / 512;
        if (p.minor == 2 && p.array_sectors > p.dev_sectors - p.data_offset) {
                fprintf(stderr, "mkmdsb: %s: %llu sectors do not fit behind the data offset\n", dev,
                        (unsigned long long)p.array_sectors);
                return 1;
        }
        if (md_sb_write(fd, &p) < 0 || fsync(fd) < 0) {
                fprintf(stderr, "mkmdsb: %s: %s\n", dev, strerror(errno));
                return 1;
        }
        return close(fd) < 0 ? 1 : 0;
}

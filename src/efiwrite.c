/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "efiwrite.h"
#include "efivars.h"
#include "util/errmsg.h"

#define EFIVARFS_MAGIC 0xde5e81e4

static void put16(uint8_t *p, uint16_t v)
{
        p[0] = v & 0xff;
        p[1] = v >> 8;
}

static void put32(uint8_t *p, uint32_t v)
{
        for (unsigned i = 0; i < 4; i++)
                p[i] = (v >> (8 * i)) & 0xff;
}

static void put64(uint8_t *p, uint64_t v)
{
        for (unsigned i = 0; i < 8; i++)
                p[i] = (v >> (8 * i)) & 0xff;
}

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

int efi_guid_from_string(const char *s, uint8_t ret[16])
{
        /* Text order of the 16 bytes, and where each goes: Data1..3 are little-endian. */
        static const uint8_t where[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };
        uint8_t g[16];
        size_t k = 0;

        if (strlen(s) != 36)
                return -EINVAL;
        for (size_t i = 0; i < 36;) {
                int hi, lo;

                if (i == 8 || i == 13 || i == 18 || i == 23) {
                        if (s[i] != '-')
                                return -EINVAL;
                        i++;
                        continue;
                }
                hi = hexval(s[i]);
                lo = hexval(s[i + 1]);
                if (hi < 0 || lo < 0)
                        return -EINVAL;
                g[where[k++]] = (uint8_t)(hi << 4 | lo);
                i += 2;
        }
        memcpy(ret, g, 16);
        return 0;
}

static bool is_ascii_text(const char *s)
{
        for (; *s; s++)
                if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
                        return false;
        return true;
}

int efi_encode_hd_file_path(uint32_t partnum, uint64_t start, uint64_t size, const char *partuuid,
                            const char *file, uint8_t **ret, size_t *ret_size)
{
        size_t nf = strlen(file), file_node = 4 + 2 * (nf + 1), total = 42 + file_node + 4;
        uint8_t guid[16], *p, *q;

        if (efi_guid_from_string(partuuid, guid) < 0 || nf == 0 || !is_ascii_text(file) ||
            file_node > UINT16_MAX)
                return -EINVAL;
        p = q = calloc(1, total);
        if (!p)
                return -ENOMEM;
        /* Hard Drive node: type 4, subtype 1, length 42. */
        q[0] = 0x04;
        q[1] = 0x01;
        put16(q + 2, 42);
        put32(q + 4, partnum);
        put64(q + 8, start);
        put64(q + 16, size);
        memcpy(q + 24, guid, 16);
        q[40] = 0x02; /* GPT */
        q[41] = 0x02; /* GUID signature */
        q += 42;
        /* File Path node: type 4, subtype 4, NUL-terminated UCS-2. */
        q[0] = 0x04;
        q[1] = 0x04;
        put16(q + 2, (uint16_t)file_node);
        for (size_t i = 0; i < nf; i++)
                put16(q + 4 + 2 * i, (uint8_t)file[i]);
        q += file_node;
        /* End Entire. */
        q[0] = 0x7f;
        q[1] = 0xff;
        put16(q + 2, 4);
        *ret = p;
        *ret_size = total;
        return 0;
}

int efi_encode_load_option(uint32_t attributes, const char *description, const uint8_t *path,
                           size_t path_size, uint8_t **ret, size_t *ret_size)
{
        size_t nd = strlen(description), total = 4 + 2 + 2 * (nd + 1) + path_size;
        uint8_t *p;

        if (!is_ascii_text(description) || path_size > UINT16_MAX)
                return -EINVAL;
        p = calloc(1, total);
        if (!p)
                return -ENOMEM;
        put32(p, attributes);
        put16(p + 4, (uint16_t)path_size);
        for (size_t i = 0; i < nd; i++)
                put16(p + 6 + 2 * i, (uint8_t)description[i]);
        memcpy(p + 6 + 2 * (nd + 1), path, path_size);
        *ret = p;
        *ret_size = total;
        return 0;
}

static const char *refusal(int e)
{
        switch (e) {
        case EINVAL:
                return "the kernel or the firmware refused its content as malformed";
        case ENOSPC:
                return "the firmware has no room left in NVRAM (remove unused Boot#### entries)";
        case EROFS:
                return "efivarfs is mounted read-only (mount -o remount,rw "
                       "/sys/firmware/efi/efivars)";
        case EPERM:
        case EACCES:
                return "permission denied (not root, or the variable is write-protected)";
        case EIO:
                return "the firmware reported an error writing it";
        case ENOENT:
                return "the firmware does not have it any more";
        default:
                return NULL;
        }
}

static int write_error(char **why, int r, const char *name, const char *guid, const char *what)
{
        const char *c = refusal(-r);

        if (c)
                return errmsg(why, r, "cannot %s EFI variable %s-%s: %s (%s)", what, name, guid, c,
                              strerror(-r));
        return errmsg(why, r, "cannot %s EFI variable %s-%s: %s", what, name, guid, strerror(-r));
}

int efi_write_var(const char *dir, const char *name, const char *guid, uint32_t attr,
                  const void *data, size_t size, char **why)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        _cleanup_close_ int fd = -1;
        bool created = false, efivarfs, immutable = false;
        struct statfs sfs;
        unsigned flags = 0;
        ssize_t n;
        int r;

        if (asprintf(&path, "%s/%s-%s", dir, name, guid) < 0)
                return -ENOMEM;
        if (statfs(dir, &sfs) < 0)
                return errmsg(why, negative_errno(), "cannot write EFI variables in %s: %m", dir);
        efivarfs = (unsigned long)sfs.f_type == EFIVARFS_MAGIC;

        fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | (efivarfs ? 0 : O_TRUNC));
        if (fd < 0 && errno == ENOENT) {
                fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
                created = fd >= 0;
        }
        if (fd < 0 && errno == EPERM) {
                /* immutable: clear the flag through a read-only descriptor first */
                _cleanup_close_ int ro = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

                if (ro >= 0 && ioctl(ro, FS_IOC_GETFLAGS, &flags) == 0 &&
                    (flags & FS_IMMUTABLE_FL)) {
                        unsigned cleared = flags & ~FS_IMMUTABLE_FL;

                        if (ioctl(ro, FS_IOC_SETFLAGS, &cleared) < 0)
                                return write_error(why, negative_errno(), name, guid,
                                                   "clear the immutable flag of");
                        immutable = true;
                        fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
                        if (fd < 0) {
                                r = negative_errno();
                                (void)ioctl(ro, FS_IOC_SETFLAGS, &flags);
                                return write_error(why, r, name, guid, "open");
                        }
                } else {
                        errno = EPERM;
                }
        }
        if (fd < 0)
                return write_error(why, negative_errno(), name, guid, "open");

        if (!immutable && ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 && (flags & FS_IMMUTABLE_FL)) {
                unsigned cleared = flags & ~FS_IMMUTABLE_FL;

                if (ioctl(fd, FS_IOC_SETFLAGS, &cleared) < 0)
                        return write_error(why, negative_errno(), name, guid,
                                           "clear the immutable flag of");
                immutable = true;
        }

        buf = malloc(4 + size);
        if (!buf)
                return -ENOMEM;
        put32(buf, attr);
        memcpy(buf + 4, data, size);
        n = write(fd, buf, 4 + size);
        r = n < 0 ? negative_errno() : (size_t)n != 4 + size ? -EIO : 0;
        if (immutable)
                (void)ioctl(fd, FS_IOC_SETFLAGS, &flags);
        if (r < 0 && created)
                (void)unlink(path);
        if (r < 0)
                return write_error(why, r, name, guid, "write");
        if (!efivarfs && fsync(fd) < 0)
                return write_error(why, negative_errno(), name, guid, "write");
        return 0;
}

int efi_write_boot_next(const char *dir, unsigned entry, char **why)
{
        uint8_t v[2];

        if (entry > 0xffff)
                return errmsg(why, -EINVAL, "Boot%X is not a boot option number", entry);
        put16(v, (uint16_t)entry);
        return efi_write_var(dir, "BootNext", EFI_GLOBAL_GUID, EFI_NV_BS_RT, v, sizeof(v), why);
}

int efi_delete_var(const char *dir, const char *name, const char *guid, char **why)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int ro = -1;
        unsigned flags = 0;

        if (asprintf(&path, "%s/%s-%s", dir, name, guid) < 0)
                return -ENOMEM;
        ro = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (ro < 0)
                return errno == ENOENT ? -ENOENT
                                       : write_error(why, negative_errno(), name, guid, "open");
        /* efivarfs marks variables immutable: unlink() would fail with EPERM. */
        if (ioctl(ro, FS_IOC_GETFLAGS, &flags) == 0 && (flags & FS_IMMUTABLE_FL)) {
                unsigned cleared = flags & ~FS_IMMUTABLE_FL;

                if (ioctl(ro, FS_IOC_SETFLAGS, &cleared) < 0)
                        return write_error(why, negative_errno(), name, guid,
                                           "clear the immutable flag of");
        }
        if (unlink(path) < 0) {
                int r = negative_errno();

                if (flags & FS_IMMUTABLE_FL)
                        (void)ioctl(ro, FS_IOC_SETFLAGS, &flags);
                return write_error(why, r, name, guid, "delete");
        }
        return 0;
}

bool efi_write_refused(int r)
{
        return r == -EPERM || r == -EACCES || r == -EROFS || r == -EIO;
}

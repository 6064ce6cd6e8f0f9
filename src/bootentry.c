/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "bls.h"
#include "bootentry.h"
#include "disk.h"
#include "efiwrite.h"
#include "esp.h"
#include "loaderfile.h"
#include "shimcsv.h"
#include "util/dirent-util.h"
#include "util/errmsg.h"
#include "util/fileio.h"
#include "util/strv.h"

static void boot_option_done(struct boot_option *o)
{
        free(o->description);
        free(o->partuuid);
        free(o->file);
        free(o->path_text);
        free(o->error);
        free(o->optional);
}

void boot_nvram_done(struct boot_nvram *nv)
{
        for (size_t i = 0; i < nv->n; i++)
                boot_option_done(&nv->options[i]);
        free(nv->options);
        free(nv->order);
        free(nv->order_error);
        *nv = (struct boot_nvram){};
}

/* "Boot" + 4 upper-case hex digits + "-" + the global GUID: the number, else -1. */
static int boot_number(const char *name)
{
        const char *g = name + 8;
        unsigned v = 0;

        if (strncmp(name, "Boot", 4) != 0 || strlen(name) != 8 + 1 + 36 || g[0] != '-' ||
            strcmp(g + 1, EFI_GLOBAL_GUID) != 0)
                return -1;
        for (unsigned i = 4; i < 8; i++) {
                char c = name[i];

                if (c >= '0' && c <= '9')
                        v = v * 16 + (unsigned)(c - '0');
                else if (c >= 'A' && c <= 'F')
                        v = v * 16 + (unsigned)(c - 'A' + 10);
                else
                        return -1;
        }
        return (int)v;
}

static int read_option(const char *dir, unsigned number, struct boot_option *o)
{
        _cleanup_free_ uint8_t *data = NULL;
        _cleanup_free_ char *why = NULL;
        struct efi_load_option lo = {};
        char name[16], guid[GUID_STRING_MAX];
        size_t size;
        int r;

        *o = (struct boot_option){ .number = number, .order = -1 };
        snprintf(name, sizeof(name), "Boot%04X", number);
        r = efi_read_var(dir, name, EFI_GLOBAL_GUID, NULL, &data, &size);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return asprintf(&o->error, "cannot be read: %s", strerror(-r)) < 0 ? -ENOMEM : 0;
        r = efi_parse_load_option(data, size, &lo, &why);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                o->error = TAKE_PTR(why);
                return o->error || (o->error = strdup("malformed")) ? 0 : -ENOMEM;
        }
        o->attributes = lo.attributes;
        o->description = TAKE_PTR(lo.description);
        r = efi_devpath_to_string(lo.path, lo.path_size, &o->path_text);
        if (r == -ENOMEM)
                goto fail;
        r = efi_devpath_find_gpt_partuuid(lo.path, lo.path_size, guid, NULL);
        if (r >= 0) {
                o->partuuid = strdup(guid);
                if (!o->partuuid) {
                        r = -ENOMEM;
                        goto fail;
                }
        }
        r = efi_devpath_find_file(lo.path, lo.path_size, &o->file, NULL);
        if (r == -ENOMEM)
                goto fail;
        if (lo.optional_size > 0) {
                o->optional = malloc(lo.optional_size);
                if (!o->optional) {
                        r = -ENOMEM;
                        goto fail;
                }
                memcpy(o->optional, lo.optional, lo.optional_size);
                o->optional_size = lo.optional_size;
        }
        efi_load_option_done(&lo);
        return 0;
fail:
        efi_load_option_done(&lo);
        return r;
}

static int cmp_option(const void *a, const void *b)
{
        unsigned x = ((const struct boot_option *)a)->number,
                 y = ((const struct boot_option *)b)->number;

        return x < y ? -1 : x > y;
}

int bootentry_read_nvram(const char *dir, struct boot_nvram *ret, char **why)
{
        _cleanup_(boot_nvram_done) struct boot_nvram nv = {};
        _cleanup_closedir_ DIR *d = opendir(dir);
        _cleanup_free_ uint8_t *data = NULL;
        struct dirent *de;
        size_t size;
        int r;

        if (!d)
                return errmsg(why, negative_errno(), "cannot list EFI variables in %s: %m", dir);
        for (errno = 0; (de = readdir(d)); errno = 0) {
                int number = boot_number(de->d_name);
                struct boot_option *t;

                if (number < 0)
                        continue;
                t = reallocarray(nv.options, nv.n + 1, sizeof(*t));
                if (!t)
                        return -ENOMEM;
                nv.options = t;
                r = read_option(dir, (unsigned)number, &nv.options[nv.n]);
                nv.n++;
                if (r < 0)
                        return r;
        }
        if (errno != 0)
                return errmsg(why, negative_errno(), "cannot list EFI variables in %s: %m", dir);
        if (nv.n > 1)
                qsort(nv.options, nv.n, sizeof(*nv.options), cmp_option);

        r = efi_read_var(dir, "BootOrder", EFI_GLOBAL_GUID, NULL, &data, &size);
        if (r == -ENOMEM)
                return r;
        if (r == 0 && size % 2 != 0) {
                if (asprintf(&nv.order_error, "BootOrder has an odd length (%zu bytes)", size) < 0)
                        return -ENOMEM;
        } else if (r == 0) {
                nv.have_order = true;
                nv.n_order = size / 2;
                nv.order = calloc(nv.n_order + 1, sizeof(uint16_t));
                if (!nv.order)
                        return -ENOMEM;
                for (size_t i = 0; i < nv.n_order; i++) {
                        nv.order[i] = (uint16_t)(data[2 * i] | data[2 * i + 1] << 8);
                        for (size_t k = 0; k < nv.n; k++)
                                if (nv.options[k].number == nv.order[i] && nv.options[k].order < 0)
                                        nv.options[k].order = (int)i;
                }
        } else if (r != -ENOENT) {
                if (asprintf(&nv.order_error, "BootOrder cannot be read: %s", strerror(-r)) < 0)
                        return -ENOMEM;
        }
        *ret = nv;
        nv = (struct boot_nvram){};
        return 0;
}

void bootentry_eval_done(struct bootentry_eval *e)
{
        strv_free(e->broken);
        free(e->sdboot_problem);
        free(e->fallback_problem);
        free(e->loader_buf);
        *e = (struct bootentry_eval){};
}

static bool esp_has(int esp_fd, const char *efi_path)
{
        struct stat st;

        return bls_path_stat(esp_fd, efi_path, &st) == 0 && S_ISREG(st.st_mode);
}

/* A loader the firmware starts (DESIGN.md §11 rule S8): 1 when efi_path holds a plausible EFI
 * program (or one that cannot be read: not known to be broken), 0 when it is absent or not a
 * regular file, 0 with *problem ("X is not a usable EFI program: why", or when started "starts
 * X, which is not ...") when it is not a program this firmware can start, -ENOMEM. */
static int esp_loader(int esp_fd, const char *efi_path, bool started, char **problem)
{
        _cleanup_free_ char *why = NULL;
        int r = bls_path_check(esp_fd, efi_path, LOADERFILE_EFI, &why);

        if (r == -ENOMEM)
                return r;
        if (r == -ENOENT || r == -EMEDIUMTYPE)
                return 0;
        if (r != -EBADMSG)
                return 1;
        if (!problem)
                return 0;
        if ((started ? asprintf(problem, "starts %s, which is not a usable EFI program: %s",
                                efi_path, strna(why))
                     : asprintf(problem, "%s is not a usable EFI program: %s", efi_path,
                                strna(why))) < 0)
                return -ENOMEM;
        return 0;
}

/* The directories of the ESP's EFI/ but BOOT (the vendors'), sorted by name, into *ret: none
 * when there is no EFI/. Returns 0, or -errno when EFI/ cannot be read (-ENOMEM). */
static int vendor_dirs(int esp_fd, char ***ret)
{
        _cleanup_strv_free_ char **dirs = NULL;
        _cleanup_close_ int efi = bls_path_open(esp_fd, "EFI", O_RDONLY | O_DIRECTORY);
        struct dirent *de;
        DIR *d;
        int fd;

        if (efi == -ENOENT || efi == -ENOTDIR) {
                *ret = NULL;
                return 0;
        }
        if (efi < 0)
                return efi;
        fd = openat(efi, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        d = fdopendir(fd);
        if (!d) {
                int r = negative_errno();

                close(fd);
                return r;
        }
        errno = 0;
        while ((de = readdir(d))) {
                if (de->d_name[0] != '.' && strcasecmp(de->d_name, "BOOT") != 0 &&
                    strv_extend(&dirs, de->d_name) < 0) {
                        closedir(d);
                        return -ENOMEM;
                }
                errno = 0;
        }
        if (errno != 0) {
                int r = negative_errno();

                closedir(d);
                return r;
        }
        closedir(d);
        strv_sort(dirs);
        *ret = TAKE_PTR(dirs);
        return 0;
}

/* A distributor's loader as grub-install and rEFInd's installer leave it: the first (by
 * name) EFI/<distributor>/ holding shim, else one holding GRUB, else EFI/refind/; as an EFI
 * path in *ret, NULL when none. Returns 0 or -ENOMEM. */
static int distributor_loader(int esp_fd, char **ret)
{
        static const char *const kinds[] = { "shim" EFI_ARCH ".efi", "grub" EFI_ARCH ".efi" };
        _cleanup_strv_free_ char **dirs = NULL;
        int r;

        *ret = NULL;
        r = vendor_dirs(esp_fd, &dirs);
        if (r == -ENOMEM)
                return r;
        /* EFI/ unreadable: no distributor's loader known (the fallback path is judged on its
         * own, by the same reads) */
        for (size_t k = 0; k < ELEMENTSOF(kinds); k++)
                STRV_FOREACH(v, dirs)
                {
                        _cleanup_free_ char *path = NULL;

                        if (asprintf(&path, "\\EFI\\%s\\%s", *v, kinds[k]) < 0)
                                return -ENOMEM;
                        r = esp_loader(esp_fd, path, false, NULL);
                        if (r < 0)
                                return r;
                        if (r > 0) {
                                *ret = TAKE_PTR(path);
                                return 0;
                        }
                }
        r = esp_loader(esp_fd, "\\EFI\\refind\\refind_" EFI_ARCH ".efi", false, NULL);
        if (r < 0)
                return r;
        if (r > 0)
                return (*ret = strdup("\\EFI\\refind\\refind_" EFI_ARCH ".efi")) ? 0 : -ENOMEM;
        return 0;
}

/* Whether o could start this ESP; when not, and it names this ESP, why (into *broken). */
static int option_valid(const struct boot_option *o, const char *partuuid, int esp_fd,
                        char ***broken)
{
        _cleanup_free_ char *bad = NULL;
        const char *problem;
        char *s;
        int r;

        if (!o->partuuid || strcasecmp(o->partuuid, partuuid) != 0)
                return 0;
        if (!(o->attributes & LOAD_OPTION_ACTIVE))
                problem = "is inactive";
        else if (!o->file)
                problem = "names no file";
        else {
                r = esp_loader(esp_fd, o->file, true, &bad);
                if (r != 0)
                        return r;
                problem = bad ? bad : "names a file this ESP does not hold";
        }
        if (asprintf(&s, "Boot%04X \"%s\" %s%s%s", o->number, strna(o->description), problem,
                     !bad && o->file ? ": " : "", !bad && o->file ? o->file : "") < 0 ||
            strv_push(broken, s) < 0)
                return -ENOMEM;
        return 0;
}

int bootentry_evaluate(const struct boot_nvram *nv, const char *partuuid, int esp_fd,
                       struct bootentry_eval *ret)
{
        _cleanup_(bootentry_eval_done) struct bootentry_eval e = { .reach = REACH_NONE };
        const struct boot_option *best = NULL;
        int r;

        for (size_t i = 0; i < nv->n; i++) {
                const struct boot_option *o = &nv->options[i];

                r = option_valid(o, partuuid, esp_fd, &e.broken);
                if (r < 0)
                        return r;
                /* The best: listed earliest in BootOrder, else the lowest number. */
                if (r > 0 &&
                    (!best || (o->order >= 0 && (best->order < 0 || o->order < best->order))))
                        best = o;
        }
        r = esp_loader(esp_fd, EFI_FALLBACK_PATH, false, &e.fallback_problem);
        if (r < 0)
                return r;
        e.fallback = r > 0;
        e.shim_fallback = esp_has(esp_fd, EFI_SHIM_FALLBACK_PATH);
        e.entry = best;
        if (best)
                e.reach = best->order >= 0 ? REACH_ENTRY : REACH_NOT_IN_ORDER;
        else if (e.fallback)
                e.reach = REACH_FALLBACK_ONLY;
        r = esp_loader(esp_fd, EFI_SDBOOT_PATH, false, &e.sdboot_problem);
        if (r < 0)
                return r;
        if (r > 0)
                e.loader = EFI_SDBOOT_PATH;
        else {
                r = distributor_loader(esp_fd, &e.loader_buf);
                if (r < 0)
                        return r;
                e.loader = e.loader_buf ? e.loader_buf : e.fallback ? EFI_FALLBACK_PATH : NULL;
        }
        *ret = e;
        e = (struct bootentry_eval){};
        return 0;
}

/* ---- what the start file leads to (DESIGN.md §11b L8) ---- */

void boot_start_done(struct boot_start *s)
{
        free(s->config);
        free(s->shim);
        strv_free(s->links);
        free(s->critical);
        free(s->unknown);
        *s = (struct boot_start){};
}

/* "\EFI\x\y.efi" as an ESP path "EFI/x/y.efi". */
static char *esp_path_of(const char *file)
{
        char *p = strdup(file + strspn(file, "\\/"));

        if (p)
                for (char *c = p; *c; c++)
                        if (*c == '\\')
                                *c = '/';
        return p;
}

/* The first BOOT<ARCH>.CSV (else BOOT.CSV) in a directory of EFI/ but BOOT, in name order (the
 * fallback reads the directory in FAT order, which is creation order: names are what we can
 * compare), parsed. Returns 1 with *ret_csv and *ret_dir, 0 when none, -ENOMEM; *why on a CSV
 * that cannot be read or parsed (r 1, no lines). */
static int first_csv(int esp_fd, struct shimcsv *ret_csv, char **ret_path, char **why,
                     bool *ret_unreadable)
{
        _cleanup_strv_free_ char **dirs = NULL;
        int r;

        r = vendor_dirs(esp_fd, &dirs);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                /* could not look: never "no CSV" (S13) */
                *ret_unreadable = true;
                *ret_path = strdup("EFI");
                if (!*ret_path || asprintf(why, "cannot read it: %s", strerror(-r)) < 0)
                        return -ENOMEM;
                return 1;
        }
        STRV_FOREACH(v, dirs)
        {
                static const char *const names[] = { "BOOT" EFI_ARCH_UPPER ".CSV", "BOOT.CSV" };

                for (size_t k = 0; k < ELEMENTSOF(names); k++) {
                        _cleanup_free_ char *path = NULL, *text = NULL, *perr = NULL;
                        _cleanup_close_ int cfd = -1;
                        size_t size;

                        if (asprintf(&path, "EFI/%s/%s", *v, names[k]) < 0)
                                return -ENOMEM;
                        cfd = bls_path_open(esp_fd, path, O_RDONLY);
                        if (cfd == -ENOMEM)
                                return cfd;
                        if (cfd == -ENOENT || cfd == -ENOTDIR)
                                continue;
                        r = cfd < 0 ? cfd : read_full_fd(cfd, SHIMCSV_MAX + 1, &text, &size);
                        if (r == -ENOMEM)
                                return r;
                        *ret_path = TAKE_PTR(path);
                        if (r < 0) {
                                *ret_unreadable = r != -EIO && r != -EFBIG;
                                return asprintf(why, "cannot read it: %s", strerror(-r)) < 0
                                               ? -ENOMEM
                                               : 1;
                        }
                        r = shimcsv_parse(text, size, ret_csv, &perr);
                        if (r == -ENOMEM)
                                return r;
                        if (r < 0)
                                *why = TAKE_PTR(perr);
                        return 1;
                }
        }
        return 0;
}

/* BOOT<ARCH>.EFI with fb<arch>.efi beside it: shim starts the fallback, which creates an entry
 * for each line of the first CSV and starts the first (shim's fallback.c). */
static int start_shim_fallback(int esp_fd, const char *name, struct boot_start *s, char **ret_next)
{
        _cleanup_(shimcsv_done) struct shimcsv csv = {};
        _cleanup_free_ char *path = NULL, *why = NULL, *next = NULL, *dir = NULL;
        bool unreadable = false;
        struct stat st;
        int r;

        r = strv_extendf(&s->links,
                         "shim (Secure Boot in the chain) as the removable-media fallback, with "
                         "its fallback %s beside it: fb" EFI_ARCH ".efi creates boot entries from "
                         "\\EFI\\<vendor>\\BOOT" EFI_ARCH_UPPER ".CSV and starts the first",
                         EFI_SHIM_FALLBACK_PATH);
        if (r < 0)
                return r;
        r = first_csv(esp_fd, &csv, &path, &why, &unreadable);
        if (r < 0)
                return r;
        if (r == 0)
                return asprintf(&s->critical,
                                "%s's removable-media fallback is shim with %s beside it, and no "
                                "EFI/<vendor>/BOOT" EFI_ARCH_UPPER
                                ".CSV: the fallback creates no entry and resets the machine",
                                name, EFI_SHIM_FALLBACK_PATH) < 0
                               ? -ENOMEM
                               : 0;
        if (why)
                return asprintf(unreadable ? &s->unknown : &s->critical,
                                "%s/%s, which shim's fallback reads: %s", name, path, why) < 0
                               ? -ENOMEM
                               : 0;
        if (csv.n == 0)
                return asprintf(&s->critical,
                                "%s/%s names no loader: shim's fallback creates no entry and "
                                "resets the machine",
                                name, path) < 0
                               ? -ENOMEM
                               : 0;
        dir = strndup(path, strrchr(path, '/') - path);
        if (!dir || asprintf(&next, "%s/%s", dir, csv.lines[0].file) < 0)
                return -ENOMEM;
        for (char *c = next; *c; c++)
                if (*c == '\\')
                        *c = '/';
        {
                _cleanup_free_ char *shown = strdup(next);

                if (!shown)
                        return -ENOMEM;
                for (char *c = shown; *c; c++)
                        if (*c == '/')
                                *c = '\\';
                r = strv_extendf(&s->links,
                                 "%s/%s:%u: the fallback creates the entry \"%s\" for \\%s", name,
                                 path, csv.lines[0].line, csv.lines[0].label, shown);
                if (r < 0)
                        return r;
        }
        if (bls_path_stat(esp_fd, next, &st) < 0 || !S_ISREG(st.st_mode))
                return asprintf(&s->critical,
                                "%s/%s:%u names %s, which %s lacks: shim's fallback creates an "
                                "entry for a file that is not there",
                                name, path, csv.lines[0].line, csv.lines[0].file, name) < 0
                               ? -ENOMEM
                               : 0;
        *ret_next = TAKE_PTR(next);
        return 0;
}

int bootentry_start(int esp_fd, const char *name, const char *file, struct boot_start *ret)
{
        _cleanup_(boot_start_done) struct boot_start s = {};
        _cleanup_free_ char *path = esp_path_of(file);
        struct stat st;
        int r;

        if (!path)
                return -ENOMEM;
        for (unsigned hop = 0; hop < 2; hop++) {
                _cleanup_free_ char *dir = NULL, *next = NULL;
                const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;

                dir = strndup(path, slash ? (size_t)(slash - path) : 0);
                if (!dir)
                        return -ENOMEM;
                if (strcasecmp(path, "EFI/BOOT/BOOT" EFI_ARCH_UPPER ".EFI") == 0) {
                        /* The removable-media path: shim when its fallback or GRUB is beside
                         * it; else GRUB or rEFInd itself when their configuration is. */
                        if (hop == 0 && esp_has(esp_fd, EFI_SHIM_FALLBACK_PATH)) {
                                r = start_shim_fallback(esp_fd, name, &s, &next);
                                if (r < 0)
                                        return r;
                                if (!next)
                                        break;
                                free(path);
                                path = TAKE_PTR(next);
                                continue;
                        }
                        base = "";
                        if (esp_has(esp_fd, "EFI/BOOT/grub" EFI_ARCH ".efi"))
                                base = "shim";
                        else if (esp_has(esp_fd, "EFI/BOOT/grub.cfg"))
                                base = "grub";
                        else if (esp_has(esp_fd, "EFI/BOOT/refind.conf"))
                                base = "refind";
                }
                if (strncasecmp(base, "shim", 4) == 0) {
                        free(s.shim);
                        if (!(s.shim = strdup(path)))
                                return -ENOMEM;
                        s.kind = START_GRUB; /* the chain checker says shim's link */
                        r = 0;
                } else if (strncasecmp(base, "grub", 4) == 0) {
                        s.kind = START_GRUB;
                        r = 0;
                } else if (strncasecmp(base, "refind", 6) == 0) {
                        s.kind = START_REFIND;
                        r = 0;
                } else
                        break;
                if (r < 0)
                        return r;
                if (asprintf(&s.config, "%s/%s", dir,
                             s.kind == START_GRUB ? "grub.cfg" : "refind.conf") < 0) {
                        s.config = NULL;
                        return -ENOMEM;
                }
                if (bls_path_stat(esp_fd, s.config, &st) < 0) {
                        free(s.config); /* the caller looks elsewhere */
                        s.config = NULL;
                }
                break;
        }
        *ret = s;
        s = (struct boot_start){};
        return 0;
}

int bootentry_partition_of(const char *sysfs_root, dev_t devnum, struct bootentry_partition *ret,
                           char **why)
{
        _cleanup_(disk_partition_done) struct disk_partition p = {};
        /* sysfs counts 512-byte sectors; the Hard Drive node counts the disk's logical blocks. */
        uint64_t per_block;
        int r;

        assert(sysfs_root);
        assert(ret);
        r = disk_partition_of(sysfs_root, devnum, &p, why);
        if (r < 0)
                return r;
        per_block = p.logical_block_size / 512;
        ret->number = p.number;
        ret->start = p.start / per_block;
        ret->size = p.size / per_block;
        ret->disk = TAKE_PTR(p.disk);
        return 0;
}

/* The lowest #### no Boot#### uses. */
static int free_number(const struct boot_nvram *nv, unsigned *ret)
{
        for (unsigned k = 0; k <= 0xffff; k++) {
                bool used = false;

                for (size_t i = 0; i < nv->n && !used; i++)
                        used = nv->options[i].number == k;
                if (!used) {
                        *ret = k;
                        return 0;
                }
        }
        return -ENOSPC;
}

static int write_order(const char *dir, const uint16_t *order, size_t n, char **why)
{
        _cleanup_free_ uint8_t *buf = malloc(2 * n + 1);

        if (!buf)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                buf[2 * i] = order[i] & 0xff;
                buf[2 * i + 1] = order[i] >> 8;
        }
        return efi_write_var(dir, "BootOrder", EFI_GLOBAL_GUID, EFI_NV_BS_RT, buf, 2 * n, why);
}

static void print_order(FILE *out, const char *verb, const uint16_t *order, size_t n)
{
        fprintf(out, "%s BootOrder ", verb);
        for (size_t i = 0; i < n; i++)
                fprintf(out, "%s%04X", i ? "," : "", order[i]);
        fputs("\n", out);
}

/* An invalid entry of ours for this PARTUUID, which may be rewritten in place (rule E2). */
static const struct boot_option *own_stale(const struct boot_nvram *nv, const char *partuuid)
{
        for (size_t i = 0; i < nv->n; i++) {
                const struct boot_option *o = &nv->options[i];

                if (o->description && startswith(o->description, BOOTENTRY_LABEL_PREFIX) &&
                    o->partuuid && strcasecmp(o->partuuid, partuuid) == 0)
                        return o;
        }
        return NULL;
}

struct fix_state {
        const char *dir;
        struct boot_nvram nv;
        uint16_t *order; /* BootOrder as it will be */
        size_t n_order;
        bool order_changed;
        bool test;
        FILE *out;
};

/* Whether BootOrder's entry number starts a file on a GPT partition (a disk's loader), not a
 * firmware application, a network or a removable device. */
static bool order_is_disk_entry(const struct fix_state *s, uint16_t number)
{
        for (size_t i = 0; i < s->nv.n; i++)
                if (s->nv.options[i].number == number)
                        return s->nv.options[i].partuuid && s->nv.options[i].file;
        return false;
}

/* Adds number to BootOrder right after the last entry that starts a disk's loader, so that
 * the firmware tries it before what it falls back to last (OVMF's shell, network boot),
 * which may never return; at the end when there is none. */
static int order_append(struct fix_state *s, unsigned number)
{
        uint16_t *t;
        size_t at = s->n_order;

        for (size_t i = 0; i < s->n_order; i++)
                if (s->order[i] == number)
                        return 0;
        for (size_t i = s->n_order; i > 0; i--)
                if (order_is_disk_entry(s, s->order[i - 1])) {
                        at = i;
                        break;
                }
        t = reallocarray(s->order, s->n_order + 1, sizeof(uint16_t));
        if (!t)
                return -ENOMEM;
        s->order = t;
        memmove(s->order + at + 1, s->order + at, (s->n_order - at) * sizeof(uint16_t));
        s->order[at] = (uint16_t)number;
        s->n_order++;
        s->order_changed = true;
        return 0;
}

/* One ESP: returns 1 when an entry was (or would be) created, 0 when none was needed, -errno
 * with *why. */
static int fix_one(struct fix_state *s, const struct esp *e, char **why)
{
        _cleanup_(bootentry_eval_done) struct bootentry_eval ev = {};
        _cleanup_free_ uint8_t *path = NULL, *option = NULL;
        _cleanup_free_ char *label = NULL, *name = NULL;
        _cleanup_close_ int fd = -1;
        struct bootentry_partition part = {};
        const struct boot_option *stale;
        size_t path_size, option_size;
        unsigned number;
        int r;

        if (!e->partuuid)
                return errmsg(why, -ENXIO, "%s: its PARTUUID is unknown", e->mount);
        fd = open(e->mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errmsg(why, negative_errno(), "cannot open %s: %m", e->mount);
        r = bootentry_evaluate(&s->nv, e->partuuid, fd, &ev);
        if (r < 0)
                return r;
        if (ev.reach == REACH_ENTRY) {
                fprintf(s->out, "%s: Boot%04X \"%s\" starts it (%s), in BootOrder: nothing to do\n",
                        e->mount, ev.entry->number, strna(ev.entry->description), ev.entry->file);
                return 0;
        }
        if (ev.reach == REACH_NOT_IN_ORDER) {
                fprintf(s->out, "%s: Boot%04X \"%s\" starts it but is not in BootOrder: %s it\n",
                        e->mount, ev.entry->number, strna(ev.entry->description),
                        s->test ? "would add" : "adding");
                return order_append(s, ev.entry->number) < 0 ? -ENOMEM : 0;
        }
        if (!ev.loader && (ev.sdboot_problem || ev.fallback_problem))
                return errmsg(why, -ENOEXEC,
                              "%s holds no boot loader a new entry could start (%s%s%s): sync it "
                              "from the booted ESP first",
                              e->mount, ev.sdboot_problem ? ev.sdboot_problem : "",
                              ev.sdboot_problem && ev.fallback_problem ? "; " : "",
                              ev.fallback_problem ? ev.fallback_problem : "");
        if (!ev.loader)
                return errmsg(why, -ENOENT,
                              "%s holds no boot loader to start (neither %s nor %s): sync it "
                              "from the booted ESP first",
                              e->mount, EFI_SDBOOT_PATH, EFI_FALLBACK_PATH);

        r = bootentry_partition_of(disk_sysfs_root(), e->devnum, &part, why);
        if (r < 0)
                return errmsg_prefix(why, r, "%s (%s)", e->mount, strna(e->device));
        r = asprintf(&label, BOOTENTRY_LABEL_PREFIX "%s (%s)", e->mount, part.disk);
        free(part.disk);
        if (r < 0)
                return -ENOMEM;
        r = efi_encode_hd_file_path(part.number, part.start, part.size, e->partuuid, ev.loader,
                                    &path, &path_size);
        if (r >= 0)
                r = efi_encode_load_option(LOAD_OPTION_ACTIVE, label, path, path_size, &option,
                                           &option_size);
        if (r < 0)
                return errmsg(why, r, "%s: cannot encode its boot entry: %s", e->mount,
                              strerror(-r));

        stale = own_stale(&s->nv, e->partuuid);
        if (stale)
                number = stale->number;
        else if (free_number(&s->nv, &number) < 0)
                return errmsg(why, -ENOSPC, "every Boot#### number is in use");
        if (asprintf(&name, "Boot%04X", number) < 0)
                return -ENOMEM;
        fprintf(s->out,
                "%s: %s %s \"%s\": HD(%" PRIu32 ",GPT,%s,0x%" PRIX64 ",0x%" PRIX64 ")/File(%s)\n",
                e->mount,
                s->test ? (stale ? "would rewrite our" : "would create")
                        : (stale ? "rewriting our" : "creating"),
                name, label, part.number, e->partuuid, part.start, part.size, ev.loader);
        if (!s->test) {
                r = efi_write_var(s->dir, name, EFI_GLOBAL_GUID, EFI_NV_BS_RT, option, option_size,
                                  why);
                if (r < 0)
                        return errmsg_prefix(why, r, "%s", e->mount);
        }
        if (!stale) {
                /* Take the number, so that the next ESP's entry does not reuse it. */
                struct boot_option *t = reallocarray(s->nv.options, s->nv.n + 1, sizeof(*t));

                if (!t)
                        return -ENOMEM;
                s->nv.options = t;
                s->nv.options[s->nv.n++] = (struct boot_option){ .number = number, .order = -1 };
        }
        return order_append(s, number) < 0 ? -ENOMEM : 1;
}

int bootentry_fix(const struct esp_model *m, const char *only_mount, bool test, FILE *out,
                  char **why)
{
        struct fix_state s = { .dir = efi_vars_dir(), .test = test, .out = out };
        _cleanup_free_ char *failed = NULL;
        size_t n_esps = 0;
        int r, created = 0, first_error = 0;

        r = bootentry_read_nvram(s.dir, &s.nv, why);
        if (r < 0)
                return r;
        if (s.nv.order_error) {
                r = errmsg(why, -EBADMSG, "%s: not changing it", s.nv.order_error);
                goto done;
        }
        s.order = calloc(s.nv.n_order + 1, sizeof(uint16_t));
        if (!s.order) {
                r = -ENOMEM;
                goto done;
        }
        if (s.nv.n_order > 0)
                memcpy(s.order, s.nv.order, s.nv.n_order * sizeof(uint16_t));
        s.n_order = s.nv.n_order;

        for (size_t i = 0; i <= m->n_alternates; i++) {
                const struct esp *e = i == 0 ? &m->booted : &m->alternates[i - 1];
                _cleanup_free_ char *w = NULL;

                if (i == 0 && (!m->device_ok || !e->mount))
                        continue;
                if (only_mount && !streq(e->mount, only_mount))
                        continue;
                n_esps++;
                if (i > 0 && !e->mounted) {
                        fprintf(out, "%s: not mounted (disk missing?), skipped\n", e->mount);
                        continue;
                }
                r = fix_one(&s, e, &w);
                if (r == -ENOMEM)
                        goto done;
                if (r > 0)
                        created++;
                if (r < 0) {
                        /* Said once, by the caller (on stderr), with every other failure. */
                        char *l;

                        if (asprintf(&l, "%s%s%s", failed ? failed : "", failed ? "; " : "",
                                     strna(w)) < 0) {
                                r = -ENOMEM;
                                goto done;
                        }
                        free(failed);
                        failed = l;
                        if (!first_error)
                                first_error = r;
                }
        }
        if (only_mount && n_esps == 0) {
                r = errmsg(why, -ENOENT, "%s is not an ESP of the set", only_mount);
                goto done;
        }
        if (s.order_changed) {
                print_order(out, test ? "would set" : "setting", s.order, s.n_order);
                if (!test) {
                        r = write_order(s.dir, s.order, s.n_order, why);
                        if (r < 0)
                                goto done;
                }
        }
        if (first_error) {
                r = errmsg(why, first_error, "%s", strna(failed));
                goto done;
        }
        r = created;
done:
        free(s.order);
        boot_nvram_done(&s.nv);
        return r;
}

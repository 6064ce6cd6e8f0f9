/* SPDX-License-Identifier: MIT */
/*
 * Boot Loader Specification entries as systemd-boot reads them (DESIGN.md §11): "KEY VALUE"
 * lines, '#' comments, unknown keys ignored; paths relative to the ESP's root.
 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>

#include "bls.h"
#include "loaderfile.h"
#include "util/dirent-util.h"
#include "util/errmsg.h"
#include "util/fileio.h"
#include "util/strv.h"

void bls_entry_done(struct bls_entry *e)
{
        free(e->filename);
        free(e->id);
        free(e->uki_path);
        free(e->error);
        free(e->title);
        free(e->version);
        free(e->machine_id);
        free(e->sort_key);
        free(e->architecture);
        free(e->linux_path);
        free(e->efi);
        free(e->devicetree);
        strv_free(e->initrd);
        strv_free(e->devicetree_overlay);
        strv_free(e->options);
        *e = (struct bls_entry){ .tries_left = -1, .tries_done = -1 };
}

void bls_set_done(struct bls_set *s)
{
        for (size_t i = 0; i < s->n; i++)
                bls_entry_done(&s->entries[i]);
        free(s->entries);
        free(s->default_pattern);
        free(s->loader_conf_error);
        *s = (struct bls_set){};
}

/* A decimal number of at most 9 digits (a counter never needs more), whole string. */
static bool parse_count(const char *s, size_t n, int *ret)
{
        int v = 0;

        if (n == 0 || n > 9)
                return false;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (s[i] - '0');
        }
        *ret = v;
        return true;
}

int bls_parse_counter(const char *name, const char *suffix, char **ret_id, int *ret_left,
                      int *ret_done)
{
        size_t n = strlen(name), ns = strlen(suffix), stem;
        int left = -1, done = -1;
        const char *plus;
        char *id;

        if (n <= ns || strcasecmp(name + n - ns, suffix) != 0)
                return -EINVAL;
        stem = n - ns;
        plus = memrchr(name, '+', stem);
        if (plus && plus > name) {
                const char *c = plus + 1, *end = name + stem, *dash = memchr(c, '-', end - c);
                int l, d;

                if (dash ? parse_count(c, dash - c, &l) && parse_count(dash + 1, end - dash - 1, &d)
                         : parse_count(c, end - c, &l)) {
                        left = l;
                        done = dash ? d : -1;
                        stem = plus - name;
                }
        }
        if (asprintf(&id, "%.*s%s", (int)stem, name, name + n - ns) < 0)
                return -ENOMEM;
        *ret_id = id;
        *ret_left = left;
        *ret_done = done;
        return 0;
}

static int set_once(char **field, const char *key, const char *value, const char *filename,
                    unsigned line, char **why)
{
        if (*field)
                return errmsg(why, -EBADMSG, "%s:%u: \"%s\" given twice", filename, line, key);
        *field = strdup(value);
        return *field ? 0 : -ENOMEM;
}

int bls_entry_parse(const char *filename, const char *text, size_t size, struct bls_entry *ret,
                    char **why)
{
        _cleanup_(bls_entry_done) struct bls_entry e = { .tries_left = -1, .tries_done = -1 };
        _cleanup_free_ char *buf = NULL;
        unsigned line = 0;
        char *p, *next;
        int r;

        if (memchr(text, 0, size))
                return errmsg(why, -EBADMSG, "%s: holds a NUL byte: not a text file", filename);
        buf = strndup(text, size);
        if (!buf)
                return -ENOMEM;
        e.filename = strdup(filename);
        if (!e.filename)
                return -ENOMEM;
        r = bls_parse_counter(filename, ".conf", &e.id, &e.tries_left, &e.tries_done);
        if (r == -EINVAL) {
                e.id = strdup(filename);
                if (!e.id)
                        return -ENOMEM;
        } else if (r < 0) {
                return r;
        }
        e.size = size;

        for (p = buf; p; p = next) {
                char *key, *value, *end;

                line++;
                next = strchr(p, '\n');
                if (next)
                        *next++ = 0;
                /* Blanks around the line and a CR of a CRLF ending do not count. */
                end = p + strlen(p);
                while (end > p && isspace((unsigned char)end[-1]))
                        *--end = 0;
                key = p + strspn(p, " \t");
                if (!*key || *key == '#')
                        continue;
                value = key + strcspn(key, " \t");
                if (!*value)
                        return errmsg(why, -EBADMSG, "%s:%u: \"%s\" has no value", filename, line,
                                      key);
                *value++ = 0;
                value += strspn(value, " \t");

                if (streq(key, "title"))
                        r = set_once(&e.title, key, value, filename, line, why);
                else if (streq(key, "version"))
                        r = set_once(&e.version, key, value, filename, line, why);
                else if (streq(key, "machine-id"))
                        r = set_once(&e.machine_id, key, value, filename, line, why);
                else if (streq(key, "sort-key"))
                        r = set_once(&e.sort_key, key, value, filename, line, why);
                else if (streq(key, "architecture"))
                        r = set_once(&e.architecture, key, value, filename, line, why);
                else if (streq(key, "linux"))
                        r = set_once(&e.linux_path, key, value, filename, line, why);
                else if (streq(key, "efi"))
                        r = set_once(&e.efi, key, value, filename, line, why);
                else if (streq(key, "devicetree"))
                        r = set_once(&e.devicetree, key, value, filename, line, why);
                else if (streq(key, "options"))
                        r = strv_extend(&e.options, value);
                else if (streq(key, "initrd") || streq(key, "devicetree-overlay")) {
                        /* systemd-boot splits both on blanks: several files on one line. */
                        _cleanup_strv_free_ char **l = NULL;

                        r = strv_split_blank(value, &l);
                        if (r >= 0)
                                r = strv_extend_strv(
                                        key[0] == 'i' ? &e.initrd : &e.devicetree_overlay, l);
                } else
                        r = 0; /* unknown keys: ignored, as the specification asks */
                if (r < 0)
                        return r;
        }
        *ret = e;
        e = (struct bls_entry){ .tries_left = -1, .tries_done = -1 };
        return 0;
}

int bls_entry_files(const struct bls_entry *e, char ***ret)
{
        _cleanup_strv_free_ char **l = calloc(1, sizeof(char *));

        if (!l)
                return -ENOMEM;
        if ((e->linux_path && strv_extend(&l, e->linux_path) < 0) ||
            (e->efi && strv_extend(&l, e->efi) < 0) || strv_extend_strv(&l, e->initrd) < 0 ||
            (e->devicetree && strv_extend(&l, e->devicetree) < 0) ||
            strv_extend_strv(&l, e->devicetree_overlay) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

int bls_entry_typed_files(const struct bls_entry *e, struct bls_file **ret, size_t *ret_n)
{
        _cleanup_free_ struct bls_file *l = NULL;
        size_t n = 0, max = 3 + strv_length(e->initrd) + strv_length(e->devicetree_overlay);

        l = calloc(max, sizeof(*l));
        if (!l)
                return -ENOMEM;
        if (e->uki)
                l[n++] = (struct bls_file){ e->uki_path, LOADERFILE_UKI };
        if (e->linux_path)
                l[n++] = (struct bls_file){ e->linux_path, LOADERFILE_KERNEL };
        if (e->efi)
                l[n++] = (struct bls_file){ e->efi, LOADERFILE_EFI };
        STRV_FOREACH(f, e->initrd)
        l[n++] = (struct bls_file){ *f, LOADERFILE_INITRD };
        if (e->devicetree)
                l[n++] = (struct bls_file){ e->devicetree, LOADERFILE_DEVICETREE };
        STRV_FOREACH(f, e->devicetree_overlay)
        l[n++] = (struct bls_file){ *f, LOADERFILE_DEVICETREE };
        *ret = TAKE_PTR(l);
        *ret_n = n;
        return 0;
}

bool bls_pattern_is_special(const char *pattern)
{
        /* "@saved" (the last booted entry), "@default"/"@" aliases of newer versions. */
        return pattern[0] == '@';
}

bool bls_pattern_matches(const char *pattern, const struct bls_entry *e)
{
        const char *dot;

        if (fnmatch(pattern, e->id, FNM_CASEFOLD) == 0)
                return true;
        dot = strrchr(e->id, '.');
        if (dot) {
                _cleanup_free_ char *stem = strndup(e->id, dot - e->id);

                if (stem && fnmatch(pattern, stem, FNM_CASEFOLD) == 0)
                        return true;
        }
        return false;
}

/* Opens the child of dir_fd named name, or, when absent, the one whose name matches it
 * case-insensitively (FAT's view). flags: O_DIRECTORY, 0 (to read it) or O_PATH (to stat it
 * only: nothing is opened for reading, so a device node or FIFO never is). Symlinks are not
 * followed. -ENOENT when there is none. */
static int openat_fat(int dir_fd, const char *name, int flags)
{
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int fd, dup_fd;

        flags |= O_CLOEXEC | O_NOFOLLOW | ((flags & O_PATH) ? 0 : O_RDONLY | O_NONBLOCK);
        fd = openat(dir_fd, name, flags);
        if (fd >= 0 || errno != ENOENT)
                return fd >= 0 ? fd : negative_errno();

        dup_fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dup_fd < 0)
                return negative_errno();
        d = fdopendir(dup_fd);
        if (!d) {
                close(dup_fd);
                return -ENOMEM;
        }
        while ((de = readdir(d)))
                if (strcasecmp(de->d_name, name) == 0) {
                        fd = openat(dir_fd, de->d_name, flags);
                        return fd >= 0 ? fd : negative_errno();
                }
        return -ENOENT;
}

int bls_path_open(int root_fd, const char *path, int flags)
{
        _cleanup_free_ char *copy = strdup(path);
        _cleanup_close_ int dir = -1;
        char *p, *save = NULL, *name;
        int cur = root_fd;

        if (!copy)
                return -ENOMEM;
        for (p = copy; *p; p++)
                if (*p == '\\')
                        *p = '/';
        name = strtok_r(copy, "/", &save);
        if (!name)
                return -EISDIR; /* the root itself names no file */
        for (;;) {
                char *rest = strtok_r(NULL, "/", &save);
                int fd;

                if (streq(name, ".."))
                        return -ELOOP;
                if (streq(name, ".")) {
                        if (!rest)
                                return -EISDIR;
                        name = rest;
                        continue;
                }
                fd = openat_fat(cur, name, rest ? O_DIRECTORY : flags);
                if (fd < 0)
                        return fd == -ENOTDIR && rest ? -ENOENT : fd;
                if (!rest)
                        return fd;
                if (dir >= 0)
                        close(dir);
                cur = dir = fd;
                name = rest;
        }
}

int bls_path_stat(int root_fd, const char *path, struct stat *ret)
{
        _cleanup_close_ int fd = bls_path_open(root_fd, path, O_PATH);

        if (fd < 0)
                return fd;
        if (fstat(fd, ret) < 0)
                return negative_errno();
        /* O_PATH|O_NOFOLLOW opens a symlink itself: refused like the others */
        return S_ISLNK(ret->st_mode) ? -ELOOP : 0;
}

int bls_path_check(int root_fd, const char *path, enum loaderfile_kind kind, char **why)
{
        _cleanup_close_ int pfd = -1, fd = -1;
        struct stat st, now;

        /* Looked at first (O_PATH), opened only once known to be a regular file: a FIFO or a
         * device node is never opened. */
        pfd = bls_path_open(root_fd, path, O_PATH);
        if (pfd == -ENOMEM || pfd == -ENOENT)
                return pfd;
        if (pfd < 0)
                return errmsg(why, pfd, "cannot open it: %s", strerror(-pfd));
        if (fstat(pfd, &st) < 0)
                return errmsg(why, negative_errno(), "cannot open it: %m");
        if (S_ISLNK(st.st_mode))
                return errmsg(why, -ELOOP, "cannot open it: %s", strerror(ELOOP));
        if (!S_ISREG(st.st_mode))
                return -EMEDIUMTYPE;
        fd = bls_path_open(root_fd, path, 0);
        if (fd < 0)
                return errmsg(why, fd, "cannot open it: %s", strerror(-fd));
        /* the same file as the one just judged regular */
        if (fstat(fd, &now) < 0 || now.st_dev != st.st_dev || now.st_ino != st.st_ino)
                return errmsg(why, -EAGAIN, "cannot open it: it was replaced meanwhile");
        return loaderfile_check_fd(fd, kind, why);
}

static int cmp_entry(const void *a, const void *b)
{
        return strcmp(((const struct bls_entry *)a)->filename,
                      ((const struct bls_entry *)b)->filename);
}

static int add_entry(struct bls_set *s, struct bls_entry *e)
{
        struct bls_entry *t = reallocarray(s->entries, s->n + 1, sizeof(*t));

        if (!t)
                return -ENOMEM;
        s->entries = t;
        s->entries[s->n++] = *e;
        *e = (struct bls_entry){ .tries_left = -1, .tries_done = -1 };
        return 0;
}

/* Opens a directory by an ESP-relative path, FAT-style: -ENOENT when absent. */
static int open_esp_dir(int esp_fd, const char *path)
{
        _cleanup_free_ char *copy = strdup(path);
        char *save = NULL, *name;
        int cur = esp_fd, fd = -1;

        if (!copy)
                return -ENOMEM;
        for (name = strtok_r(copy, "/", &save); name; name = strtok_r(NULL, "/", &save)) {
                int next = openat_fat(cur, name, O_DIRECTORY);

                if (fd >= 0)
                        close(fd);
                if (next < 0)
                        return next == -ENOTDIR ? -ENOENT : next;
                cur = fd = next;
        }
        return fd;
}

static int read_entry_file(int dir_fd, const char *name, struct bls_entry *e)
{
        _cleanup_close_ int fd =
                openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        _cleanup_free_ char *text = NULL, *why = NULL;
        size_t size;
        int r;

        if (fd < 0)
                r = negative_errno();
        else
                r = read_full_fd(fd, BLS_FILE_MAX, &text, &size);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                *e = (struct bls_entry){ .tries_left = -1, .tries_done = -1 };
                if (r == -EFBIG)
                        r = asprintf(&e->error, "larger than %d KiB", BLS_FILE_MAX / 1024);
                else
                        r = asprintf(&e->error, "cannot be read: %s", strerror(-r));
                if (r < 0)
                        return -ENOMEM;
                goto name_only;
        }
        r = bls_entry_parse(name, text, size, e, &why);
        if (r == -ENOMEM)
                return r;
        if (r >= 0)
                return 0;
        *e = (struct bls_entry){ .tries_left = -1, .tries_done = -1 };
        e->error = TAKE_PTR(why);
        if (!e->error)
                e->error = strdup("cannot be parsed");
        if (!e->error)
                return -ENOMEM;
name_only:
        e->filename = strdup(name);
        if (!e->filename)
                return -ENOMEM;
        r = bls_parse_counter(name, ".conf", &e->id, &e->tries_left, &e->tries_done);
        if (r == -ENOMEM)
                return r;
        if (!e->id)
                e->id = strdup(name);
        return e->id ? 0 : -ENOMEM;
}

/* Every regular file of ESP directory path whose name ends in suffix (any case), each turned
 * into an entry. */
static int load_dir(int esp_fd, const char *path, const char *suffix, bool uki, struct bls_set *s,
                    char **why)
{
        _cleanup_closedir_ DIR *d = NULL;
        size_t first = s->n, ns = strlen(suffix);
        struct dirent *de;
        int fd, r;

        fd = open_esp_dir(esp_fd, path);
        if (fd == -ENOENT)
                return 0;
        if (fd < 0)
                return errmsg(why, fd, "cannot open %s: %s", path, strerror(-fd));
        d = fdopendir(fd);
        if (!d) {
                r = negative_errno();
                close(fd);
                return errmsg(why, r, "cannot list %s: %m", path);
        }
        for (errno = 0; (de = readdir(d)); errno = 0) {
                _cleanup_(bls_entry_done) struct bls_entry e = { .tries_left = -1,
                                                                 .tries_done = -1 };
                size_t n = strlen(de->d_name);
                struct stat st;

                if (n <= ns || de->d_name[0] == '.' || strcasecmp(de->d_name + n - ns, suffix) != 0)
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                    !S_ISREG(st.st_mode))
                        continue;
                if (uki) {
                        e.uki = true;
                        e.size = (uint64_t)st.st_size;
                        e.filename = strdup(de->d_name);
                        if (!e.filename || asprintf(&e.uki_path, "%s/%s", path, de->d_name) < 0)
                                return -ENOMEM;
                        r = bls_parse_counter(de->d_name, suffix, &e.id, &e.tries_left,
                                              &e.tries_done);
                } else {
                        r = read_entry_file(dirfd(d), de->d_name, &e);
                }
                if (r < 0)
                        return r;
                r = add_entry(s, &e);
                if (r < 0)
                        return r;
        }
        if (errno != 0)
                return errmsg(why, negative_errno(), "cannot list %s: %m", path);
        if (s->n - first > 1)
                qsort(s->entries + first, s->n - first, sizeof(struct bls_entry), cmp_entry);
        return 0;
}

/* loader.conf: only "default" matters here; everything else is the loader's business. */
static int load_loader_conf(int esp_fd, struct bls_set *s)
{
        _cleanup_close_ int dir = open_esp_dir(esp_fd, "loader");
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *text = NULL;
        unsigned line = 0;
        size_t size;
        char *p, *next;
        int r;

        if (dir == -ENOENT)
                return 0;
        if (dir < 0)
                return asprintf(&s->loader_conf_error, "cannot open loader/: %s", strerror(-dir)) <
                                       0
                               ? -ENOMEM
                               : 0;
        fd = openat_fat(dir, "loader.conf", 0);
        if (fd == -ENOENT)
                return 0;
        s->have_loader_conf = true;
        r = fd < 0 ? fd : read_full_fd(fd, BLS_FILE_MAX, &text, &size);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return asprintf(&s->loader_conf_error, "cannot be read: %s", strerror(-r)) < 0
                               ? -ENOMEM
                               : 0;
        for (p = text; p; p = next) {
                char *key, *value, *end;

                line++;
                next = strchr(p, '\n');
                if (next)
                        *next++ = 0;
                end = p + strlen(p);
                while (end > p && isspace((unsigned char)end[-1]))
                        *--end = 0;
                key = p + strspn(p, " \t");
                if (*key == '#')
                        continue;
                value = key + strcspn(key, " \t");
                if (!*value)
                        continue;
                *value++ = 0;
                value += strspn(value, " \t");
                if (streq(key, "default")) {
                        /* the last one wins, as in systemd-boot */
                        free(s->default_pattern);
                        s->default_pattern = strdup(value);
                        if (!s->default_pattern)
                                return -ENOMEM;
                        s->default_line = line;
                }
        }
        return 0;
}

int bls_load(int esp_fd, struct bls_set *ret, char **why)
{
        _cleanup_(bls_set_done) struct bls_set s = {};
        int r;

        r = load_loader_conf(esp_fd, &s);
        if (r >= 0)
                r = load_dir(esp_fd, BLS_ENTRIES_DIR, ".conf", false, &s, why);
        if (r >= 0)
                r = load_dir(esp_fd, BLS_UKI_DIR, ".efi", true, &s, why);
        if (r < 0)
                return r;
        *ret = s;
        s = (struct bls_set){};
        return 0;
}

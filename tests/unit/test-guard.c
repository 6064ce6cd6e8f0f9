/* SPDX-License-Identifier: MIT */
/*
 * guard.c, the rollback guard (DESIGN.md §5 rule 4): what the tree fingerprint sees and ignores,
 * when guard_check refuses a sync, and how guard_record writes its state files.
 *
 * Every test gets a fresh directory under mkdtemp with "src" and "dst" trees in it; files are
 * made with explicit modification times so that two trees built alike fingerprint alike.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>

#include "guard.h"
#include "util/fileio.h"
#include "util/strv.h"

#define T0 1700000000 /* a fixed modification time (2023-11-14) */

struct dirs {
        char *base; /* the mkdtemp directory */
        char *src;
        char *dst;
        char *shm; /* a directory on tmpfs, when a test needs one */
        int src_fd;
        int dst_fd;
};

/* ---------------------------------------------------------------------------------------- */
/* Helpers */

static char *join(const char *dir, const char *rel)
{
        char *p;

        assert_true(asprintf(&p, "%s/%s", dir, rel) >= 0);
        return p;
}

/* mkdir -p of rel's parent directories under root. */
static void make_parents(const char *root, const char *rel)
{
        _cleanup_free_ char *p = join(root, rel);

        for (char *s = p + strlen(root) + 1; (s = strchr(s, '/')); s++) {
                *s = 0;
                if (mkdir(p, 0755) < 0 && errno != EEXIST)
                        fail_msg("cannot create '%s': %s", p, strerror(errno));
                *s = '/';
        }
}

static void set_mtime(const char *root, const char *rel, time_t sec, long nsec)
{
        _cleanup_free_ char *p = join(root, rel);
        struct timespec ts[2] = { { sec, nsec }, { sec, nsec } };

        if (utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW) < 0)
                fail_msg("cannot set the time of '%s': %s", p, strerror(errno));
}

/* Writes root/rel (creating its directories) with content and modification time sec. */
static void put(const char *root, const char *rel, const char *content, time_t sec)
{
        _cleanup_free_ char *p = join(root, rel);
        _cleanup_close_ int fd = -1;
        size_t n = strlen(content);

        make_parents(root, rel);
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                fail_msg("cannot create '%s': %s", p, strerror(errno));
        assert_int_equal(write(fd, content, n), (ssize_t)n);
        set_mtime(root, rel, sec, 0);
}

static void put_dir(const char *root, const char *rel)
{
        _cleanup_free_ char *p = join(root, rel);

        make_parents(root, rel);
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
                fail_msg("cannot create '%s': %s", p, strerror(errno));
}

static void rm(const char *root, const char *rel)
{
        _cleanup_free_ char *p = join(root, rel);

        if (remove(p) < 0)
                fail_msg("cannot remove '%s': %s", p, strerror(errno));
}

static int open_dir(const char *path)
{
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                fail_msg("cannot open '%s': %s", path, strerror(errno));
        return fd;
}

static uint64_t fingerprint_fd(int fd, char *const *excludes)
{
        _cleanup_free_ char *why = NULL;
        uint64_t h = 0;
        int r;

        r = guard_fingerprint(fd, excludes, &h, &why);
        if (r < 0)
                fail_msg("guard_fingerprint failed (%d): %s", r, strna(why));
        assert_null(why);
        return h;
}

static uint64_t fingerprint(const char *root, char *const *excludes)
{
        _cleanup_close_ int fd = open_dir(root);

        return fingerprint_fd(fd, excludes);
}

/* A failing comparison names what was done to the tree. */
#define assert_fp_changed(before, after, what)                                                     \
        do {                                                                                       \
                if ((before) == (after))                                                           \
                        fail_msg("fingerprint %016" PRIx64 " did not change when %s", (before),    \
                                 what);                                                            \
        } while (0)

#define assert_fp_same(before, after, what)                                                        \
        do {                                                                                       \
                if ((before) != (after))                                                           \
                        fail_msg("fingerprint changed from %016" PRIx64 " to %016" PRIx64          \
                                 " when %s",                                                       \
                                 (before), (after), what);                                         \
        } while (0)

/* The same small ESP-like tree, built file by file. */
static void make_esp(const char *root)
{
        put(root, "EFI/BOOT/BOOTX64.EFI", "boot loader", T0);
        put(root, "EFI/systemd/systemd-bootx64.efi", "systemd-boot", T0 + 1);
        put(root, "loader/loader.conf", "timeout 3\n", T0 + 2);
        put(root, "loader/entries/debian.conf", "title Debian\n", T0 + 3);
        put(root, "vmlinuz", "kernel", T0 + 4);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)flag;
        (void)ftw;
        return remove(path);
}

static char *make_tmpdir(const char *base)
{
        char *dir;

        if (asprintf(&dir, "%s/test-guard-XXXXXX", base) < 0)
                return NULL;
        if (!mkdtemp(dir)) {
                free(dir);
                return NULL;
        }
        return dir;
}

static int setup(void **state)
{
        const char *tmp = getenv("TMPDIR");
        struct dirs *d = calloc(1, sizeof(*d));

        if (!d)
                return -1;
        d->src_fd = d->dst_fd = -1;
        *state = d;
        d->base = make_tmpdir(isempty(tmp) ? "/tmp" : tmp);
        if (!d->base || asprintf(&d->src, "%s/src", d->base) < 0 ||
            asprintf(&d->dst, "%s/dst", d->base) < 0)
                return -1;
        if (mkdir(d->src, 0755) < 0 || mkdir(d->dst, 0755) < 0)
                return -1;
        d->src_fd = open(d->src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        d->dst_fd = open(d->dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return d->src_fd >= 0 && d->dst_fd >= 0 ? 0 : -1;
}

static int teardown(void **state)
{
        struct dirs *d = *state;
        int r = 0;

        if (!d)
                return 0;
        closep(&d->src_fd);
        closep(&d->dst_fd);
        if (d->base)
                r = nftw(d->base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        if (d->shm && nftw(d->shm, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0)
                r = -1;
        free(d->shm);
        free(d->base);
        free(d->src);
        free(d->dst);
        free(d);
        return r;
}

/* ---------------------------------------------------------------------------------------- */
/* guard_fingerprint: what it sees */

static void test_fingerprint_is_stable_across_calls_and_fds(void **state)
{
        struct dirs *d = *state;
        uint64_t a, b, c;

        make_esp(d->src);
        a = fingerprint_fd(d->src_fd, NULL);
        /* the same fd again: its directory offset was moved by the first walk */
        b = fingerprint_fd(d->src_fd, NULL);
        c = fingerprint(d->src, NULL);
        assert_fp_same(a, b, "fingerprinting the same fd twice");
        assert_fp_same(a, c, "fingerprinting through a new fd");
}

static void test_fingerprint_of_empty_tree_differs_from_nonempty(void **state)
{
        struct dirs *d = *state;
        uint64_t empty = fingerprint(d->src, NULL);

        put(d->src, "x", "", T0);
        assert_fp_changed(empty, fingerprint(d->src, NULL), "an empty file was added");
}

/* The names of a directory in readdir order, joined with spaces. */
static char *readdir_order(const char *path)
{
        _cleanup_strv_free_ char **l = NULL;
        DIR *dir = opendir(path);
        struct dirent *de;

        assert_non_null(dir);
        while ((de = readdir(dir)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        assert_int_equal(strv_extend(&l, de->d_name), 0);
        closedir(dir);
        return strv_join(l, " ");
}

static void test_fingerprint_ignores_creation_and_readdir_order(void **state)
{
        /* tmpfs lists a directory in creation order (reversed, on some kernels), so trees
         * built in opposite orders there really are read in different orders; ext4 lists by
         * name hash, which would hide an unsorted walk. */
        static const char *const names[] = { "a",           "b",     "c",     "d",
                                             "e",           "f",     "g",     "h",
                                             "sub/x",       "sub/y", "sub/z", "sub/deeper/1",
                                             "sub/deeper/2" };
        struct dirs *d = *state;
        struct statfs sfs;
        bool tmpfs = statfs("/dev/shm", &sfs) == 0 && sfs.f_type == TMPFS_MAGIC;
        const char *tmp = d->base;
        _cleanup_free_ char *one = NULL, *two = NULL, *order1 = NULL, *order2 = NULL;
        size_t n = ELEMENTSOF(names);
        uint64_t fp1, fp2;

        if (tmpfs) {
                d->shm = make_tmpdir("/dev/shm"); /* removed by teardown */
                assert_non_null(d->shm);
                tmp = d->shm;
        }
        one = join(tmp, "one");
        two = join(tmp, "two");
        assert_int_equal(mkdir(one, 0755), 0);
        assert_int_equal(mkdir(two, 0755), 0);
        for (size_t i = 0; i < n; i++)
                put(one, names[i], names[i], T0 + (time_t)i);
        for (size_t i = n; i-- > 0;)
                put(two, names[i], names[i], T0 + (time_t)i);
        order1 = readdir_order(one);
        order2 = readdir_order(two);
        fp1 = fingerprint(one, NULL);
        fp2 = fingerprint(two, NULL);

        if (tmpfs && streq(order1, order2))
                fail_msg("both trees list as '%s' on tmpfs: the test proves nothing", order1);
        if (fp1 != fp2)
                fail_msg("trees listed as '%s' and '%s' fingerprint as %016" PRIx64
                         " and %016" PRIx64,
                         order1, order2, fp1, fp2);
}

static void test_fingerprint_equal_for_equal_trees_at_different_paths(void **state)
{
        /* guard_check relies on this to see that a changed destination equals the source */
        struct dirs *d = *state;

        make_esp(d->src);
        make_esp(d->dst);
        assert_fp_same(fingerprint(d->src, NULL), fingerprint(d->dst, NULL),
                       "the same tree was built at another path");
}

static void test_fingerprint_changes_when_a_file_is_added(void **state)
{
        struct dirs *d = *state;
        uint64_t before;

        make_esp(d->src);
        before = fingerprint(d->src, NULL);
        put(d->src, "loader/entries/new.conf", "title New\n", T0);
        assert_fp_changed(before, fingerprint(d->src, NULL), "a nested file was added");
}

static void test_fingerprint_changes_when_an_empty_directory_is_added(void **state)
{
        struct dirs *d = *state;
        uint64_t before;

        make_esp(d->src);
        before = fingerprint(d->src, NULL);
        put_dir(d->src, "EFI/Microsoft");
        assert_fp_changed(before, fingerprint(d->src, NULL), "an empty directory was added");
}

static void test_fingerprint_changes_when_a_file_is_removed(void **state)
{
        struct dirs *d = *state;
        uint64_t before;

        make_esp(d->src);
        before = fingerprint(d->src, NULL);
        rm(d->src, "loader/entries/debian.conf");
        assert_fp_changed(before, fingerprint(d->src, NULL), "a file was removed");
}

static void test_fingerprint_changes_when_a_file_is_renamed(void **state)
{
        struct dirs *d = *state;
        _cleanup_free_ char *from = join(d->src, "vmlinuz");
        _cleanup_free_ char *to = join(d->src, "vmlinuz.old");
        uint64_t before;

        make_esp(d->src);
        before = fingerprint(d->src, NULL);
        assert_int_equal(rename(from, to), 0);
        assert_fp_changed(before, fingerprint(d->src, NULL), "a file was renamed");
}

static void test_fingerprint_changes_when_a_file_is_resized(void **state)
{
        struct dirs *d = *state;
        uint64_t before;

        make_esp(d->src);
        before = fingerprint(d->src, NULL);
        /* same modification time, one byte more */
        put(d->src, "vmlinuz", "kernel!", T0 + 4);
        assert_fp_changed(before, fingerprint(d->src, NULL), "a file grew by one byte");
}

static void test_fingerprint_changes_when_a_file_is_retimed(void **state)
{
        struct dirs *d = *state;
        uint64_t before;

        make_esp(d->src);
        before = fingerprint(d->src, NULL);
        set_mtime(d->src, "EFI/BOOT/BOOTX64.EFI", T0 + 1, 0);
        assert_fp_changed(before, fingerprint(d->src, NULL), "a file's mtime moved by 1 s");
}

static void test_fingerprint_ignores_subsecond_mtime(void **state)
{
        /* Only the second is hashed: FAT and rsync keep no finer times reliably. */
        struct dirs *d = *state;
        uint64_t before;

        make_esp(d->src);
        before = fingerprint(d->src, NULL);
        set_mtime(d->src, "vmlinuz", T0 + 4, 999999999);
        assert_fp_same(before, fingerprint(d->src, NULL), "a file's mtime moved by 0.999 s");
}

static void test_fingerprint_changes_when_a_file_becomes_a_directory(void **state)
{
        struct dirs *d = *state;
        uint64_t before;

        put(d->src, "x", "", T0);
        before = fingerprint(d->src, NULL);
        rm(d->src, "x");
        put_dir(d->src, "x");
        assert_fp_changed(before, fingerprint(d->src, NULL), "an empty file became a directory");
}

static void test_fingerprint_ignores_directory_mtimes(void **state)
{
        /* Directory times change on their own (any create or delete inside). */
        struct dirs *d = *state;
        uint64_t before;

        make_esp(d->src);
        before = fingerprint(d->src, NULL);
        set_mtime(d->src, "loader", T0 - 1000, 0);
        set_mtime(d->src, "loader/entries", T0 + 1000, 0);
        set_mtime(d->src, "EFI", 1, 0);
        assert_fp_same(before, fingerprint(d->src, NULL), "directory mtimes changed");
}

static void test_fingerprint_ignores_state_files_and_lost_found_at_root(void **state)
{
        struct dirs *d = *state;
        uint64_t before;

        make_esp(d->src);
        before = fingerprint(d->src, NULL);
        put(d->src, GUARD_STATE_FILE, "fingerprint=0\n", T0);
        put(d->src, GUARD_STATE_TMP, "fingerprint=1\n", T0);
        put(d->src, "lost+found/#1234", "orphan", T0);
        assert_fp_same(before, fingerprint(d->src, NULL),
                       "state files and lost+found were added at the root");
}

static void test_fingerprint_counts_state_file_names_and_lost_found_below_root(void **state)
{
        struct dirs *d = *state;
        uint64_t before, after_lf;

        make_esp(d->src);
        before = fingerprint(d->src, NULL);
        put(d->src, "EFI/lost+found/x", "", T0);
        after_lf = fingerprint(d->src, NULL);
        assert_fp_changed(before, after_lf, "EFI/lost+found/x was added");
        put(d->src, "EFI/" GUARD_STATE_FILE, "", T0);
        assert_fp_changed(after_lf, fingerprint(d->src, NULL),
                          "EFI/" GUARD_STATE_FILE " was added");
}

/* ---------------------------------------------------------------------------------------- */
/* guard_fingerprint: exclusions (rsync-style patterns) */

static void test_fingerprint_anchored_exclusion_matches_only_at_root(void **state)
{
        struct dirs *d = *state;
        char *ex[] = { "/loader/random-seed", NULL };
        uint64_t before;

        make_esp(d->src);
        before = fingerprint(d->src, ex);
        put(d->src, "loader/random-seed", "seed 1", T0);
        assert_fp_same(before, fingerprint(d->src, ex), "loader/random-seed was added");
        put(d->src, "loader/random-seed", "seed two", T0 + 7);
        assert_fp_same(before, fingerprint(d->src, ex), "loader/random-seed changed");
        put(d->src, "EFI/loader/random-seed", "seed", T0);
        assert_fp_changed(before, fingerprint(d->src, ex), "EFI/loader/random-seed was added");
}

static void test_fingerprint_anchored_exclusion_does_not_match_other_names(void **state)
{
        struct dirs *d = *state;
        char *ex[] = { "/loader/random-seed", NULL };
        uint64_t before;

        make_esp(d->src);
        before = fingerprint(d->src, ex);
        put(d->src, "random-seed", "seed", T0);
        assert_fp_changed(before, fingerprint(d->src, ex), "random-seed was added at the root");
}

static void test_fingerprint_unanchored_name_matches_at_any_depth(void **state)
{
        struct dirs *d = *state;
        char *ex[] = { "random-seed", "*.bak", NULL };
        uint64_t before;

        make_esp(d->src);
        before = fingerprint(d->src, ex);
        put(d->src, "random-seed", "1", T0);
        put(d->src, "loader/random-seed", "2", T0);
        put(d->src, "EFI/BOOT/BOOTX64.EFI.bak", "old", T0);
        put(d->src, "x.bak/inside", "excluded with its directory", T0);
        assert_fp_same(before, fingerprint(d->src, ex), "excluded names were added");
        put(d->src, "random-seed.txt", "", T0);
        assert_fp_changed(before, fingerprint(d->src, ex), "random-seed.txt was added");
}

/* Fails unless the source tree, seen through excludes, fingerprints like the destination
 * tree (the reference: what should remain visible) seen without any. */
static void assert_seen_as_reference(struct dirs *d, char *const *excludes, const char *what)
{
        uint64_t ref = fingerprint(d->dst, NULL), got = fingerprint(d->src, excludes);

        if (ref != got)
                fail_msg("with exclusion '%s', %s: fingerprint %016" PRIx64
                         " differs from the reference's %016" PRIx64,
                         excludes[0], what, got, ref);
}

static void assert_not_seen_as_reference(struct dirs *d, char *const *excludes, const char *what)
{
        if (fingerprint(d->dst, NULL) == fingerprint(d->src, excludes))
                fail_msg("with exclusion '%s', %s, yet the fingerprint ignored it", excludes[0],
                         what);
}

static void test_fingerprint_pattern_with_slash_matches_trailing_components(void **state)
{
        struct dirs *d = *state;
        char *ex[] = { "entries/*.conf", NULL };

        /* dst is the reference: the directories alone */
        put(d->dst, "keep", "", T0);
        put_dir(d->dst, "entries");
        put_dir(d->dst, "loader/entries");
        put_dir(d->dst, "x/y/entries");
        put(d->src, "keep", "", T0);
        put(d->src, "entries/a.conf", "", T0);
        put(d->src, "loader/entries/debian.conf", "title Debian\n", T0);
        put(d->src, "x/y/entries/b.conf", "", T0);
        assert_seen_as_reference(d, ex, "entries/*.conf at the root and deeper");

        put_dir(d->dst, "x/myentries");
        put(d->src, "x/myentries/c.conf", "", T0);
        assert_not_seen_as_reference(d, ex, "x/myentries/c.conf (no component boundary) counts");
}

static void test_fingerprint_pattern_with_slash_excludes_matching_subtree(void **state)
{
        struct dirs *d = *state;
        char *ex[] = { "a/b", NULL };

        put(d->dst, "keep", "", T0);
        put_dir(d->dst, "a");
        put_dir(d->dst, "x/a");
        put_dir(d->dst, "xa");
        put(d->src, "keep", "", T0);
        put(d->src, "a/b/c", "", T0);
        put(d->src, "x/a/b/d/e", "", T0);
        put_dir(d->src, "xa");
        assert_seen_as_reference(d, ex, "directories a/b and x/a/b with their content");

        put(d->src, "xa/b", "", T0);
        assert_not_seen_as_reference(d, ex, "xa/b counts");
}

static void test_fingerprint_trailing_slash_pattern_matches_only_directories(void **state)
{
        struct dirs *d = *state;
        char *ex[] = { "cache/", NULL };

        put(d->dst, "keep", "", T0);
        put_dir(d->dst, "EFI");
        put_dir(d->dst, "loader");
        put(d->src, "keep", "", T0);
        put(d->src, "cache/blob", "1", T0);
        put(d->src, "EFI/cache/blob", "2", T0);
        put_dir(d->src, "loader");
        assert_seen_as_reference(d, ex, "directories named cache");

        put(d->src, "loader/cache", "a file, not a directory", T0);
        assert_not_seen_as_reference(d, ex, "a file named cache counts");
}

static void test_fingerprint_anchored_directory_pattern(void **state)
{
        struct dirs *d = *state;
        char *ex[] = { "/EFI/Linux/", NULL };
        uint64_t before;

        make_esp(d->src);
        put_dir(d->src, "EFI/Linux");
        before = fingerprint(d->src, ex);
        put(d->src, "EFI/Linux/uki.efi", "unified kernel image", T0);
        assert_fp_same(before, fingerprint(d->src, ex), "a file under /EFI/Linux/ was added");
        put(d->src, "x/EFI/Linux/uki.efi", "", T0);
        assert_fp_changed(before, fingerprint(d->src, ex), "x/EFI/Linux/uki.efi was added");
}

/* ---------------------------------------------------------------------------------------- */
/* guard_check */

static int check(struct dirs *d, char *const *excludes, char **why)
{
        return guard_check(d->src_fd, d->src, d->dst_fd, d->dst, excludes, why);
}

/* The roles swapped: the machine booted from the other disk, syncing dst into src. */
static int check_reverse(struct dirs *d)
{
        _cleanup_free_ char *why = NULL;

        return guard_check(d->dst_fd, d->dst, d->src_fd, d->src, NULL, &why);
}

/* guard_check allows, with the verdict expected (GUARD_BEHIND or GUARD_VERIFY). */
static void check_ok(struct dirs *d, char *const *excludes, int expected)
{
        _cleanup_free_ char *why = NULL;
        int r = check(d, excludes, &why);

        if (r < 0)
                fail_msg("guard_check refused (%d): %s", r, strna(why));
        assert_int_equal(r, expected);
        assert_null(why);
}

static void record(struct dirs *d, char *const *excludes, const char *partuuid)
{
        _cleanup_free_ char *why = NULL;
        int r = guard_record(d->src_fd, d->dst_fd, excludes, partuuid, &why);

        if (r != 0)
                fail_msg("guard_record failed (%d): %s", r, strna(why));
        assert_null(why);
}

/* The value of "key=" in a state file. */
static char *state_value(const char *root, const char *key)
{
        _cleanup_free_ char *path = join(root, GUARD_STATE_FILE), *text = NULL;
        _cleanup_free_ char *prefix = NULL;
        const char *p;

        assert_int_equal(read_full_file(path, 4096, &text, NULL), 0);
        assert_true(asprintf(&prefix, "\n%s=", key) >= 0);
        p = strstr(text, prefix);
        if (!p)
                fail_msg("no %s= line in '%s':\n%s", key, path, text);
        p += strlen(prefix);
        return strndup(p, strcspn(p, "\n"));
}

static void test_check_without_state_file_allows(void **state)
{
        struct dirs *d = *state;

        /* never synced by us: a first sync or a new disk, whatever the trees hold */
        make_esp(d->src);
        put(d->dst, "other", "unrelated", T0);
        check_ok(d, NULL, GUARD_VERIFY);
}

static void test_check_unchanged_destination_allows(void **state)
{
        struct dirs *d = *state;

        make_esp(d->src);
        make_esp(d->dst);
        record(d, NULL, "11111111-2222-3333-4444-555555555555");
        /* the source moved on (a kernel update): the destination is only behind */
        put(d->src, "vmlinuz", "new kernel", T0 + 100);
        put(d->src, "loader/entries/new.conf", "title New\n", T0 + 100);
        check_ok(d, NULL, GUARD_BEHIND);
}

static void test_check_destination_changed_to_equal_source_allows(void **state)
{
        struct dirs *d = *state;

        make_esp(d->src);
        make_esp(d->dst);
        record(d, NULL, NULL);
        /* both got the same update some other way (e.g. the same package on both) */
        put(d->src, "vmlinuz", "new kernel", T0 + 100);
        put(d->dst, "vmlinuz", "new kernel", T0 + 100);
        check_ok(d, NULL, GUARD_VERIFY);
}

static void test_check_destination_changed_and_different_refuses(void **state)
{
        struct dirs *d = *state;
        _cleanup_free_ char *why = NULL, *expected = NULL, *synced = NULL;

        make_esp(d->src);
        make_esp(d->dst);
        record(d, NULL, "11111111-2222-3333-4444-555555555555");
        /* the machine was booted from dst and updated while src was away */
        put(d->dst, "vmlinuz", "newer kernel", T0 + 200);
        synced = state_value(d->dst, "synced");

        assert_int_equal(check(d, NULL, &why), -EEXIST);
        assert_true(asprintf(&expected,
                             "'%s' changed since the last sync recorded on it (%s, from "
                             "11111111-2222-3333-4444-555555555555): it may hold updates the "
                             "booted ESP '%s' lacks (was this machine booted from a stale "
                             "disk?); not overwriting it. See what a sync would change there "
                             "with -s -t (dry run: each file created, replaced or deleted), "
                             "then sync with --force if '%s' is right",
                             d->dst, synced, d->src, d->src) >= 0);
        assert_non_null(why);
        assert_string_equal(why, expected);
}

static void test_check_destination_with_extra_file_refuses(void **state)
{
        struct dirs *d = *state;
        _cleanup_free_ char *why = NULL;

        make_esp(d->src);
        make_esp(d->dst);
        record(d, NULL, NULL);
        put(d->dst, "EFI/other-os/grubx64.efi", "another OS installed here", T0 + 300);
        assert_int_equal(check(d, NULL, &why), -EEXIST);
        assert_non_null(strstr(why, "from unknown)"));
        assert_non_null(strstr(why, "--force"));
}

static void test_check_change_to_excluded_file_allows(void **state)
{
        struct dirs *d = *state;
        char *ex[] = { "/loader/random-seed", NULL };

        make_esp(d->src);
        make_esp(d->dst);
        put(d->dst, "loader/random-seed", "seed A", T0);
        record(d, ex, NULL);
        /* systemd-boot refreshes its seed on every boot from that ESP */
        put(d->dst, "loader/random-seed", "seed B, longer", T0 + 50);
        check_ok(d, ex, GUARD_BEHIND);
}

static void check_refusal(struct dirs *d, int error, const char *cause)
{
        _cleanup_free_ char *why = NULL, *expected = NULL;

        assert_int_equal(check(d, NULL, &why), error);
        assert_true(asprintf(&expected, "'%s': %s", d->dst, cause) >= 0);
        assert_non_null(why);
        assert_string_equal(why, expected);
}

static void test_check_corrupt_state_file_refuses_naming_it(void **state)
{
        static const char *const bad[] = {
                "format=2\n",
                "format=2\n# nothing else\n",
                "format=2\nfingerprint=\n",
                "format=2\nfingerprint=zz\n",
                "format=2\nfingerprint=123456789abcdef01\n", /* 65 bits */
                "format=2\nfingerprint=12 34\n",
                "format=2\nsynced=2024-01-01T00:00:00Z\nsource=x\n",
        };
        struct dirs *d = *state;
        _cleanup_free_ char *expected = NULL;

        make_esp(d->src);
        make_esp(d->dst);
        assert_true(asprintf(&expected, "'%s': " GUARD_STATE_FILE " has no valid fingerprint= line",
                             d->dst) >= 0);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *why = NULL;
                int r;

                put(d->dst, GUARD_STATE_FILE, bad[i], T0);
                r = check(d, NULL, &why);
                if (r != -EBADMSG || !why || !streq(why, expected))
                        fail_msg("state file \"%s\": got %d (%s), expected %d (%s)", bad[i], r,
                                 strna(why), -EBADMSG, expected);
        }
}

static void test_check_state_file_without_format_refuses(void **state)
{
        static const char *const bad[] = {
                "",
                "# nothing else\n",
                "fingerprint=0123456789abcdef\n",
                "\x01\x02\x03 junk",
        };
        struct dirs *d = *state;
        _cleanup_free_ char *expected = NULL;

        make_esp(d->src);
        make_esp(d->dst);
        assert_true(asprintf(&expected, "'%s': " GUARD_STATE_FILE " has no format= line", d->dst) >=
                    0);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *why = NULL;
                int r;

                put(d->dst, GUARD_STATE_FILE, bad[i], T0);
                r = check(d, NULL, &why);
                if (r != -EBADMSG || !why || !streq(why, expected))
                        fail_msg("state file \"%s\": got %d (%s), expected %d (%s)", bad[i], r,
                                 strna(why), -EBADMSG, expected);
        }
}

static void test_check_state_file_of_another_format_is_ignored(void **state)
{
        struct dirs *d = *state;
        _cleanup_free_ char *why = NULL;

        make_esp(d->src);
        make_esp(d->dst);
        /* written by another version: not comparable, so like a disk never synced */
        put(d->dst, GUARD_STATE_FILE, "format=1\nfingerprint=0123456789abcdef\n", T0);
        put(d->dst, "vmlinuz", "different", T0 + 100);
        assert_int_equal(check(d, NULL, &why), GUARD_VERIFY);
        assert_null(why);
}

static void test_check_state_file_symlink_refuses(void **state)
{
        struct dirs *d = *state;
        _cleanup_free_ char *link = join(d->dst, GUARD_STATE_FILE);

        make_esp(d->dst);
        assert_int_equal(symlink("/etc/hostname", link), 0);
        check_refusal(d, -ELOOP,
                      "cannot open " GUARD_STATE_FILE ": Too many levels of symbolic links");
}

static void test_check_oversized_state_file_refuses(void **state)
{
        struct dirs *d = *state;
        char big[8192];

        memset(big, '#', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        put(d->dst, GUARD_STATE_FILE, big, T0);
        check_refusal(d, -EFBIG, "cannot read " GUARD_STATE_FILE ": File too large");
}

/* ---------------------------------------------------------------------------------------- */
/* guard_record */

static void assert_state_matches(const char *root, char *const *excludes, const char *source)
{
        _cleanup_free_ char *fp = state_value(root, "fingerprint");
        _cleanup_free_ char *src = state_value(root, "source");
        _cleanup_free_ char *synced = state_value(root, "synced");
        _cleanup_free_ char *expected = NULL;
        struct tm tm = {};
        const char *end;

        assert_true(asprintf(&expected, "%016" PRIx64, fingerprint(root, excludes)) >= 0);
        assert_string_equal(fp, expected);
        assert_string_equal(src, source);
        end = strptime(synced, "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (!end || *end)
                fail_msg("synced=%s is not a UTC time like 2024-01-31T12:00:00Z", synced);
}

static void assert_no_tmp_file(const char *root)
{
        _cleanup_free_ char *tmp = join(root, GUARD_STATE_TMP);

        if (access(tmp, F_OK) == 0 || errno != ENOENT)
                fail_msg("'%s' was left behind", tmp);
}

static struct stat stat_state(const char *root)
{
        _cleanup_free_ char *p = join(root, GUARD_STATE_FILE);
        struct stat st;

        if (lstat(p, &st) < 0)
                fail_msg("cannot stat '%s': %s", p, strerror(errno));
        return st;
}

static void assert_same_file(const struct stat *a, const struct stat *b, const char *root)
{
        if (a->st_ino != b->st_ino || a->st_mtim.tv_sec != b->st_mtim.tv_sec ||
            a->st_mtim.tv_nsec != b->st_mtim.tv_nsec)
                fail_msg("%s/" GUARD_STATE_FILE " was rewritten (inode %ju -> %ju, mtime "
                         "%jd.%09ld -> %jd.%09ld)",
                         root, (uintmax_t)a->st_ino, (uintmax_t)b->st_ino,
                         (intmax_t)a->st_mtim.tv_sec, a->st_mtim.tv_nsec,
                         (intmax_t)b->st_mtim.tv_sec, b->st_mtim.tv_nsec);
}

static void test_record_writes_both_state_files(void **state)
{
        struct dirs *d = *state;
        char *ex[] = { "/loader/random-seed", NULL };

        make_esp(d->src);
        make_esp(d->dst);
        put(d->dst, "loader/random-seed", "seed", T0);
        record(d, ex, "11111111-2222-3333-4444-555555555555");
        assert_state_matches(d->src, ex, "11111111-2222-3333-4444-555555555555");
        assert_state_matches(d->dst, ex, "11111111-2222-3333-4444-555555555555");
        assert_no_tmp_file(d->src);
        assert_no_tmp_file(d->dst);
}

static void test_record_without_partuuid_says_unknown(void **state)
{
        struct dirs *d = *state;

        make_esp(d->src);
        make_esp(d->dst);
        record(d, NULL, NULL);
        assert_state_matches(d->src, NULL, "unknown");
        assert_state_matches(d->dst, NULL, "unknown");
}

static void test_record_state_file_starts_with_a_comment(void **state)
{
        struct dirs *d = *state;
        _cleanup_free_ char *path = join(d->dst, GUARD_STATE_FILE), *text = NULL;

        record(d, NULL, "p");
        assert_int_equal(read_full_file(path, 4096, &text, NULL), 0);
        assert_int_equal(text[0], '#');
        assert_int_equal(text[strlen(text) - 1], '\n');
}

static void test_record_replaces_a_leftover_temporary_file(void **state)
{
        /* a crash between create and rename leaves GUARD_STATE_TMP behind */
        struct dirs *d = *state;

        make_esp(d->dst);
        put(d->dst, GUARD_STATE_TMP, "fingerprint=dead\n", T0);
        record(d, NULL, "p");
        assert_state_matches(d->dst, NULL, "p");
        assert_no_tmp_file(d->dst);
}

static void test_record_unchanged_trees_do_not_rewrite_state_files(void **state)
{
        struct dirs *d = *state;
        struct stat src1, dst1, src2, dst2;

        make_esp(d->src);
        make_esp(d->dst);
        record(d, NULL, "p");
        src1 = stat_state(d->src);
        dst1 = stat_state(d->dst);
        /* let a rewrite show in the mtime even on coarse timestamps */
        usleep(20000);
        record(d, NULL, "p");
        src2 = stat_state(d->src);
        dst2 = stat_state(d->dst);
        assert_same_file(&src1, &src2, d->src);
        assert_same_file(&dst1, &dst2, d->dst);
        assert_no_tmp_file(d->src);
        assert_no_tmp_file(d->dst);
}

/* The source's record is what the destination holds after the sync, not the source's own
 * tree: a change made on the source while rsync ran was not copied and must still count as
 * a change of the source (the guard then refuses to overwrite it). */
static void test_record_gives_the_source_the_destinations_fingerprint(void **state)
{
        struct dirs *d = *state;
        _cleanup_free_ char *fs = NULL, *fd = NULL;
        struct stat dst1, dst2;

        make_esp(d->src);
        make_esp(d->dst);
        record(d, NULL, "p");
        dst1 = stat_state(d->dst);
        put(d->src, "vmlinuz", "changed while rsync ran", T0 + 10);
        record(d, NULL, "p");
        dst2 = stat_state(d->dst);
        assert_same_file(&dst1, &dst2, d->dst);
        fs = state_value(d->src, "fingerprint");
        fd = state_value(d->dst, "fingerprint");
        assert_non_null(fs);
        assert_non_null(fd);
        assert_string_equal(fs, fd);
        assert_state_matches(d->dst, NULL, "p");
        /* and so the source's change is protected when it later becomes a destination */
        assert_int_equal(check_reverse(d), -EEXIST);
}

static void test_record_rewrites_a_corrupt_state_file(void **state)
{
        struct dirs *d = *state;

        make_esp(d->dst);
        put(d->dst, GUARD_STATE_FILE, "garbage\n", T0);
        record(d, NULL, "p");
        assert_state_matches(d->dst, NULL, "p");
}

static void test_record_then_check_allows(void **state)
{
        struct dirs *d = *state;

        make_esp(d->src);
        make_esp(d->dst);
        put(d->dst, "stale", "", T0);
        record(d, NULL, "p");
        check_ok(d, NULL, GUARD_BEHIND);
}

/* ---------------------------------------------------------------------------------------- */
/* guard_assess, guard_intent (DESIGN.md §5 rule 10) */

#define PU_A "6a1e0c5b-0000-4a4a-8000-00000000e0e0"
#define PU_B "6a1e0c5b-1111-4a4a-8000-00000000e1e1"

static int assess(struct dirs *d, const char *src_id, struct guard_verdict *v, char **why)
{
        return guard_assess(d->src_fd, d->src, src_id, d->dst_fd, d->dst, NULL, v, why);
}

static void intent(struct dirs *d, const char *src_id)
{
        _cleanup_free_ char *why = NULL;
        int r = guard_intent(d->dst_fd, src_id, 0x1234, &why);

        if (r != 0)
                fail_msg("guard_intent failed (%d): %s", r, strna(why));
}

static void test_assess_in_sync_when_both_sides_hold_the_record(void **state)
{
        struct dirs *d = *state;
        struct guard_verdict v = {};
        _cleanup_free_ char *why = NULL;

        make_esp(d->src);
        make_esp(d->dst);
        record(d, NULL, PU_A);
        assert_int_equal(assess(d, PU_A, &v, &why), GUARD_IN_SYNC);
        assert_true(v.dst_fp_known && v.src_fp_known);
        assert_true(v.src_fp == v.dst_fp);
        guard_verdict_done(&v);
        /* the source moves on: behind, not in sync */
        put(d->src, "vmlinuz-2", "new", T0);
        assert_int_equal(assess(d, PU_A, &v, &why), GUARD_BEHIND);
        guard_verdict_done(&v);
        assert_null(why);
}

static void test_intent_keeps_the_fingerprint_and_is_cleared_by_the_record(void **state)
{
        struct dirs *d = *state;
        _cleanup_free_ char *fp_before = NULL, *fp_after = NULL, *who = NULL;
        _cleanup_free_ char *path = NULL, *text = NULL;

        make_esp(d->src);
        make_esp(d->dst);
        record(d, NULL, PU_A);
        fp_before = state_value(d->dst, "fingerprint");
        intent(d, PU_A);
        fp_after = state_value(d->dst, "fingerprint");
        assert_string_equal(fp_before, fp_after);
        who = state_value(d->dst, "intent");
        assert_string_equal(who, PU_A);
        record(d, NULL, PU_A);
        path = join(d->dst, GUARD_STATE_FILE);
        assert_int_equal(read_full_file(path, 4096, &text, NULL), 0);
        if (strstr(text, "\nintent="))
                fail_msg("the record of the completed sync still holds the intent:\n%s", text);
}

static void test_assess_same_source_resumes_a_torn_copy(void **state)
{
        struct dirs *d = *state;
        struct guard_verdict v = {};
        _cleanup_free_ char *why = NULL;

        make_esp(d->src);
        make_esp(d->dst);
        record(d, NULL, PU_A);
        put(d->src, "vmlinuz-2", "a new kernel", T0 + 10);
        intent(d, PU_A);
        /* the cut left half of it: a different tree from both the record and the source */
        put(d->dst, ".vmlinuz-2.AbCdEf", "a new", T0 + 20);
        /* PARTUUIDs compare in any case */
        assert_int_equal(assess(d, "6A1E0C5B-0000-4A4A-8000-00000000E0E0", &v, &why), GUARD_RESUME);
        assert_null(why);
        assert_string_equal(v.resumed_source, PU_A);
        assert_non_null(v.resumed_since);
        guard_verdict_done(&v);
}

static void test_assess_other_source_meets_the_guard_naming_the_interrupted_sync(void **state)
{
        struct dirs *d = *state;
        struct guard_verdict v = {};
        _cleanup_free_ char *why = NULL;

        make_esp(d->src);
        make_esp(d->dst);
        record(d, NULL, PU_A);
        intent(d, PU_A);
        put(d->dst, ".vmlinuz-2.AbCdEf", "a new", T0 + 20);
        assert_int_equal(assess(d, PU_B, &v, &why), -EEXIST);
        assert_non_null(why);
        if (!strstr(why, "changed since the last sync recorded on it") ||
            !strstr(why, "a sync into it from " PU_A) || !strstr(why, "--force"))
                fail_msg("refusal does not name the interrupted sync: %s", why);
        guard_verdict_done(&v);
}

static void test_assess_intent_alone_counts_as_no_record(void **state)
{
        struct dirs *d = *state;
        struct guard_verdict v = {};
        _cleanup_free_ char *why = NULL;

        make_esp(d->src);
        put(d->dst, "something", "half", T0);
        intent(d, PU_A); /* a first sync, cut */
        assert_int_equal(assess(d, PU_B, &v, &why), GUARD_VERIFY);
        guard_verdict_done(&v);
        assert_int_equal(assess(d, PU_A, &v, &why), GUARD_RESUME);
        guard_verdict_done(&v);
        assert_null(why);
}

static void test_record_verified_sets_the_time_of_the_content_check(void **state)
{
        struct dirs *d = *state;
        struct guard_verdict v = {};
        _cleanup_free_ char *why = NULL;
        time_t before = time(NULL);

        make_esp(d->src);
        make_esp(d->dst);
        record(d, NULL, PU_A);
        assert_int_equal(assess(d, PU_A, &v, &why), GUARD_IN_SYNC);
        assert_int_equal(v.verified, 0);
        guard_verdict_done(&v);
        assert_int_equal(guard_record_verified(d->src_fd, d->dst_fd, NULL, PU_A, true, &why), 0);
        assert_int_equal(assess(d, PU_A, &v, &why), GUARD_IN_SYNC);
        assert_true(v.verified >= before && v.verified <= time(NULL));
        guard_verdict_done(&v);
        /* a later sync that compares nothing keeps it */
        assert_int_equal(guard_record_verified(d->src_fd, d->dst_fd, NULL, PU_A, false, &why), 0);
        assert_int_equal(assess(d, PU_A, &v, &why), GUARD_IN_SYNC);
        assert_true(v.verified >= before);
        guard_verdict_done(&v);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
                T(test_fingerprint_is_stable_across_calls_and_fds),
                T(test_fingerprint_of_empty_tree_differs_from_nonempty),
                T(test_fingerprint_ignores_creation_and_readdir_order),
                T(test_fingerprint_equal_for_equal_trees_at_different_paths),
                T(test_fingerprint_changes_when_a_file_is_added),
                T(test_fingerprint_changes_when_an_empty_directory_is_added),
                T(test_fingerprint_changes_when_a_file_is_removed),
                T(test_fingerprint_changes_when_a_file_is_renamed),
                T(test_fingerprint_changes_when_a_file_is_resized),
                T(test_fingerprint_changes_when_a_file_is_retimed),
                T(test_fingerprint_ignores_subsecond_mtime),
                T(test_fingerprint_changes_when_a_file_becomes_a_directory),
                T(test_fingerprint_ignores_directory_mtimes),
                T(test_fingerprint_ignores_state_files_and_lost_found_at_root),
                T(test_fingerprint_counts_state_file_names_and_lost_found_below_root),

                T(test_fingerprint_anchored_exclusion_matches_only_at_root),
                T(test_fingerprint_anchored_exclusion_does_not_match_other_names),
                T(test_fingerprint_unanchored_name_matches_at_any_depth),
                T(test_fingerprint_pattern_with_slash_matches_trailing_components),
                T(test_fingerprint_pattern_with_slash_excludes_matching_subtree),
                T(test_fingerprint_trailing_slash_pattern_matches_only_directories),
                T(test_fingerprint_anchored_directory_pattern),

                T(test_check_without_state_file_allows),
                T(test_check_unchanged_destination_allows),
                T(test_check_destination_changed_to_equal_source_allows),
                T(test_check_destination_changed_and_different_refuses),
                T(test_check_destination_with_extra_file_refuses),
                T(test_check_change_to_excluded_file_allows),
                T(test_check_corrupt_state_file_refuses_naming_it),
                T(test_check_state_file_without_format_refuses),
                T(test_check_state_file_of_another_format_is_ignored),
                T(test_check_state_file_symlink_refuses),
                T(test_check_oversized_state_file_refuses),

                T(test_record_writes_both_state_files),
                T(test_record_without_partuuid_says_unknown),
                T(test_record_state_file_starts_with_a_comment),
                T(test_record_replaces_a_leftover_temporary_file),
                T(test_record_unchanged_trees_do_not_rewrite_state_files),
                T(test_record_gives_the_source_the_destinations_fingerprint),
                T(test_record_rewrites_a_corrupt_state_file),
                T(test_record_then_check_allows),

                T(test_assess_in_sync_when_both_sides_hold_the_record),
                T(test_intent_keeps_the_fingerprint_and_is_cleared_by_the_record),
                T(test_assess_same_source_resumes_a_torn_copy),
                T(test_assess_other_source_meets_the_guard_naming_the_interrupted_sync),
                T(test_assess_intent_alone_counts_as_no_record),
                T(test_record_verified_sets_the_time_of_the_content_check),
#undef T
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

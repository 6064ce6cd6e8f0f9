/* SPDX-License-Identifier: MIT */
/*
 * watch.c with its inotify back end (DESIGN.md §6), on a private temporary tree: what makes
 * an item dirty, what does not (exclusions, the lost+found of the filesystem), and that new,
 * moved and removed directories are watched or forgotten as they come and go. inotify
 * queues an event before the call that caused it returns, so each check reads the queue at
 * once: nothing here waits. (The fanotify back end needs CAP_SYS_ADMIN and a filesystem
 * root: t-daemon covers it.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/strv.h"
#include "watch.h"

#define ITEM 7

struct fixture {
        char *root;
        struct watcher *w;
        unsigned hits, all, other; /* events for ITEM, for every item, for another id */
};

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        return remove(path);
}

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        const char *tmp = getenv("TMPDIR");

        if (!f || asprintf(&f->root, "%s/test-watch-XXXXXX", isempty(tmp) ? "/tmp" : tmp) < 0 ||
            !mkdtemp(f->root) || watcher_new(&f->w) < 0)
                return -1;
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        int r = nftw(f->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);

        watcher_free(f->w);
        free(f->root);
        free(f);
        return r;
}

static char *at(const struct fixture *f, const char *rel)
{
        char *p;

        assert_true(asprintf(&p, "%s/%s", f->root, rel) > 0);
        return p;
}

static void make_dir(const struct fixture *f, const char *rel)
{
        _cleanup_free_ char *p = at(f, rel);

        assert_int_equal(mkdir(p, 0755), 0);
}

static void write_file(const struct fixture *f, const char *rel)
{
        _cleanup_free_ char *p = at(f, rel);
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, "x", 1), 1);
        assert_int_equal(close(fd), 0);
}

static void on_event(unsigned id, void *userdata)
{
        struct fixture *f = userdata;

        if (id == ITEM)
                f->hits++;
        else if (id == WATCH_ALL_ITEMS)
                f->all++;
        else
                f->other++;
}

/* Reads what is queued; returns the events for ITEM since the last call. */
static unsigned drain(struct fixture *f)
{
        unsigned n;

        assert_int_equal(watcher_process(f->w, on_event, f), 0);
        assert_int_equal(f->all, 0);
        assert_int_equal(f->other, 0);
        n = f->hits;
        f->hits = 0;
        return n;
}

/* Watches the contents of the tree ("root/", rsync notation) with inotify. */
static int watch_contents(struct fixture *f, char *const *excludes)
{
        _cleanup_free_ char *source = NULL, *why = NULL;
        int r;

        assert_true(asprintf(&source, "%s/", f->root) > 0);
        r = watcher_add(f->w, ITEM, source, excludes, false, &why);
        if (r < 0)
                fail_msg("watcher_add: %s", strna(why));
        assert_string_equal(watcher_backend(f->w, ITEM), "inotify");
        assert_true(watcher_active(f->w, ITEM));
        return r;
}

/* ---------------------------------------------------------------------------------------- */

static void test_every_directory_of_the_tree_is_watched(void **state)
{
        struct fixture *f = *state;

        make_dir(f, "a");
        make_dir(f, "a/b");
        make_dir(f, "c");
        /* The root, a, a/b and c. */
        assert_int_equal(watch_contents(f, NULL), 4);
        assert_int_equal(watcher_count(f->w, ITEM), 4);
}

static void test_a_new_file_anywhere_makes_the_item_dirty(void **state)
{
        struct fixture *f = *state;

        make_dir(f, "a");
        make_dir(f, "a/b");
        watch_contents(f, NULL);
        assert_int_equal(drain(f), 0);
        write_file(f, "top");
        assert_true(drain(f) > 0);
        write_file(f, "a/b/deep");
        assert_true(drain(f) > 0);
}

static void test_excluded_files_and_directories_are_ignored(void **state)
{
        struct fixture *f = *state;
        char *excludes[] = { "/loader/random-seed", "/skipd/", NULL };

        make_dir(f, "loader");
        make_dir(f, "skipd");
        make_dir(f, "lost+found");
        /* The root and loader: skipd is excluded, lost+found never synced. */
        assert_int_equal(watch_contents(f, excludes), 2);
        write_file(f, "loader/random-seed");
        write_file(f, "skipd/inner");
        write_file(f, "lost+found/#123");
        assert_int_equal(drain(f), 0);
        /* The same name elsewhere is not excluded: "/..." anchors at the root. */
        write_file(f, "loader/entry.conf");
        assert_true(drain(f) > 0);
}

static void test_a_new_directory_is_watched_as_it_appears(void **state)
{
        struct fixture *f = *state;

        assert_int_equal(watch_contents(f, NULL), 1);
        make_dir(f, "new");
        assert_true(drain(f) > 0);
        assert_int_equal(watcher_count(f->w, ITEM), 2);
        write_file(f, "new/file");
        assert_true(drain(f) > 0);
}

static void test_a_directory_moved_away_is_forgotten_and_its_new_place_watched(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *from = at(f, "a"), *to = at(f, "b");

        make_dir(f, "a");
        make_dir(f, "a/sub");
        assert_int_equal(watch_contents(f, NULL), 3);
        assert_int_equal(rename(from, to), 0);
        assert_true(drain(f) > 0);
        /* Dropped under its old name, watched again under the new one: still 3. */
        assert_int_equal(watcher_count(f->w, ITEM), 3);
        write_file(f, "b/sub/file");
        assert_true(drain(f) > 0);
}

static void test_a_removed_directory_is_no_longer_counted(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *p = at(f, "gone");

        make_dir(f, "gone");
        assert_int_equal(watch_contents(f, NULL), 2);
        assert_int_equal(rmdir(p), 0);
        assert_true(drain(f) > 0);
        assert_int_equal(watcher_count(f->w, ITEM), 1);
}

static void test_a_removed_root_makes_the_item_inactive(void **state)
{
        struct fixture *f = *state;

        watch_contents(f, NULL);
        assert_int_equal(rmdir(f->root), 0);
        assert_true(drain(f) > 0);
        assert_false(watcher_active(f->w, ITEM));
        /* teardown removes f->root: give it one. */
        assert_int_equal(mkdir(f->root, 0700), 0);
}

static void test_removed_item_gets_no_events(void **state)
{
        struct fixture *f = *state;

        watch_contents(f, NULL);
        watcher_remove(f->w, ITEM);
        assert_string_equal(watcher_backend(f->w, ITEM), "none");
        assert_int_equal(watcher_count(f->w, ITEM), 0);
        write_file(f, "after");
        assert_int_equal(drain(f), 0);
}

static void test_a_missing_source_is_an_error_and_leaves_nothing_watched(void **state)
{
        struct fixture *f = *state;
        _cleanup_free_ char *source = at(f, "nope/"), *why = NULL;

        assert_true(watcher_add(f->w, ITEM, source, NULL, false, &why) < 0);
        assert_non_null(why);
        assert_string_equal(watcher_backend(f->w, ITEM), "none");
        assert_false(watcher_active(f->w, ITEM));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_every_directory_of_the_tree_is_watched, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_a_new_file_anywhere_makes_the_item_dirty,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_excluded_files_and_directories_are_ignored,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_a_new_directory_is_watched_as_it_appears,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(
                        test_a_directory_moved_away_is_forgotten_and_its_new_place_watched, setup,
                        teardown),
                cmocka_unit_test_setup_teardown(test_a_removed_directory_is_no_longer_counted,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_a_removed_root_makes_the_item_inactive, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_removed_item_gets_no_events, setup, teardown),
                cmocka_unit_test_setup_teardown(
                        test_a_missing_source_is_an_error_and_leaves_nothing_watched, setup,
                        teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

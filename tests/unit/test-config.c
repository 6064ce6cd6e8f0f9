/* SPDX-License-Identifier: MIT */
/*
 * config.c: TOML subset, validation, messages (exact, with line and column), file safety.
 * Inline texts are parsed as "x.conf"; fixtures live in $FIXTURES/config; files that need
 * an owner or mode are made in a private temporary directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <inttypes.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "config.h"
#include "util/fileio.h"
#include "util/strv.h"

static char *tmpdir;

#define KNOWN_KEYS                                                                                 \
        "dualroot, rsync_opts, nice, ionice_class, ionice_level, ionice_value, sync_delay, "       \
        "settle_time, max_wait, rsync_path, rsync_timeout, lock_timeout, esp_mounts, "             \
        "esp_excludes, esp_min_free, prove_max_age, fix_boot_entries, sync, swap_ids, alt_root, "  \
        "boot_trees"

/* ---------------------------------------------------------------------------------------- */
/* Helpers */

static struct config *parse_ok_n(const char *text, size_t size)
{
        _cleanup_free_ char *why = NULL;
        struct config *c = NULL;
        int r;

        r = config_parse("x.conf", text, size, &c, &why);
        if (r < 0)
                fail_msg("parse failed (%d): %s", r, strna(why));
        assert_non_null(c);
        assert_null(why);
        return c;
}

static struct config *parse_ok(const char *text)
{
        return parse_ok_n(text, strlen(text));
}

static void check_error_n(const char *text, size_t size, const char *expected)
{
        _cleanup_free_ char *why = NULL;
        struct config *c = NULL;
        int r;

        r = config_parse("x.conf", text, size, &c, &why);
        if (r >= 0) {
                config_free(c);
                fail_msg("parse succeeded, expected: %s", expected);
        }
        assert_int_equal(r, -EINVAL);
        assert_null(c);
        assert_non_null(why);
        assert_string_equal(why, expected);
}

static void check_error(const char *text, const char *expected)
{
        check_error_n(text, strlen(text), expected);
}

static char *fixture_path(const char *rel)
{
        const char *dir = getenv("FIXTURES");
        char *p;

        if (!dir)
                fail_msg("$FIXTURES is not set (run through meson test)");
        assert_true(asprintf(&p, "%s/%s", dir, rel) >= 0);
        return p;
}

/* Fixtures are parsed from memory: a checkout made under umask 002 leaves them group-writable,
 * which config_load rightly refuses. Messages name the fixture relative to $FIXTURES. */
static int parse_fixture(const char *rel, struct config **ret, char **why)
{
        _cleanup_free_ char *path = fixture_path(rel), *text = NULL;
        size_t size;

        assert_int_equal(read_full_file(path, 4 << 20, &text, &size), 0);
        return config_parse(rel, text, size, ret, why);
}

static char *tmp_file(const char *name, const void *data, size_t size, mode_t mode)
{
        _cleanup_close_ int fd = -1;
        char *path;

        assert_true(asprintf(&path, "%s/%s", tmpdir, name) >= 0);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_true(write(fd, data, size) == (ssize_t)size);
        assert_int_equal(fchmod(fd, mode), 0);
        return path;
}

static char *tmp_text(const char *name, const char *text, mode_t mode)
{
        return tmp_file(name, text, strlen(text), mode);
}

static void check_load_error(const char *path, bool must_exist, int error, const char *expected)
{
        _cleanup_free_ char *why = NULL;
        struct config *c = (struct config *)(uintptr_t)0x1; /* must stay untouched */
        int r;

        r = config_load(path, must_exist, &c, &why);
        assert_int_equal(r, error);
        assert_ptr_equal(c, (struct config *)(uintptr_t)0x1);
        assert_non_null(why);
        assert_string_equal(why, expected);
}

static void assert_strv_equal(char **l, ...)
{
        va_list ap;
        size_t i = 0;
        const char *s;

        assert_non_null(l);
        va_start(ap, l);
        while ((s = va_arg(ap, const char *))) {
                if (!l[i])
                        fail_msg("vector ends after %zu strings, expected '%s' next", i, s);
                assert_string_equal(l[i], s);
                i++;
        }
        va_end(ap);
        if (l[i])
                fail_msg("vector has an extra string '%s' at %zu", l[i], i);
}

#define assert_strv(l, ...) assert_strv_equal((l), __VA_ARGS__, (const char *)NULL)

static void assert_defaults(const struct config *c)
{
        assert_true(c->dualroot);
        assert_strv(c->rsync_opts, "-axHAXt");
        assert_int_equal(c->nice, 15);
        assert_int_equal(c->ionice_class, 3);
        assert_int_equal(c->ionice_level, 7);
        assert_int_equal(c->sync_delay, 300 * USEC_PER_SEC);
        assert_int_equal(c->settle_time, 5 * USEC_PER_SEC);
        assert_int_equal(c->max_wait, 120 * USEC_PER_SEC);
        assert_string_equal(c->rsync_path, "/usr/bin/rsync");
        assert_int_equal(c->rsync_timeout, 3600 * USEC_PER_SEC);
        assert_int_equal(c->lock_timeout, 300 * USEC_PER_SEC);
        assert_null(c->esp_mounts);
        assert_strv(c->esp_excludes, "/loader/random-seed");
        assert_null(c->items);
        assert_int_equal(c->n_items, 0);
}

static void assert_item(const struct sync_item *i, unsigned line, const char *source)
{
        assert_int_equal(i->line, line);
        assert_string_equal(i->source, source);
}

static int setup_tmpdir(void **state)
{
        const char *base = getenv("TMPDIR");

        if (asprintf(&tmpdir, "%s/test-config-XXXXXX", base ? base : "/tmp") < 0)
                return -1;
        return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmpdir(void **state)
{
        DIR *d = opendir(tmpdir);
        struct dirent *de;

        if (d) {
                while ((de = readdir(d)))
                        if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                                (void)unlinkat(dirfd(d), de->d_name, 0);
                closedir(d);
        }
        (void)rmdir(tmpdir);
        free(tmpdir);
        return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Defaults, loading, file safety */

static void test_defaults_match_config_h(void **state)
{
        _cleanup_config_free_ struct config *c = config_new_default();

        assert_non_null(c);
        assert_null(c->path);
        assert_defaults(c);
}

static void test_missing_optional_file_gives_defaults(void **state)
{
        _cleanup_free_ char *path = NULL, *why = NULL;
        _cleanup_config_free_ struct config *c = NULL;

        assert_true(asprintf(&path, "%s/absent.conf", tmpdir) >= 0);
        assert_int_equal(config_load(path, false, &c, &why), 0);
        assert_null(why);
        assert_null(c->path);
        assert_defaults(c);
}

static void test_missing_required_file_is_error(void **state)
{
        _cleanup_free_ char *path = NULL, *expected = NULL;

        assert_true(asprintf(&path, "%s/absent.conf", tmpdir) >= 0);
        assert_true(asprintf(&expected, "%s: cannot open: No such file or directory", path) >= 0);
        check_load_error(path, true, -ENOENT, expected);
}

static void test_load_reads_file_and_records_path(void **state)
{
        _cleanup_free_ char *path = tmp_text("ok.conf", "nice = 3\n", 0644), *why = NULL;
        _cleanup_config_free_ struct config *c = NULL;

        assert_int_equal(config_load(path, true, &c, &why), 0);
        assert_string_equal(c->path, path);
        assert_int_equal(c->nice, 3);
}

static void test_load_accepts_private_and_read_only_modes(void **state)
{
        static const mode_t modes[] = { 0644, 0640, 0600, 0444, 0400 };

        for (size_t i = 0; i < ELEMENTSOF(modes); i++) {
                _cleanup_free_ char *name = NULL, *path = NULL, *why = NULL;
                _cleanup_config_free_ struct config *c = NULL;

                /* One file per mode: a read-only one cannot be rewritten by a non-root user. */
                assert_true(asprintf(&name, "mode-%04o.conf", modes[i]) >= 0);
                path = tmp_text(name, "nice = 1\n", modes[i]);
                if (config_load(path, true, &c, &why) < 0)
                        fail_msg("mode %04o refused: %s", modes[i], strna(why));
        }
}

static void test_load_refuses_group_writable_file(void **state)
{
        _cleanup_free_ char *path = tmp_text("g.conf", "nice = 1\n", 0664), *expected = NULL;

        assert_true(asprintf(&expected,
                             "%s: writable by group (mode 0664), expected no write permission for "
                             "group or others (chmod go-w; the file names the rsync program run "
                             "as root)",
                             path) >= 0);
        check_load_error(path, true, -EPERM, expected);
}

static void test_load_refuses_world_writable_file(void **state)
{
        _cleanup_free_ char *path = tmp_text("o.conf", "nice = 1\n", 0602), *expected = NULL;

        assert_true(asprintf(&expected,
                             "%s: writable by others (mode 0602), expected no write permission "
                             "for group or others (chmod go-w; the file names the rsync program "
                             "run as root)",
                             path) >= 0);
        check_load_error(path, true, -EPERM, expected);
}

static void test_load_refuses_mode_0666(void **state)
{
        _cleanup_free_ char *path = tmp_text("go.conf", "", 0666), *expected = NULL;

        assert_true(asprintf(&expected,
                             "%s: writable by group and others (mode 0666), expected no write "
                             "permission for group or others (chmod go-w; the file names the "
                             "rsync program run as root)",
                             path) >= 0);
        /* Even an empty file: what matters is who could have written it. */
        check_load_error(path, false, -EPERM, expected);
}

static void test_load_refuses_file_of_another_user(void **state)
{
        _cleanup_free_ char *path = NULL, *expected = NULL;

        /* Only root can give a file away. Checked first: skip() does not run cleanups. */
        if (geteuid() != 0)
                skip();
        path = tmp_text("u.conf", "nice = 1\n", 0644);
        assert_int_equal(chown(path, 12345, (gid_t)-1), 0);
        assert_true(asprintf(&expected,
                             "%s: owned by uid 12345, expected root (the file names the rsync "
                             "program run as root)",
                             path) >= 0);
        check_load_error(path, true, -EPERM, expected);
}

static void test_load_refuses_directory(void **state)
{
        _cleanup_free_ char *expected = NULL;

        assert_true(asprintf(&expected, "%s: is a directory, expected a regular file", tmpdir) >=
                    0);
        check_load_error(tmpdir, false, -EISDIR, expected);
}

static void test_load_refuses_fifo_without_blocking(void **state)
{
        _cleanup_free_ char *path = NULL, *expected = NULL;

        assert_true(asprintf(&path, "%s/fifo.conf", tmpdir) >= 0);
        assert_int_equal(mkfifo(path, 0600), 0);
        assert_true(asprintf(&expected, "%s: is not a regular file, expected a regular file",
                             path) >= 0);
        check_load_error(path, true, -EINVAL, expected);
}

static void test_load_follows_symlink(void **state)
{
        _cleanup_free_ char *target = tmp_text("target.conf", "nice = 4\n", 0644);
        _cleanup_free_ char *link = NULL, *why = NULL;
        _cleanup_config_free_ struct config *c = NULL;

        assert_true(asprintf(&link, "%s/link.conf", tmpdir) >= 0);
        assert_int_equal(symlink(target, link), 0);
        assert_int_equal(config_load(link, true, &c, &why), 0);
        assert_int_equal(c->nice, 4);
        assert_string_equal(c->path, link);
}

static void test_load_refuses_dangling_symlink_even_when_optional(void **state)
{
        _cleanup_free_ char *link = NULL, *target = NULL, *expected = NULL;

        assert_true(asprintf(&link, "%s/dangling.conf", tmpdir) >= 0);
        assert_true(asprintf(&target, "%s/gone.conf", tmpdir) >= 0);
        assert_int_equal(symlink(target, link), 0);
        assert_true(asprintf(&expected,
                             "%s: cannot open: symbolic link to a missing file, expected the file "
                             "or no link at all",
                             link) >= 0);
        check_load_error(link, false, -ENOENT, expected);
}

static void test_load_refuses_file_over_1mib(void **state)
{
        size_t size = 1024 * 1024 + 1;
        _cleanup_free_ char *text = malloc(size), *path = NULL, *expected = NULL;

        assert_non_null(text);
        memset(text, '#', size);
        path = tmp_file("big.conf", text, size, 0644);
        assert_true(asprintf(&expected, "%s: file is 1048577 bytes, expected at most 1 MiB",
                             path) >= 0);
        check_load_error(path, true, -EFBIG, expected);
}

static void test_load_accepts_exactly_1mib(void **state)
{
        size_t size = 1024 * 1024;
        _cleanup_free_ char *text = malloc(size), *path = NULL, *why = NULL;
        _cleanup_config_free_ struct config *c = NULL;

        assert_non_null(text);
        memset(text, '#', size);
        path = tmp_file("1mib.conf", text, size, 0644);
        assert_int_equal(config_load(path, true, &c, &why), 0);
        assert_defaults(c);
}

static void test_parse_refuses_text_over_1mib(void **state)
{
        _cleanup_free_ char *why = NULL;
        struct config *c = NULL;

        /* The size is checked before the text is read. */
        assert_int_equal(config_parse("x.conf", "", 1024 * 1024 + 1, &c, &why), -EFBIG);
        assert_null(c);
        assert_string_equal(why, "x.conf: file is 1048577 bytes, expected at most 1 MiB");
}

static void test_parse_works_without_why(void **state)
{
        struct config *c = NULL;

        assert_int_equal(config_parse("x.conf", "nice = 99", 9, &c, NULL), -EINVAL);
        assert_null(c);
}

/* ---------------------------------------------------------------------------------------- */
/* Valid files */

static void test_empty_file_gives_defaults(void **state)
{
        _cleanup_config_free_ struct config *c = parse_ok("");

        assert_string_equal(c->path, "x.conf");
        assert_defaults(c);
}

static void test_comments_and_blank_lines_give_defaults(void **state)
{
        _cleanup_config_free_ struct config *c =
                parse_ok("# comment\n\n   \t\n  # indented comment\n#nice = 1\n");

        assert_defaults(c);
}

static void test_sample_config_parses_to_defaults(void **state)
{
        _cleanup_free_ char *why = NULL;
        _cleanup_config_free_ struct config *c = NULL;

        if (parse_fixture("../../etc/sync-daemon.conf.sample", &c, &why) < 0)
                fail_msg("%s", strna(why));
        assert_defaults(c);
}

static void test_sample_config_shows_every_key_with_its_default(void **state)
{
        _cleanup_free_ char *path = fixture_path("../../etc/sync-daemon.conf.sample");
        _cleanup_free_ char *text = NULL, *why = NULL, *single = NULL;
        _cleanup_config_free_ struct config *c = NULL, *c1 = NULL;
        unsigned settings = 0;
        char *s, *w;
        size_t size;

        /* Uncomment every "#key = ..." line and the lines continuing an array ("#        [",
         * "#]"). Both sync examples would then be set: the single-item one is parsed apart. */
        assert_int_equal(read_full_file(path, 1 << 20, &text, &size), 0);
        for (s = w = text; *s;) {
                char *eol = strchrnul(s, '\n');
                bool setting = s[0] == '#' && s[1] >= 'a' && s[1] <= 'z' && strstr(s, " = ") &&
                               strstr(s, " = ") < eol;
                bool continuation =
                        s[0] == '#' && (s[1] == ']' || strncmp(s + 1, "        [", 9) == 0);
                size_t n;

                settings += setting;
                if (setting || continuation)
                        s++;
                n = (size_t)(eol - s) + (*eol ? 1 : 0);
                if (startswith(s, "sync = [\"/home\"")) {
                        single = strndup(s, n);
                        assert_non_null(single);
                } else {
                        memmove(w, s, n);
                        w += n;
                }
                s += n;
        }
        *w = 0;
        /* 20 settings (ionice_value is the alias of ionice_level) and the second sync example. */
        assert_int_equal(settings, 21);
        if (config_parse("sample", text, strlen(text), &c, &why) < 0)
                fail_msg("%s\n%s", strna(why), text);

        /* Everything but the examples shows the default value. */
        assert_true(c->dualroot);
        assert_strv(c->rsync_opts, "-axHAXt");
        assert_int_equal(c->nice, 15);
        assert_int_equal(c->ionice_class, 3);
        assert_int_equal(c->ionice_level, 7);
        assert_int_equal(c->sync_delay, 300 * USEC_PER_SEC);
        assert_int_equal(c->settle_time, 5 * USEC_PER_SEC);
        assert_int_equal(c->max_wait, 120 * USEC_PER_SEC);
        assert_string_equal(c->rsync_path, "/usr/bin/rsync");
        assert_int_equal(c->rsync_timeout, 3600 * USEC_PER_SEC);
        assert_int_equal(c->lock_timeout, 300 * USEC_PER_SEC);
        assert_strv(c->esp_excludes, "/loader/random-seed");

        assert_strv(c->esp_mounts, "/efi0", "/efi1");
        /* approach 2 end to end: the per-disk files are swapped (swap_ids), not excluded */
        assert_int_equal(c->n_items, 5);
        assert_item(&c->items[0], c->items[0].line, "/boot/");
        assert_strv(c->items[0].excludes, NULL);
        assert_item(&c->items[1], c->items[0].line + 1, "/etc/");
        assert_item(&c->items[2], c->items[0].line + 2, "/usr/");
        assert_item(&c->items[3], c->items[0].line + 3, "/");
        assert_strv(c->items[3].excludes, "/boot/", "/efi/", "/etc/", "/usr/", "/home/", "/mnt/",
                    "/tmp/");
        assert_item(&c->items[4], c->items[0].line + 4, "/home/");
        assert_strv(c->swap_ids, NULL);

        assert_non_null(single);
        c1 = parse_ok(single);
        assert_int_equal(c1->n_items, 1);
        assert_item(&c1->items[0], 1, "/home");
        assert_strv(c1->items[0].dests, "/mnt/backups");
}

/* config_print() into a string. */
static char *print_to_string(const struct config *c)
{
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        assert_non_null(f);
        config_print(c, f);
        assert_int_equal(fclose(f), 0);
        return buf;
}

static void test_check_config_prints_every_default(void **state)
{
        _cleanup_config_free_ struct config *c = config_new_default();
        _cleanup_free_ char *out = NULL;

        assert_non_null(c);
        out = print_to_string(c);
        assert_string_equal(out, "config:        (none, defaults)\n"
                                 "dualroot:      true\n"
                                 "rsync_opts:    -axHAXt\n"
                                 "nice:          15\n"
                                 "ionice:        class 3, level 7\n"
                                 "sync_delay:    5m0s\n"
                                 "settle_time:   5s\n"
                                 "max_wait:      2m0s\n"
                                 "rsync_path:    /usr/bin/rsync\n"
                                 "rsync_timeout: 1h0m\n"
                                 "lock_timeout:  5m0s\n"
                                 "esp_mounts:    (every /efi<N> mount point)\n"
                                 "esp_excludes:  /loader/random-seed\n"
                                 "esp_min_free:  0\n"
                                 "prove_max_age: 2160h0m\n"
                                 "fix_boot_entries:  warn\n"
                                 "swap_ids:      (none)\n"
                                 "alt_root:      /mnt/root1\n"
                                 "boot_trees:    auto (a sync tree holding loader/entries, "
                                 "EFI/Linux or a file an ESP's entry names, or on an XBOOTLDR "
                                 "partition)\n");
}

static void test_check_config_prints_set_values(void **state)
{
        _cleanup_config_free_ struct config *c =
                parse_ok("rsync_opts = \"-a --numeric-ids\"\nesp_mounts = [\"/efi0\", \"/efi1\"]\n"
                         "esp_excludes = []\nsettle_time = 2.5\n"
                         "sync = [[\"/a\", [\"/b\", \"/c\"], [\"x\", \"y\"]], [\"/d\", \"/e\"]]\n");
        _cleanup_free_ char *out = print_to_string(c);

        assert_string_equal(out, "config:        x.conf\n"
                                 "dualroot:      true\n"
                                 "rsync_opts:    -a --numeric-ids\n"
                                 "nice:          15\n"
                                 "ionice:        class 3, level 7\n"
                                 "sync_delay:    5m0s\n"
                                 "settle_time:   2.5s\n"
                                 "max_wait:      2m0s\n"
                                 "rsync_path:    /usr/bin/rsync\n"
                                 "rsync_timeout: 1h0m\n"
                                 "lock_timeout:  5m0s\n"
                                 "esp_mounts:    /efi0, /efi1\n"
                                 "esp_excludes:  (none)\n"
                                 "esp_min_free:  0\n"
                                 "prove_max_age: 2160h0m\n"
                                 "fix_boot_entries:  warn\n"
                                 "sync[0]:       /a -> /b, /c  excluding x, y\n"
                                 "sync[1]:       /d -> /e\n"
                                 "swap_ids:      (none)\n"
                                 "alt_root:      /mnt/root1\n"
                                 "boot_trees:    auto (a sync tree holding loader/entries, "
                                 "EFI/Linux or a file an ESP's entry names, or on an XBOOTLDR "
                                 "partition)\n");
}

/*
 * Every key of the schema is shown in the sample as "#key = value", and (but for the two
 * examples) with its default: uncommented alone, it changes nothing --check-config prints.
 */
static void test_sample_config_documents_every_key(void **state)
{
        _cleanup_free_ char *path = fixture_path("../../etc/sync-daemon.conf.sample");
        _cleanup_free_ char *text = NULL, *defaults = NULL;
        _cleanup_config_free_ struct config *d = config_new_default();
        const char *name;
        size_t size, i;

        assert_int_equal(read_full_file(path, 1 << 20, &text, &size), 0);
        assert_non_null(d);
        defaults = print_to_string(d);
        for (i = 0; (name = config_key_name(i)); i++) {
                _cleanup_free_ char *needle = NULL, *setting = NULL, *why = NULL, *out = NULL;
                _cleanup_config_free_ struct config *c = NULL;
                bool example = streq(name, "esp_mounts") || streq(name, "sync");
                const char *at, *end;
                char *w;

                assert_true(asprintf(&needle, "\n#%s = ", name) >= 0);
                at = strstr(text, needle);
                if (!at)
                        fail_msg("the sample config has no line '#%s = ...'", name);
                at += 2;
                /* A value that opens an array on its line runs to the line "#]". */
                end = strchrnul(at, '\n');
                if (end[-1] == '[') {
                        end = strstr(at, "\n#]");
                        assert_non_null(end);
                        end += 3;
                }
                setting = strndup(at, (size_t)(end - at));
                assert_non_null(setting);
                /* Uncomment: drop the '#' that starts each line. */
                w = setting;
                for (const char *s = setting; *s; s++)
                        if (!(*s == '#' && (s == setting || s[-1] == '\n')))
                                *w++ = *s;
                *w = 0;
                if (config_parse("sample", setting, strlen(setting), &c, &why) < 0)
                        fail_msg("sample line of %s: %s\n%s", name, strna(why), setting);
                free(c->path);
                c->path = NULL;
                out = print_to_string(c);
                if (example && streq(out, defaults))
                        fail_msg("the example of %s sets nothing: %s", name, setting);
                if (!example && !streq(out, defaults))
                        fail_msg("the sample shows %s with a value that is not its default: %s",
                                 name, setting);
        }
        assert_int_equal(i, 20);
}

static void test_original_approach2_sample_parses(void **state)
{
        _cleanup_free_ char *why = NULL;
        _cleanup_config_free_ struct config *c = NULL;

        if (parse_fixture("config/valid/original-approach2.conf", &c, &why) < 0)
                fail_msg("%s", strna(why));
        assert_false(c->dualroot);
        assert_int_equal(c->nice, 15);
        assert_int_equal(c->ionice_class, 3);
        assert_int_equal(c->ionice_level, 7);
        assert_int_equal(c->sync_delay, 300 * USEC_PER_SEC);
        assert_strv(c->rsync_opts, "-axHAXt");
        assert_int_equal(c->n_items, 3);
        assert_item(&c->items[0], 17, "/efi/EFI");
        assert_strv(c->items[0].dests, "/mnt/root1/efi/");
        assert_strv(c->items[0].excludes, NULL);
        assert_item(&c->items[1], 18, "/boot");
        assert_strv(c->items[1].dests, "/mnt/root1/");
        assert_strv(c->items[1].excludes, "/boot/loader");
        assert_item(&c->items[2], 19, "/etc");
        assert_strv(c->items[2].dests, "/mnt/root1/");
        assert_strv(c->items[2].excludes, "/etc/fstab");
}

static void test_original_single_item_form_parses(void **state)
{
        _cleanup_free_ char *why = NULL;
        _cleanup_config_free_ struct config *c = NULL;

        if (parse_fixture("config/valid/original-single-item.conf", &c, &why) < 0)
                fail_msg("%s", strna(why));
        assert_false(c->dualroot);
        assert_int_equal(c->n_items, 1);
        assert_item(&c->items[0], 3, "/home");
        assert_strv(c->items[0].dests, "/mnt/backups");
        assert_strv(c->items[0].excludes, NULL);
}

static void test_every_key_is_applied(void **state)
{
        _cleanup_free_ char *why = NULL;
        _cleanup_config_free_ struct config *c = NULL;

        if (parse_fixture("config/valid/all-keys.conf", &c, &why) < 0)
                fail_msg("%s", strna(why));
        assert_string_equal(c->path, "config/valid/all-keys.conf");
        assert_true(c->dualroot);
        assert_strv(c->rsync_opts, "-aHAX", "--numeric-ids");
        assert_int_equal(c->nice, -5);
        assert_int_equal(c->ionice_class, 2);
        assert_int_equal(c->ionice_level, 4);
        assert_int_equal(c->sync_delay, 60 * USEC_PER_SEC);
        assert_int_equal(c->settle_time, 2500 * USEC_PER_MSEC);
        assert_int_equal(c->max_wait, 600 * USEC_PER_SEC);
        assert_string_equal(c->rsync_path, "/usr/local/bin/rsync");
        assert_int_equal(c->rsync_timeout, 0);
        assert_int_equal(c->lock_timeout, 1800 * USEC_PER_SEC);
        assert_strv(c->esp_mounts, "/efi0", "/efi1", "/efi2");
        assert_strv(c->esp_excludes, NULL);
        assert_int_equal(c->esp_min_free, 64);
        assert_int_equal(c->n_items, 2);
        assert_item(&c->items[0], 18, "/srv/www/");
        assert_strv(c->items[0].dests, "/mnt/root1/srv/www/", "/mnt/root2/srv/www/");
        assert_strv(c->items[0].excludes, "*.tmp", "/cache/");
        assert_item(&c->items[1], 19, "/opt");
        assert_strv(c->items[1].dests, "/mnt/root1/");
        assert_strv(c->boot_trees, "/opt");
}

static void test_sync_list_of_one_item(void **state)
{
        _cleanup_config_free_ struct config *c = parse_ok("sync = [[\"/a\", \"/b\", [\"x\"]]]");

        assert_int_equal(c->n_items, 1);
        assert_item(&c->items[0], 1, "/a");
        assert_strv(c->items[0].dests, "/b");
        assert_strv(c->items[0].excludes, "x");
}

static void test_sync_single_item_with_destination_list(void **state)
{
        _cleanup_config_free_ struct config *c =
                parse_ok("sync = [\"/srv/\", [\"/mnt/a/\", \"/mnt/b/\"], [\"*.tmp\"]]");

        assert_int_equal(c->n_items, 1);
        assert_strv(c->items[0].dests, "/mnt/a/", "/mnt/b/");
        assert_strv(c->items[0].excludes, "*.tmp");
}

static void test_sync_empty_array_means_no_items(void **state)
{
        _cleanup_config_free_ struct config *c = parse_ok("sync = []\n");

        assert_int_equal(c->n_items, 0);
        assert_null(c->items);
}

static void test_sync_paths_are_kept_exactly_as_written(void **state)
{
        /* Trailing slashes change what rsync copies; doubled ones and UTF-8 are kept too. */
        _cleanup_config_free_ struct config *c =
                parse_ok("sync = [[\"/boot/\", \"/mnt//root1/\"], ['/srv/café', '/mnt/ü']]");

        assert_item(&c->items[0], 1, "/boot/");
        assert_strv(c->items[0].dests, "/mnt//root1/");
        assert_item(&c->items[1], 1, "/srv/café");
        assert_strv(c->items[1].dests, "/mnt/ü");
}

static void test_sync_item_line_is_where_item_starts(void **state)
{
        _cleanup_config_free_ struct config *c = parse_ok("sync = [\n"
                                                          "  # first\n"
                                                          "  [\n"
                                                          "    \"/a\",\n"
                                                          "    \"/b\",\n"
                                                          "  ],\n"
                                                          "\n"
                                                          "  [\"/c\", \"/d\"]\n"
                                                          "]\n");

        assert_int_equal(c->n_items, 2);
        assert_item(&c->items[0], 3, "/a");
        assert_item(&c->items[1], 8, "/c");
}

static void test_arrays_span_lines_with_comments_and_trailing_commas(void **state)
{
        _cleanup_config_free_ struct config *c = parse_ok("esp_excludes = [ # patterns\n"
                                                          "  \"/a\" , # first\n"
                                                          "\n"
                                                          "  # between\n"
                                                          "  \"/b\",\n"
                                                          "  ]  # done\n"
                                                          "nice = 2\n");

        assert_strv(c->esp_excludes, "/a", "/b");
        assert_int_equal(c->nice, 2);
}

static void test_comment_may_follow_value_without_blank(void **state)
{
        _cleanup_config_free_ struct config *c = parse_ok("nice = 3# three\ndualroot = false#x");

        assert_int_equal(c->nice, 3);
        assert_false(c->dualroot);
}

static void test_blanks_around_keys_and_values_are_ignored(void **state)
{
        _cleanup_config_free_ struct config *c = parse_ok("\t nice\t=\t3 \t\n  dualroot=false");

        assert_int_equal(c->nice, 3);
        assert_false(c->dualroot);
}

static void test_crlf_line_ends_are_accepted(void **state)
{
        _cleanup_config_free_ struct config *c =
                parse_ok("nice = 3\r\n# c\r\nsync = [\r\n  \"/a\", # c\r\n  \"/b\",\r\n]\r\n");

        assert_int_equal(c->nice, 3);
        assert_item(&c->items[0], 3, "/a");
        assert_strv(c->items[0].dests, "/b");
}

static void test_byte_order_mark_is_skipped(void **state)
{
        _cleanup_config_free_ struct config *c = parse_ok("\xEF\xBB\xBFnice = 3\n");

        assert_int_equal(c->nice, 3);
        /* ... and does not count as a column. */
        check_error("\xEF\xBB\xBFnice = 30",
                    "x.conf:1:8: nice = 30 is out of range, expected -20..19");
}

static void test_integers_in_every_toml_form(void **state)
{
        static const struct {
                const char *text;
                int nice;
        } cases[] = {
                { "nice = 7", 7 },     { "nice = +7", 7 },      { "nice = -20", -20 },
                { "nice = -0", 0 },    { "nice = +0", 0 },      { "nice = 1_9", 19 },
                { "nice = 0x13", 19 }, { "nice = 0xF", 15 },    { "nice = 0x0_f", 15 },
                { "nice = 0o17", 15 }, { "nice = 0b1010", 10 }, { "nice = 0b0_1", 1 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_config_free_ struct config *c = parse_ok(cases[i].text);

                if (c->nice != cases[i].nice)
                        fail_msg("%s gave %d", cases[i].text, c->nice);
        }
}

static void test_durations_accept_integers_and_floats(void **state)
{
        static const struct {
                const char *text;
                usec_t usec;
        } cases[] = {
                { "sync_delay = 0", 0 },
                { "sync_delay = 1_800", 1800 * USEC_PER_SEC },
                { "sync_delay = 1.5", 1500 * USEC_PER_MSEC },
                { "sync_delay = 2.5e1", 25 * USEC_PER_SEC },
                { "sync_delay = 3E2", 300 * USEC_PER_SEC },
                { "sync_delay = 1e-6", 1 },
                { "sync_delay = 0.000_001", 1 },
                { "sync_delay = 1_0.2_5", 10250 * USEC_PER_MSEC },
                { "sync_delay = -0.0", 0 },
                { "sync_delay = +0.5", 500 * USEC_PER_MSEC },
                { "sync_delay = 31536000", 31536000 * USEC_PER_SEC },
                { "sync_delay = 0x10", 16 * USEC_PER_SEC },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_config_free_ struct config *c = parse_ok(cases[i].text);

                if (c->sync_delay != cases[i].usec)
                        fail_msg("%s gave %" PRIu64 " usec", cases[i].text, c->sync_delay);
        }
}

static void test_every_duration_key_converts_to_usec(void **state)
{
        _cleanup_config_free_ struct config *c = parse_ok("sync_delay = 1\n"
                                                          "settle_time = 2\n"
                                                          "max_wait = 3\n"
                                                          "rsync_timeout = 4\n"
                                                          "lock_timeout = 5\n");

        assert_int_equal(c->sync_delay, 1 * USEC_PER_SEC);
        assert_int_equal(c->settle_time, 2 * USEC_PER_SEC);
        assert_int_equal(c->max_wait, 3 * USEC_PER_SEC);
        assert_int_equal(c->rsync_timeout, 4 * USEC_PER_SEC);
        assert_int_equal(c->lock_timeout, 5 * USEC_PER_SEC);
}

static void test_settle_time_equal_to_max_wait_is_fine(void **state)
{
        _cleanup_config_free_ struct config *c = parse_ok("settle_time = 7\nmax_wait = 7.0\n");

        assert_int_equal(c->settle_time, c->max_wait);
}

static void test_basic_string_escapes_are_decoded(void **state)
{
        _cleanup_config_free_ struct config *c =
                parse_ok("esp_excludes = [\"a\\tb\\\"c\\\\d\", \"\\u00e9\\U0001F600\", "
                         "\"\\b\\n\\f\\r\"]\n"
                         "rsync_path = \"/usr/bin/\\u0072sync\"");

        assert_strv(c->esp_excludes, "a\tb\"c\\d", "é😀", "\b\n\f\r");
        assert_string_equal(c->rsync_path, "/usr/bin/rsync");
}

static void test_literal_string_is_taken_verbatim(void **state)
{
        _cleanup_config_free_ struct config *c = parse_ok("esp_excludes = ['\\*.bak', 'a\"b\\t']");

        assert_strv(c->esp_excludes, "\\*.bak", "a\"b\\t");
}

static void test_rsync_opts_split_on_blanks(void **state)
{
        _cleanup_config_free_ struct config *c =
                parse_ok("rsync_opts = \"  -aHAX   --numeric-ids\\t-v \"");

        assert_strv(c->rsync_opts, "-aHAX", "--numeric-ids", "-v");
}

static void test_empty_rsync_opts_means_default(void **state)
{
        _cleanup_config_free_ struct config *c = parse_ok("rsync_opts = \"\"");
        _cleanup_config_free_ struct config *c2 = parse_ok("rsync_opts = '  \t '");

        assert_strv(c->rsync_opts, "-axHAXt");
        assert_strv(c2->rsync_opts, "-axHAXt");
}

static void test_ionice_value_is_alias_of_ionice_level(void **state)
{
        _cleanup_config_free_ struct config *c = parse_ok("ionice_value = 2");

        assert_int_equal(c->ionice_level, 2);
}

static void test_empty_esp_excludes_clears_default(void **state)
{
        _cleanup_config_free_ struct config *c = parse_ok("esp_excludes = []");

        assert_strv(c->esp_excludes, NULL);
}

static void test_esp_mounts_are_stored_normalized(void **state)
{
        _cleanup_config_free_ struct config *c = parse_ok("esp_mounts = [\"/efi0/\", \"//efi1\"]");

        assert_strv(c->esp_mounts, "/efi0", "/efi1");
}

static void test_why_untouched_on_success(void **state)
{
        char *why = NULL;
        struct config *c = NULL;

        assert_int_equal(config_parse("x.conf", "nice = 1", 8, &c, &why), 0);
        assert_null(why);
        config_free(c);
}

/* ---------------------------------------------------------------------------------------- */
/* Syntax errors */

static void test_error_missing_value_at_end_of_line(void **state)
{
        check_error("# c\n\n\ndualroot = \n",
                    "x.conf:4:12: expected a value (string, number, boolean or array), found end "
                    "of line");
}

static void test_error_missing_value_at_end_of_file(void **state)
{
        check_error("nice =", "x.conf:1:7: expected a value (string, number, boolean or array), "
                              "found end of file");
}

static void test_error_missing_value_before_comment(void **state)
{
        check_error("nice = # none",
                    "x.conf:1:8: expected a value (string, number, boolean or array), found a "
                    "comment");
}

static void test_error_missing_equals(void **state)
{
        check_error("nice 5", "x.conf:1:6: expected '=' after key 'nice', found '5'");
        check_error("nice", "x.conf:1:5: expected '=' after key 'nice', found end of file");
}

static void test_error_line_not_starting_with_key(void **state)
{
        check_error("nice = 1\n= 2", "x.conf:2:1: expected a key (letters, digits, '_' and '-'), "
                                     "found '='");
        check_error("  é = 2", "x.conf:1:3: expected a key (letters, digits, '_' and '-'), found "
                               "'é'");
}

static void test_error_unknown_key_suggests_nearest(void **state)
{
        check_error("dualroot = false\nnice = 15\nsync_dealy = 5\n",
                    "x.conf:3:1: unknown key 'sync_dealy' (did you mean 'sync_delay'?)");
        check_error("ionice_valeu = 3",
                    "x.conf:1:1: unknown key 'ionice_valeu' (did you mean 'ionice_value'?)");
        check_error("esp_mount = []", "x.conf:1:1: unknown key 'esp_mount' (did you mean "
                                      "'esp_mounts'?)");
        check_error("  rsync_opt = ''", "x.conf:1:3: unknown key 'rsync_opt' (did you mean "
                                        "'rsync_opts'?)");
}

static void test_error_unknown_key_suggestion_ignores_case(void **state)
{
        check_error("NICE = 5", "x.conf:1:1: unknown key 'NICE' (did you mean 'nice'?)");
}

static void test_error_unknown_key_lists_known_keys_when_none_is_near(void **state)
{
        check_error("colour = 1", "x.conf:1:1: unknown key 'colour', expected one of: " KNOWN_KEYS);
}

static void test_error_unknown_key_in_original_file(void **state)
{
        _cleanup_free_ char *why = NULL;
        struct config *c = NULL;

        assert_int_equal(parse_fixture("config/invalid/original-typo.conf", &c, &why), -EINVAL);
        assert_string_equal(why, "config/invalid/original-typo.conf:4:1: unknown key 'sync_dealy' "
                                 "(did you mean 'sync_delay'?)");
}

static void test_error_long_key_is_cut_in_message(void **state)
{
        check_error("kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk = 1",
                    "x.conf:1:1: unknown key 'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...', "
                    "expected one of: " KNOWN_KEYS);
}

static void test_error_duplicate_key_names_earlier_line(void **state)
{
        check_error("nice = 1\n\nnice = 2\n", "x.conf:3:1: duplicate key 'nice' (first set on "
                                              "line 1), expected each key at most once");
}

static void test_error_ionice_value_and_ionice_level_together(void **state)
{
        check_error("ionice_level = 1\nionice_value = 2\n",
                    "x.conf:2:1: ionice_value and ionice_level are the same setting "
                    "(ionice_level was set on line 1), expected only one of them");
}

static void test_error_table_is_unsupported(void **state)
{
        _cleanup_free_ char *why = NULL;
        struct config *c = NULL;

        check_error("dualroot = false\n[sync]\n", "x.conf:2:1: tables ([name]) are not supported, "
                                                  "expected key = value (all keys are top-level)");
        assert_int_equal(parse_fixture("config/invalid/table.conf", &c, &why), -EINVAL);
        assert_string_equal(why, "config/invalid/table.conf:3:1: tables ([name]) are not "
                                 "supported, expected key = value (all keys are top-level)");
}

static void test_error_array_table_is_unsupported(void **state)
{
        check_error("  [[sync]]", "x.conf:1:3: array tables ([[name]]) are not supported, "
                                  "expected key = value");
}

static void test_error_dotted_key_is_unsupported(void **state)
{
        check_error("sync.source = 1",
                    "x.conf:1:5: dotted keys are not supported, expected '=' after key 'sync'");
        check_error("sync . source = 1",
                    "x.conf:1:6: dotted keys are not supported, expected '=' after key 'sync'");
}

static void test_error_quoted_key_is_unsupported(void **state)
{
        check_error("\"nice\" = 5", "x.conf:1:1: quoted keys are not supported, expected a bare "
                                    "key (letters, digits, '_' and '-')");
        check_error("'nice' = 5", "x.conf:1:1: quoted keys are not supported, expected a bare "
                                  "key (letters, digits, '_' and '-')");
}

static void test_error_inline_table_is_unsupported(void **state)
{
        check_error("sync = { source = \"/a\" }",
                    "x.conf:1:8: inline tables ({...}) are not supported, expected a string, "
                    "number, boolean or array");
}

static void test_error_date_and_time_are_unsupported(void **state)
{
        check_error("sync_delay = 1979-05-27",
                    "x.conf:1:14: dates and times are not supported, found '1979-05-27', "
                    "expected a string, number, boolean or array");
        check_error("max_wait = 07:32:00",
                    "x.conf:1:12: dates and times are not supported, found '07:32:00', expected "
                    "a string, number, boolean or array");
}

static void test_error_multi_line_strings_are_unsupported(void **state)
{
        check_error("rsync_opts = \"\"\"-a\"\"\"", "x.conf:1:14: multi-line strings (\"\"\") are "
                                                   "not supported, expected a single-line string");
        check_error("rsync_opts = '''-a'''", "x.conf:1:14: multi-line strings (''') are not "
                                             "supported, expected a single-line string");
}

static void test_error_unquoted_string_hint(void **state)
{
        check_error("rsync_path = /usr/bin/rsync",
                    "x.conf:1:14: expected a value (string, number, boolean or array), found "
                    "'/usr/bin/rsync' (strings must be quoted)");
        check_error("dualroot = yes", "x.conf:1:12: expected a value (string, number, boolean or "
                                      "array), found 'yes' (strings must be quoted)");
}

static void test_error_capitalized_boolean_hint(void **state)
{
        check_error("dualroot = True",
                    "x.conf:1:12: expected a value (string, number, boolean or array), found "
                    "'True' (booleans are written true and false, in lower case)");
}

static void test_error_two_values_on_one_line(void **state)
{
        check_error("nice = 5 6", "x.conf:1:10: unexpected '6' after the value of nice, expected "
                                  "end of line or a comment");
        check_error("nice = 5 nice = 6", "x.conf:1:10: unexpected 'nice' after the value of "
                                         "nice, expected end of line or a comment");
}

static void test_error_unterminated_strings(void **state)
{
        check_error("rsync_path = \"/usr/bin/rsync\nnice = 1",
                    "x.conf:1:14: string is not closed on this line, expected a closing '\"' "
                    "(multi-line strings are not supported)");
        check_error("rsync_path = '/usr", "x.conf:1:14: string is not closed on this line, "
                                          "expected a closing \"'\" (multi-line strings are not "
                                          "supported)");
        check_error("rsync_path = \"/usr\\\"", "x.conf:1:14: string is not closed on this line, "
                                               "expected a closing '\"' (multi-line strings are "
                                               "not supported)");
}

static void test_error_invalid_escapes(void **state)
{
        check_error("rsync_path = \"/usr\\qx\"",
                    "x.conf:1:19: invalid escape '\\q', expected one of \\b \\t \\n \\f \\r \\\" "
                    "\\\\ \\uHHHH \\UHHHHHHHH");
        check_error("rsync_path = \"\\x41\"",
                    "x.conf:1:15: invalid escape '\\x', expected one of \\b \\t \\n \\f \\r \\\" "
                    "\\\\ \\uHHHH \\UHHHHHHHH");
        check_error("rsync_path = \"\\u12\"",
                    "x.conf:1:15: invalid escape '\\u12', expected \\u followed by 4 hexadecimal "
                    "digits");
        check_error("rsync_path = \"\\U0001F6\"",
                    "x.conf:1:15: invalid escape '\\U0001F6', expected \\U followed by 8 "
                    "hexadecimal digits");
        check_error("rsync_path = \"/a\\", "x.conf:1:17: backslash at end of line, expected an "
                                           "escape such as \\\\ or \\\" (multi-line strings are "
                                           "not supported)");
}

static void test_error_escape_must_be_unicode_scalar_value(void **state)
{
        check_error("rsync_path = \"\\uDC00\"",
                    "x.conf:1:15: \\uDC00 is not a Unicode scalar value, expected a code point in "
                    "0..D7FF or E000..10FFFF");
        check_error("rsync_path = \"\\U00110000\"",
                    "x.conf:1:15: \\U00110000 is not a Unicode scalar value, expected a code "
                    "point in 0..D7FF or E000..10FFFF");
}

static void test_error_nul_escape(void **state)
{
        check_error("rsync_path = \"/a\\u0000\"",
                    "x.conf:1:17: \\u0000 (NUL) cannot be used, expected a character that can "
                    "appear in a path or option");
}

static void test_error_raw_control_character_in_string(void **state)
{
        check_error("rsync_path = \"/a\x01\"",
                    "x.conf:1:17: control character U+0001 in a string, expected printable text "
                    "or an escape such as \\t");
        check_error("rsync_path = '/a\x7f'",
                    "x.conf:1:17: control character U+007F in a string, expected printable text "
                    "(a basic \"...\" string can escape it)");
}

static void test_tab_is_allowed_in_strings(void **state)
{
        _cleanup_config_free_ struct config *c = parse_ok("esp_excludes = [\"a\tb\", 'c\td']");

        assert_strv(c->esp_excludes, "a\tb", "c\td");
}

static void test_error_control_character_in_comment(void **state)
{
        check_error("nice = 5 # \x1b[31m\n", "x.conf:1:12: control character U+001B in a "
                                             "comment, expected printable text");
}

static void test_error_unterminated_array(void **state)
{
        check_error("sync = [\"/a\",\n  \"/b\"\n",
                    "x.conf:3:1: expected ',' or ']' after an element of the array opened at "
                    "line 1, column 8, found end of file");
        check_error("sync = [\n", "x.conf:2:1: expected a value or ']' in the array opened at "
                                  "line 1, column 8, found end of file");
}

static void test_error_missing_comma_in_array(void **state)
{
        check_error("esp_mounts = [\"/efi0\" \"/efi1\"]",
                    "x.conf:1:23: expected ',' or ']' after an element of the array opened at "
                    "line 1, column 14, found a string");
}

static void test_error_empty_array_element(void **state)
{
        check_error("esp_mounts = [\"/efi0\",,]",
                    "x.conf:1:23: expected a value or ']' in the array opened at line 1, column "
                    "14, found ','");
        check_error("esp_mounts = [,]", "x.conf:1:15: expected a value or ']' in the array "
                                        "opened at line 1, column 14, found ','");
}

static void test_error_arrays_nested_too_deep(void **state)
{
        char text[64] = "sync = ";

        memset(text + 7, '[', 40);
        check_error(text, "x.conf:1:40: arrays nested more than 32 deep, expected at most 32 "
                          "levels");
}

static void test_error_invalid_numbers(void **state)
{
        check_error("nice = 012", "x.conf:1:8: invalid number '012', expected no leading zeros "
                                  "(0o for octal)");
        check_error("nice = 1__0", "x.conf:1:9: invalid number '1__0', expected a digit on both "
                                   "sides of '_'");
        check_error("nice = 1_", "x.conf:1:9: invalid number '1_', expected a digit on both "
                                 "sides of '_'");
        check_error("sync_delay = 1.", "x.conf:1:16: invalid number '1.', expected a decimal "
                                       "digit after the decimal point");
        check_error("sync_delay = 1.e5", "x.conf:1:16: invalid number '1.e5', expected a "
                                         "decimal digit after the decimal point");
        check_error("sync_delay = 1e", "x.conf:1:16: invalid number '1e', expected a decimal "
                                       "digit in the exponent");
        check_error("nice = +0x10", "x.conf:1:8: invalid number '+0x10', expected no sign before "
                                    "a hexadecimal integer");
        check_error("nice = 0x1g", "x.conf:1:11: invalid number '0x1g', expected a hexadecimal "
                                   "digit, found 'g'");
        check_error("nice = 0b", "x.conf:1:10: invalid number '0b', expected a binary digit "
                                 "after '0b'");
        check_error("nice = 0o8", "x.conf:1:10: invalid number '0o8', expected an octal digit "
                                  "after '0o'");
        check_error("nice = 12abc", "x.conf:1:10: invalid number '12abc', expected a decimal "
                                    "digit, found 'a'");
        check_error("nice = +", "x.conf:1:9: invalid number '+', expected a decimal digit after "
                                "the sign");
        check_error("sync_delay = .5", "x.conf:1:14: expected a value (string, number, boolean "
                                       "or array), found '.5' (a float needs a digit before the "
                                       "point)");
}

static void test_error_nul_byte_in_file(void **state)
{
        _cleanup_free_ char *why = NULL;
        struct config *c = NULL;

        assert_int_equal(parse_fixture("config/invalid/nul-byte.conf", &c, &why), -EINVAL);
        assert_string_equal(why, "config/invalid/nul-byte.conf:2:23: NUL byte, expected UTF-8 "
                                 "text");
        check_error_n("nice = 5\0", 9, "x.conf:1:9: NUL byte, expected UTF-8 text");
}

static void test_error_invalid_utf8(void **state)
{
        _cleanup_free_ char *why = NULL;
        struct config *c = NULL;

        assert_int_equal(parse_fixture("config/invalid/latin1.conf", &c, &why), -EINVAL);
        assert_string_equal(why, "config/invalid/latin1.conf:1:6: invalid UTF-8 (byte 0xE9), "
                                 "expected UTF-8 text");
        /* Overlong "/", an encoded surrogate, beyond U+10FFFF, a truncated sequence. */
        check_error("# \xC0\xAF", "x.conf:1:3: invalid UTF-8 (byte 0xC0), expected UTF-8 text");
        check_error("# é\xED\xA0\x80", "x.conf:1:4: invalid UTF-8 (byte 0xED), expected UTF-8 "
                                       "text");
        check_error("# \xF4\x90\x80\x80", "x.conf:1:3: invalid UTF-8 (byte 0xF4), expected UTF-8 "
                                          "text");
        check_error("# \xE2\x82", "x.conf:1:3: invalid UTF-8 (byte 0xE2), expected UTF-8 text");
}

static void test_error_lone_carriage_return(void **state)
{
        check_error("nice = 5\rnice = 6\n", "x.conf:1:9: carriage return without a line feed, "
                                            "expected LF or CRLF line ends");
}

static void test_error_column_counts_characters_not_bytes(void **state)
{
        check_error("esp_excludes = [\"é\", 1]",
                    "x.conf:1:22: esp_excludes entry must be a non-empty string (an rsync "
                    "pattern), found an integer");
        check_error("# ü\nesp_excludes = ['😀😀', 1]",
                    "x.conf:2:23: esp_excludes entry must be a non-empty string (an rsync "
                    "pattern), found an integer");
}

static void test_error_message_escapes_control_characters(void **state)
{
        check_error("rsync_path = \"a\\u001b[2J\\u0085\"",
                    "x.conf:1:14: rsync_path 'a\\u001B[2J\\u0085' is not an absolute path, "
                    "expected a path starting with '/'");
}

static void test_error_first_error_in_file_order_wins(void **state)
{
        check_error("nice = 99\nionice_class = 9\n",
                    "x.conf:1:8: nice = 99 is out of range, expected -20..19");
}

/* ---------------------------------------------------------------------------------------- */
/* Type and range errors */

static void test_error_dualroot_must_be_boolean(void **state)
{
        check_error("\ndualroot = \"yes\"", "x.conf:2:12: dualroot must be a boolean (true or "
                                            "false), found a string");
        check_error("dualroot = 1", "x.conf:1:12: dualroot must be a boolean (true or false), "
                                    "found an integer");
}

static void test_error_nice_out_of_range(void **state)
{
        check_error("#\n#\n#\n#\nnice = 25", "x.conf:5:8: nice = 25 is out of range, expected "
                                             "-20..19");
        check_error("nice = -21", "x.conf:1:8: nice = -21 is out of range, expected -20..19");
        check_error("nice = 0x7fffffffffffffffff",
                    "x.conf:1:8: nice = 0x7fffffffffffffffff is out of range, expected -20..19");
        check_error("nice = -99999999999999999999",
                    "x.conf:1:8: nice = -99999999999999999999 is out of range, expected -20..19");
}

static void test_error_nice_must_be_integer(void **state)
{
        check_error("nice = 15.0", "x.conf:1:8: nice must be an integer in -20..19, found a "
                                   "float");
        check_error("nice = \"15\"", "x.conf:1:8: nice must be an integer in -20..19, found a "
                                     "string");
}

static void test_error_ionice_out_of_range(void **state)
{
        check_error("ionice_class = 4", "x.conf:1:16: ionice_class = 4 is out of range, expected "
                                        "0..3");
        check_error("ionice_level = 8", "x.conf:1:16: ionice_level = 8 is out of range, expected "
                                        "0..7");
        /* The message uses the name as written. */
        check_error("ionice_value = -1", "x.conf:1:16: ionice_value = -1 is out of range, "
                                         "expected 0..7");
}

static void test_error_duration_out_of_range(void **state)
{
        check_error("sync_delay = -1", "x.conf:1:14: sync_delay = -1 is out of range, expected "
                                       "0..31536000 seconds (at most a year)");
        check_error("max_wait = 31536001", "x.conf:1:12: max_wait = 31536001 is out of range, "
                                           "expected 0..31536000 seconds (at most a year)");
        check_error("rsync_timeout = inf", "x.conf:1:17: rsync_timeout = inf is out of range, "
                                           "expected 0..31536000 seconds (at most a year)");
        check_error("settle_time = -0.5", "x.conf:1:15: settle_time = -0.5 is out of range, "
                                          "expected 0..31536000 seconds (at most a year)");
        check_error("lock_timeout = 1e300", "x.conf:1:16: lock_timeout = 1e300 is out of range, "
                                            "expected 0..31536000 seconds (at most a year)");
}

static void test_error_duration_nan(void **state)
{
        check_error("lock_timeout = nan", "x.conf:1:16: lock_timeout = nan is not a number of "
                                          "seconds, expected 0..31536000 (at most a year)");
        check_error("lock_timeout = -nan", "x.conf:1:16: lock_timeout = -nan is not a number of "
                                           "seconds, expected 0..31536000 (at most a year)");
}

static void test_error_duration_must_be_number(void **state)
{
        check_error("settle_time = \"5s\"", "x.conf:1:15: settle_time must be a number of "
                                            "seconds, found a string");
        check_error("sync_delay = true", "x.conf:1:14: sync_delay must be a number of seconds, "
                                         "found a boolean");
}

static void test_error_settle_time_exceeds_max_wait(void **state)
{
        check_error("max_wait = 10\nsettle_time = 20\n",
                    "x.conf:2:15: settle_time = 20 exceeds max_wait = 10 (line 1), expected "
                    "settle_time <= max_wait");
        check_error("settle_time = 20\nmax_wait = 10\n",
                    "x.conf:2:12: max_wait = 10 is shorter than settle_time = 20 (line 1), "
                    "expected max_wait >= settle_time");
        check_error("settle_time = 121", "x.conf:1:15: settle_time = 121 exceeds max_wait (120 s "
                                         "by default), expected settle_time <= max_wait");
        check_error("max_wait = 4.5", "x.conf:1:12: max_wait = 4.5 is shorter than settle_time "
                                      "(5 s by default), expected max_wait >= settle_time");
}

static void test_error_rsync_opts_must_be_string(void **state)
{
        check_error("rsync_opts = [\"-a\"]", "x.conf:1:14: rsync_opts must be a string of rsync "
                                             "options, found an array");
}

static void test_error_rsync_opts_holds_only_options(void **state)
{
        check_error("rsync_opts = \"-a /mnt\"",
                    "x.conf:1:18: rsync_opts holds '/mnt', expected options only (words starting "
                    "with '-'): sources and destinations come from sync and esp_mounts");
        /* With escapes the word's column is unknown: the string's is given. */
        check_error("rsync_opts = \"-a\\tx\"",
                    "x.conf:1:14: rsync_opts holds 'x', expected options only (words starting "
                    "with '-'): sources and destinations come from sync and esp_mounts");
}

static void test_error_rsync_opts_end_of_options_marker(void **state)
{
        check_error("rsync_opts = '-a -- -v'",
                    "x.conf:1:18: rsync_opts holds '--', which would end rsync's options and turn "
                    "the options dual-root adds into file names, expected options only");
        check_error("rsync_opts = '-'",
                    "x.conf:1:15: rsync_opts holds '-', which would end rsync's options and turn "
                    "the options dual-root adds into file names, expected options only");
}

static void test_error_rsync_opts_dry_run(void **state)
{
        check_error("rsync_opts = '-axn'",
                    "x.conf:1:15: rsync_opts holds '-axn', a dry run: every sync would be "
                    "reported done with nothing copied; use -t for a dry run, expected options "
                    "that copy");
        check_error("rsync_opts = '-a --dry-run'",
                    "x.conf:1:18: rsync_opts holds '--dry-run', a dry run: every sync would be "
                    "reported done with nothing copied; use -t for a dry run, expected options "
                    "that copy");
        {
                /* n here is -B's argument, not -n */
                _cleanup_config_free_ struct config *c = parse_ok("rsync_opts = '-a -B8n'");

                assert_string_equal(c->rsync_opts[1], "-B8n");
        }
}

static void test_error_rsync_path_must_be_absolute(void **state)
{
        check_error("rsync_path = \"rsync\"", "x.conf:1:14: rsync_path 'rsync' is not an "
                                              "absolute path, expected a path starting with '/'");
        check_error("rsync_path = ''", "x.conf:1:14: rsync_path is empty, expected an absolute "
                                       "path");
        check_error("rsync_path = 1", "x.conf:1:14: rsync_path must be a string (an absolute "
                                      "path), found an integer");
}

static void test_error_esp_mounts_must_not_be_empty(void **state)
{
        check_error("esp_mounts = []", "x.conf:1:14: esp_mounts is empty, expected at least one "
                                       "mount point (leave it unset to use every /efi<N> mount)");
}

static void test_error_esp_mounts_must_be_array_of_absolute_paths(void **state)
{
        check_error("esp_mounts = \"/efi0\"", "x.conf:1:14: esp_mounts must be an array of "
                                              "absolute paths, found a string");
        check_error("esp_mounts = [\"efi0\"]", "x.conf:1:15: esp_mounts entry 'efi0' is not an "
                                               "absolute path, expected a path starting with '/'");
        check_error("esp_mounts = [[\"/efi0\"]]", "x.conf:1:15: esp_mounts entry must be a "
                                                  "string (an absolute path), found an array");
        check_error("esp_mounts = [\"//\"]", "x.conf:1:15: esp_mounts entry '/' is the root "
                                             "directory, expected an ESP mount point such as "
                                             "/efi0");
}

static void test_error_esp_mounts_must_be_distinct(void **state)
{
        check_error("esp_mounts = [\"/efi0\", \"/efi1\",\n  \"/efi0/\"]",
                    "x.conf:2:3: esp_mounts entry '/efi0/' names the same directory as the one "
                    "at line 1, column 15, expected distinct mount points");
}

static void test_error_esp_excludes_entries(void **state)
{
        check_error("esp_excludes = [\"/a\", \"\"]", "x.conf:1:23: esp_excludes entry is empty, "
                                                     "expected a non-empty string (an rsync "
                                                     "pattern)");
        check_error("esp_excludes = \"/a\"", "x.conf:1:16: esp_excludes must be an array of "
                                             "strings (rsync patterns), found a string");
}

static void test_error_sync_must_be_array(void **state)
{
        check_error("sync = \"/home\"", "x.conf:1:8: sync must be an array: [source, dest, "
                                        "[exclusions...]] or a list of such items, found a "
                                        "string");
        check_error("sync = [true]", "x.conf:1:9: sync must be [source, dest, [exclusions...]] "
                                     "or a list of such items, found an array starting with a "
                                     "boolean");
}

static void test_error_sync_item_element_count(void **state)
{
        check_error("dualroot = false\n"
                    "sync = [\n"
                    "  [\"/a\", \"/b\"],\n"
                    "  # comment\n"
                    "  [\"/c\", \"/d\", []],\n"
                    "\n"
                    "  [\"/e\", \"/f\", [], \"/g\"],\n"
                    "]\n",
                    "x.conf:7:3: sync item must be [source, dest] or [source, dest, "
                    "[exclusions...]], found an array of 4 elements");
        check_error("sync = [[\"/a\"]]", "x.conf:1:9: sync item must be [source, dest] or "
                                         "[source, dest, [exclusions...]], found an array of 1 "
                                         "element");
        check_error("sync = [\"/a\"]", "x.conf:1:8: sync item must be [source, dest] or [source, "
                                       "dest, [exclusions...]], found an array of 1 element");
}

static void test_error_sync_item_in_list_must_be_array(void **state)
{
        check_error("sync = [[\"/a\", \"/b\"], \"/c\"]",
                    "x.conf:1:23: sync item must be an array [source, dest, [exclusions...]], "
                    "found a string");
}

static void test_error_sync_source(void **state)
{
        check_error("sync = [[1, \"/b\"]]", "x.conf:1:10: sync source must be a string (an "
                                            "absolute path), found an integer");
        check_error("sync = [\"home\", \"/b\"]", "x.conf:1:9: sync source 'home' is not an "
                                                 "absolute path, expected a path starting with "
                                                 "'/'");
        check_error("sync = [\"\", \"/b\"]", "x.conf:1:9: sync source is empty, expected an "
                                             "absolute path");
}

static void test_error_sync_remote_locations_are_unsupported(void **state)
{
        check_error("sync = [\"/home\", \"backup:/home\"]",
                    "x.conf:1:18: sync destination 'backup:/home' is a remote rsync location, "
                    "expected a local absolute path (remote targets are not supported: every "
                    "path is watched and checked for a mount)");
        check_error("sync = [\"rsync://host/mod\", \"/b\"]",
                    "x.conf:1:9: sync source 'rsync://host/mod' is a remote rsync location, "
                    "expected a local absolute path (remote targets are not supported: every "
                    "path is watched and checked for a mount)");
}

static void test_error_sync_destinations(void **state)
{
        check_error("sync = [\"/a\", []]", "x.conf:1:15: sync destination list is empty, expected "
                                           "at least one absolute path");
        check_error("sync = [\"/a\", [\"/b\", 2]]", "x.conf:1:22: sync destination must be a "
                                                    "string (an absolute path), found an integer");
        check_error("sync = [\"/a\", true]", "x.conf:1:15: sync destination must be a string or "
                                             "an array of strings (absolute paths), found a "
                                             "boolean");
        check_error("sync = [\"/a\", [\"/b\", \"c\"]]", "x.conf:1:22: sync destination 'c' is not "
                                                        "an absolute path, expected a path "
                                                        "starting with '/'");
}

static void test_error_sync_destination_is_source(void **state)
{
        check_error("sync = [\"/etc/\", \"/etc\"]", "x.conf:1:18: sync destination '/etc' is the "
                                                    "item's source, expected another directory");
}

static void test_error_sync_destinations_must_be_distinct(void **state)
{
        check_error("sync = [\"/a\", [\"/b\", \"/c\", \"/b/\"]]",
                    "x.conf:1:28: sync destination '/b/' names the same directory as the one at "
                    "line 1, column 16, expected distinct destinations");
}

static void test_error_sync_exclusions(void **state)
{
        check_error("sync = [\"/etc\", \"/mnt/root1/\", \"/etc/fstab\"]",
                    "x.conf:1:32: sync exclusions must be an array of strings, found a string "
                    "(write [\"pattern\", ...])");
        check_error("sync = [\"/a\", \"/b\", [\"\"]]", "x.conf:1:22: sync exclusion is empty, "
                                                       "expected a non-empty string (an rsync "
                                                       "pattern)");
        check_error("sync = [\"/a\", \"/b\", [1]]", "x.conf:1:22: sync exclusion must be a "
                                                    "non-empty string (an rsync pattern), found "
                                                    "an integer");
}

/* ---------------------------------------------------------------------------------------- */
/* Hostile input */

/* A deterministic slice of what tests/fuzz/fuzz-config.c does at length: every mutation of a
 * real file either parses or fails with a positioned message, never crashes (run this under
 * ASan) or leaks. */
static void test_mutated_files_fail_cleanly(void **state)
{
        static const char charset[] = "[]{},=\"'#\\\n\r\t _.+-0123456789abcxeu\xC3\xA9\x80\xFF";
        _cleanup_free_ char *path = fixture_path("config/valid/all-keys.conf");
        _cleanup_free_ char *orig = NULL;
        uint64_t seed = 0x9E3779B97F4A7C15u;
        size_t size;

        assert_int_equal(read_full_file(path, 1 << 20, &orig, &size), 0);
        for (unsigned iter = 0; iter < 20000; iter++) {
                _cleanup_free_ char *text = malloc(size + 8), *why = NULL;
                struct config *c = NULL;
                size_t n = size;
                int r;

                assert_non_null(text);
                memcpy(text, orig, size);
                for (unsigned k = 0; k < 1 + iter % 4; k++) {
                        size_t at;

                        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
                        at = (size_t)(seed >> 8) % (n + 1);
                        if (seed % 3 == 0 && at < n) {
                                memmove(text + at, text + at + 1, n - at - 1);
                                n--;
                        } else if (seed % 3 == 1) {
                                memmove(text + at + 1, text + at, n - at);
                                text[at] = charset[(seed >> 32) % (sizeof(charset) - 1)];
                                n++;
                        } else if (at < n)
                                text[at] = (char)(seed >> 40);
                }
                r = config_parse("m.conf", text, n, &c, &why);
                if (r < 0) {
                        assert_null(c);
                        assert_non_null(why);
                        if (!startswith(why, "m.conf:"))
                                fail_msg("message without position: %s", why);
                } else
                        assert_true(c->settle_time <= c->max_wait);
                config_free(c);
        }
}

static void test_huge_line_of_array_elements_is_fast(void **state)
{
        /* ~100k strings on one line: quadratic work would take minutes. */
        size_t n = 100000;
        _cleanup_free_ char *text = malloc(n * 6 + 32);
        _cleanup_config_free_ struct config *c = NULL;
        char *p;

        assert_non_null(text);
        p = stpcpy(text, "esp_excludes = [");
        for (size_t i = 0; i < n; i++)
                p = stpcpy(p, "\"/ab\",");
        p = stpcpy(p, "]");
        c = parse_ok_n(text, (size_t)(p - text));
        assert_int_equal(strv_length(c->esp_excludes), n);
}

/* swap_ids (DESIGN.md §5b): normalized, a directory keeps its '/', under a synced tree. */
static void test_swap_ids(void **state)
{
        _cleanup_config_free_ struct config *c = parse_ok(
                "dualroot = false\n"
                "swap_ids = [\"/etc//fstab\", \"/boot/loader/entries/\", \"/boot/x//\"]\n"
                "sync = [[\"/etc/\", \"/mnt/root1/etc/\"], [\"/boot\", \"/mnt/root1/\"]]\n");

        assert_strv(c->swap_ids, "/etc/fstab", "/boot/loader/entries/", "/boot/x/");
}

static void test_swap_ids_default_none(void **state)
{
        _cleanup_config_free_ struct config *c = parse_ok("nice = 1\n");

        assert_null(c->swap_ids);
}

static void test_swap_ids_under_esp(void **state)
{
        /* dualroot: an ESP's files are synced too (every /efi<N>, or esp_mounts) */
        _cleanup_config_free_ struct config *a = parse_ok("swap_ids = [\"/efi0/loader/entries/\"]");
        _cleanup_config_free_ struct config *b =
                parse_ok("esp_mounts = [\"/efi\", \"/mnt/root1/efi\"]\n"
                         "swap_ids = [\"/efi/loader/entries/\"]");

        assert_strv(a->swap_ids, "/efi0/loader/entries/");
        assert_strv(b->swap_ids, "/efi/loader/entries/");
}

static void test_swap_ids_errors(void **state)
{
        check_error("swap_ids = \"/etc/fstab\"",
                    "x.conf:1:12: swap_ids must be an array of absolute paths, found a string");
        check_error("swap_ids = [1]", "x.conf:1:13: swap_ids entry must be a string (an absolute "
                                      "path), found an integer");
        check_error("swap_ids = [\"etc/fstab\"]",
                    "x.conf:1:13: swap_ids entry 'etc/fstab' is not an absolute path, expected a "
                    "path starting with '/'");
        check_error("swap_ids = [\"/\"]",
                    "x.conf:1:13: swap_ids entry '/' is the root directory, expected a file such "
                    "as /etc/fstab or a directory such as /boot/loader/entries/");
        check_error("swap_ids = [\"/efi0/loader/*.conf\"]",
                    "x.conf:1:13: swap_ids entry '/efi0/loader/*.conf' holds a wildcard or "
                    "backslash, expected the path of a file, or of a directory ending in '/'");
        check_error("swap_ids = [\"/efi0/a\", \"/efi0//a\"]",
                    "x.conf:1:24: swap_ids entry '/efi0//a' names the same directory as the one "
                    "at line 1, column 13, expected distinct paths");
        check_error(
                "dualroot = false\nswap_ids = [\"/etc/fstab\"]\nsync = [\"/srv/\", \"/mnt/x/\"]",
                "x.conf:2:13: swap_ids entry '/etc/fstab' is under no sync item's source, "
                "expected a path that a sync copies");
        check_error("swap_ids = [\"/efi-old/x\"]",
                    "x.conf:1:13: swap_ids entry '/efi-old/x' is under no sync item's source nor "
                    "an ESP, expected a path that a sync copies");
}

/* DESIGN.md §5c T2: "auto", the sources that are boot trees, or none. */
static void test_boot_trees_values(void **state)
{
        _cleanup_config_free_ struct config *a = NULL, *l = NULL, *n = NULL;

        a = parse_ok("boot_trees = \"auto\"");
        assert_null(a->boot_trees);
        l = parse_ok("sync = [[\"/boot/\", \"/mnt/root1/boot/\"], [\"/srv\", \"/mnt/x/\"]]\n"
                     "boot_trees = [\"/boot\", \"/srv/\"]");
        assert_strv(l->boot_trees, "/boot", "/srv");
        n = parse_ok("boot_trees = []");
        assert_non_null(n->boot_trees);
        assert_null(n->boot_trees[0]);
}

static void test_boot_trees_errors(void **state)
{
        check_error("boot_trees = \"on\"", "x.conf:1:14: boot_trees = 'on' is not a mode, "
                                           "expected \"auto\" or an array of sync sources such "
                                           "as [\"/boot/\"]");
        check_error("boot_trees = true", "x.conf:1:14: boot_trees must be \"auto\" or an array of "
                                         "sync sources such as [\"/boot/\"], found a boolean");
        check_error("boot_trees = [1]", "x.conf:1:15: boot_trees entry must be a string (a sync "
                                        "item's source), found an integer");
        check_error("boot_trees = [\"boot\"]", "x.conf:1:15: boot_trees entry 'boot' is not an "
                                               "absolute path, expected a path starting with '/'");
        check_error("sync = [\"/boot/\", \"/mnt/b/\"]\nboot_trees = [\"/boot\", \"/boot/\"]",
                    "x.conf:2:24: boot_trees entry '/boot/' names the same directory as the one "
                    "at line 2, column 15, expected distinct paths");
        check_error("sync = [\"/boot/\", \"/mnt/b/\"]\nboot_trees = [\"/efi\"]",
                    "x.conf:2:15: boot_trees entry '/efi' is no sync item's source, expected the "
                    "source of an item of the sync list");
}

/* DESIGN.md §4 B2: what -b takes from a file config_load() refuses. */
static void check_salvage(const char *name, const char *text, mode_t mode, bool must_exist,
                          const char *expected_esp0, const char *expected_esp1)
{
        _cleanup_free_ char *path = text ? tmp_text(name, text, mode) : NULL;
        _cleanup_free_ char *missing = NULL;
        struct config *c = NULL;
        bool from_file = true;

        if (!path)
                assert_true(asprintf(&missing, "%s/%s", tmpdir, name) >= 0);
        assert_int_equal(config_salvage_bind(path ?: missing, must_exist, &c, &from_file), 0);
        assert_non_null(c);
        if (expected_esp0) {
                assert_true(from_file);
                assert_strv_equal(c->esp_mounts, expected_esp0, expected_esp1, NULL);
        } else {
                assert_false(from_file);
                assert_null(c->esp_mounts);
        }
        /* Everything else at its default, whatever the file says. */
        assert_int_equal(c->nice, 15);
        assert_int_equal(c->n_items, 0);
        assert_true(c->dualroot);
        config_free(c);
}

static void test_salvage_bind_takes_esp_mounts_despite_other_errors(void **state)
{
        /* A typo in an unrelated key: config_load refuses, -b still has esp_mounts. */
        check_salvage("typo.conf", "nice = 10\nsync_dealy = 10\nesp_mounts = [\"/a\", \"/b/\"]\n",
                      0644, true, "/a", "/b");
        check_salvage("range.conf", "esp_mounts = [\"/a\", \"/b\"]\nnice = 99\n", 0644, true, "/a",
                      "/b");
        /* A syntax error after it: what was read before counts. */
        check_salvage("syntax.conf", "esp_mounts = [\"/a\", \"/b\"]\nsettle_time = [\n", 0644, true,
                      "/a", "/b");
}

static void test_salvage_bind_falls_back_to_the_default_set(void **state)
{
        /* esp_mounts itself broken, set twice, or after the syntax error: the default set. */
        check_salvage("bad-esp.conf", "esp_mounts = \"/a\"\nsync_dealy = 1\n", 0644, true, NULL,
                      NULL);
        check_salvage("twice.conf", "esp_mounts = [\"/a\"]\nesp_mounts = [\"/b\"]\n", 0644, true,
                      NULL, NULL);
        check_salvage("late.conf", "nice = [\nesp_mounts = [\"/a\"]\n", 0644, true, NULL, NULL);
        check_salvage("relative.conf", "esp_mounts = [\"efi0\"]\n", 0644, true, NULL, NULL);
        /* C3: a file others may write is not read at all. */
        check_salvage("writable.conf", "esp_mounts = [\"/a\", \"/b\"]\nx = 1\n", 0666, true, NULL,
                      NULL);
        /* Missing (given with -c, or the default path): the defaults. */
        check_salvage("nope.conf", NULL, 0, true, NULL, NULL);
        check_salvage("nope.conf", NULL, 0, false, NULL, NULL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults_match_config_h),
                cmocka_unit_test(test_swap_ids),
                cmocka_unit_test(test_swap_ids_default_none),
                cmocka_unit_test(test_swap_ids_under_esp),
                cmocka_unit_test(test_swap_ids_errors),
                cmocka_unit_test(test_missing_optional_file_gives_defaults),
                cmocka_unit_test(test_missing_required_file_is_error),
                cmocka_unit_test(test_load_reads_file_and_records_path),
                cmocka_unit_test(test_load_accepts_private_and_read_only_modes),
                cmocka_unit_test(test_load_refuses_group_writable_file),
                cmocka_unit_test(test_load_refuses_world_writable_file),
                cmocka_unit_test(test_load_refuses_mode_0666),
                cmocka_unit_test(test_load_refuses_file_of_another_user),
                cmocka_unit_test(test_load_refuses_directory),
                cmocka_unit_test(test_load_refuses_fifo_without_blocking),
                cmocka_unit_test(test_load_follows_symlink),
                cmocka_unit_test(test_load_refuses_dangling_symlink_even_when_optional),
                cmocka_unit_test(test_load_refuses_file_over_1mib),
                cmocka_unit_test(test_load_accepts_exactly_1mib),
                cmocka_unit_test(test_parse_refuses_text_over_1mib),
                cmocka_unit_test(test_parse_works_without_why),

                cmocka_unit_test(test_empty_file_gives_defaults),
                cmocka_unit_test(test_comments_and_blank_lines_give_defaults),
                cmocka_unit_test(test_sample_config_parses_to_defaults),
                cmocka_unit_test(test_sample_config_shows_every_key_with_its_default),
                cmocka_unit_test(test_sample_config_documents_every_key),
                cmocka_unit_test(test_boot_trees_values),
                cmocka_unit_test(test_boot_trees_errors),
                cmocka_unit_test(test_check_config_prints_every_default),
                cmocka_unit_test(test_check_config_prints_set_values),
                cmocka_unit_test(test_original_approach2_sample_parses),
                cmocka_unit_test(test_original_single_item_form_parses),
                cmocka_unit_test(test_every_key_is_applied),
                cmocka_unit_test(test_sync_list_of_one_item),
                cmocka_unit_test(test_sync_single_item_with_destination_list),
                cmocka_unit_test(test_sync_empty_array_means_no_items),
                cmocka_unit_test(test_sync_paths_are_kept_exactly_as_written),
                cmocka_unit_test(test_sync_item_line_is_where_item_starts),
                cmocka_unit_test(test_arrays_span_lines_with_comments_and_trailing_commas),
                cmocka_unit_test(test_comment_may_follow_value_without_blank),
                cmocka_unit_test(test_blanks_around_keys_and_values_are_ignored),
                cmocka_unit_test(test_crlf_line_ends_are_accepted),
                cmocka_unit_test(test_byte_order_mark_is_skipped),
                cmocka_unit_test(test_integers_in_every_toml_form),
                cmocka_unit_test(test_durations_accept_integers_and_floats),
                cmocka_unit_test(test_every_duration_key_converts_to_usec),
                cmocka_unit_test(test_settle_time_equal_to_max_wait_is_fine),
                cmocka_unit_test(test_basic_string_escapes_are_decoded),
                cmocka_unit_test(test_literal_string_is_taken_verbatim),
                cmocka_unit_test(test_tab_is_allowed_in_strings),
                cmocka_unit_test(test_rsync_opts_split_on_blanks),
                cmocka_unit_test(test_empty_rsync_opts_means_default),
                cmocka_unit_test(test_ionice_value_is_alias_of_ionice_level),
                cmocka_unit_test(test_empty_esp_excludes_clears_default),
                cmocka_unit_test(test_esp_mounts_are_stored_normalized),
                cmocka_unit_test(test_why_untouched_on_success),

                cmocka_unit_test(test_error_missing_value_at_end_of_line),
                cmocka_unit_test(test_error_missing_value_at_end_of_file),
                cmocka_unit_test(test_error_missing_value_before_comment),
                cmocka_unit_test(test_error_missing_equals),
                cmocka_unit_test(test_error_line_not_starting_with_key),
                cmocka_unit_test(test_error_unknown_key_suggests_nearest),
                cmocka_unit_test(test_error_unknown_key_suggestion_ignores_case),
                cmocka_unit_test(test_error_unknown_key_lists_known_keys_when_none_is_near),
                cmocka_unit_test(test_error_unknown_key_in_original_file),
                cmocka_unit_test(test_error_long_key_is_cut_in_message),
                cmocka_unit_test(test_error_duplicate_key_names_earlier_line),
                cmocka_unit_test(test_error_ionice_value_and_ionice_level_together),
                cmocka_unit_test(test_error_table_is_unsupported),
                cmocka_unit_test(test_error_array_table_is_unsupported),
                cmocka_unit_test(test_error_dotted_key_is_unsupported),
                cmocka_unit_test(test_error_quoted_key_is_unsupported),
                cmocka_unit_test(test_error_inline_table_is_unsupported),
                cmocka_unit_test(test_error_date_and_time_are_unsupported),
                cmocka_unit_test(test_error_multi_line_strings_are_unsupported),
                cmocka_unit_test(test_error_unquoted_string_hint),
                cmocka_unit_test(test_error_capitalized_boolean_hint),
                cmocka_unit_test(test_error_two_values_on_one_line),
                cmocka_unit_test(test_error_unterminated_strings),
                cmocka_unit_test(test_error_invalid_escapes),
                cmocka_unit_test(test_error_escape_must_be_unicode_scalar_value),
                cmocka_unit_test(test_error_nul_escape),
                cmocka_unit_test(test_error_raw_control_character_in_string),
                cmocka_unit_test(test_error_control_character_in_comment),
                cmocka_unit_test(test_error_unterminated_array),
                cmocka_unit_test(test_error_missing_comma_in_array),
                cmocka_unit_test(test_error_empty_array_element),
                cmocka_unit_test(test_error_arrays_nested_too_deep),
                cmocka_unit_test(test_error_invalid_numbers),
                cmocka_unit_test(test_error_nul_byte_in_file),
                cmocka_unit_test(test_error_invalid_utf8),
                cmocka_unit_test(test_error_lone_carriage_return),
                cmocka_unit_test(test_error_column_counts_characters_not_bytes),
                cmocka_unit_test(test_error_message_escapes_control_characters),
                cmocka_unit_test(test_error_first_error_in_file_order_wins),

                cmocka_unit_test(test_error_dualroot_must_be_boolean),
                cmocka_unit_test(test_error_nice_out_of_range),
                cmocka_unit_test(test_error_nice_must_be_integer),
                cmocka_unit_test(test_error_ionice_out_of_range),
                cmocka_unit_test(test_error_duration_out_of_range),
                cmocka_unit_test(test_error_duration_nan),
                cmocka_unit_test(test_error_duration_must_be_number),
                cmocka_unit_test(test_error_settle_time_exceeds_max_wait),
                cmocka_unit_test(test_error_rsync_opts_must_be_string),
                cmocka_unit_test(test_error_rsync_opts_holds_only_options),
                cmocka_unit_test(test_error_rsync_opts_end_of_options_marker),
                cmocka_unit_test(test_error_rsync_opts_dry_run),
                cmocka_unit_test(test_error_rsync_path_must_be_absolute),
                cmocka_unit_test(test_error_esp_mounts_must_not_be_empty),
                cmocka_unit_test(test_error_esp_mounts_must_be_array_of_absolute_paths),
                cmocka_unit_test(test_error_esp_mounts_must_be_distinct),
                cmocka_unit_test(test_error_esp_excludes_entries),
                cmocka_unit_test(test_error_sync_must_be_array),
                cmocka_unit_test(test_error_sync_item_element_count),
                cmocka_unit_test(test_error_sync_item_in_list_must_be_array),
                cmocka_unit_test(test_error_sync_source),
                cmocka_unit_test(test_error_sync_remote_locations_are_unsupported),
                cmocka_unit_test(test_error_sync_destinations),
                cmocka_unit_test(test_error_sync_destination_is_source),
                cmocka_unit_test(test_error_sync_destinations_must_be_distinct),
                cmocka_unit_test(test_error_sync_exclusions),

                cmocka_unit_test(test_salvage_bind_takes_esp_mounts_despite_other_errors),
                cmocka_unit_test(test_salvage_bind_falls_back_to_the_default_set),

                cmocka_unit_test(test_mutated_files_fail_cleanly),
                cmocka_unit_test(test_huge_line_of_array_elements_is_fast),
        };

        return cmocka_run_group_tests(tests, setup_tmpdir, teardown_tmpdir);
}

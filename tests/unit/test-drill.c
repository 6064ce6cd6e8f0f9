/* SPDX-License-Identifier: MIT */
/*
 * drill.c (DESIGN.md §13): the record's strict parser and its merge; the state machine (pending,
 * proven, failed, stale, someone else's BootNext, our BootNext left over) on facts; and --prove
 * and the boot step on a model built by hand over temporary ESP trees and efivars directories
 * made from the fixtures (tests/fixtures/efivars): BootNext written with the attributes word and
 * the entry number, the next boot simulated by a new efivars directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#define MKEFIVAR_NO_MAIN
#include "../tools/mkefivar.c"
#include "env-fixture.h"

#include "bootentry.h"
#include "config.h"
#include "drill.h"
#include "efiwrite.h"
#include "efivars.h"
#include "efivars-fixture.h"
#include "esp.h"
#include "util/fileio.h"
#include "util/strv.h"
#include "../tools/loaderimage.h"

/* PU1 is the PARTUUID the fixtures name: loader-upper.hex (upper case) and sdboot-short.hex
 * (Boot0003, HD(1,GPT,PU1)/File(\EFI\systemd\systemd-bootx64.efi)). */
#define PU0 "6a1e0c5b-0000-4a4a-8000-00000000e0e0"
#define PU1 "c0ffee00-1234-4abc-8def-0123456789ab"
#define BID1 "11111111-2222-4333-8444-555555555555"
#define BID2 "99999999-2222-4333-8444-555555555555"
#define GUID "-" EFI_GLOBAL_GUID

struct env {
        char *base, *efivars, *esp0, *esp1;
};

/* A plausible EFI program of size bytes (tests/tools/loaderimage.h): the firmware's entries
 * count only such a loader (DESIGN.md §11 S8); the same size gives the same bytes. */
static void put_efi(const char *root, const char *rel, uint32_t size)
{
        _cleanup_free_ char *p = join(root, rel);
        uint8_t *b = calloc(1, size);
        FILE *f;

        assert_non_null(b);
        assert_int_equal(li_efi(b, size, 0), 0);
        for (char *s = p + strlen(root) + 1; (s = strchr(s, '/')); s++) {
                *s = 0;
                (void)mkdir(p, 0755);
                *s = '/';
        }
        f = fopen(p, "we");
        assert_non_null(f);
        assert_int_equal(fwrite(b, 1, size, f), size);
        assert_int_equal(fclose(f), 0);
        free(b);
}

/* A fresh efivars directory (a new boot's), used by efi_vars_dir(). */
static void new_efivars(struct env *e, const char *name)
{
        free(e->efivars);
        e->efivars = join(e->base, name);
        assert_int_equal(mkdir(e->efivars, 0755), 0);
        assert_int_equal(setenv("DUAL_ROOT_EFIVARS", e->efivars, 1), 0);
}

static int setup(void **state)
{
        struct env *e = calloc(1, sizeof(*e));

        assert_non_null(e);
        e->base = strdup("/tmp/test-drill.XXXXXX");
        assert_non_null(mkdtemp(e->base));
        e->esp0 = join(e->base, "efi0");
        e->esp1 = join(e->base, "efi1");
        assert_int_equal(mkdir(e->esp0, 0755), 0);
        assert_int_equal(mkdir(e->esp1, 0755), 0);
        put_efi(e->esp0, "EFI/systemd/systemd-bootx64.efi", 16384);
        put_efi(e->esp1, "EFI/systemd/systemd-bootx64.efi", 16384);
        new_efivars(e, "efivars-boot1");
        *state = e;
        return 0;
}

static int teardown(void **state)
{
        struct env *e = *state;

        nftw(e->base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        free(e->base);
        free(e->efivars);
        free(e->esp0);
        free(e->esp1);
        free(e);
        unsetenv("DUAL_ROOT_EFIVARS");
        return 0;
}

/* The model of a boot: booted ESP found from the efivars directory (§3), the other one the
 * alternate. Boot 1 (set up by boot1()): /efi0 (PU0) booted, /efi1 (PU1) alternate. */
static struct esp_model *model_from_efivars(struct env *e)
{
        struct esp_model *m = calloc(1, sizeof(*m));
        _cleanup_free_ char *why = NULL;
        bool on1;

        assert_non_null(m);
        if (efi_find_booted_partuuid(e->efivars, &m->boot, &why) < 0)
                fail_msg("no booted ESP in the fixture: %s", strna(why));
        m->boot_ok = m->device_ok = true;
        on1 = streq(m->boot.partuuid, PU1);
        m->booted = (struct esp){ .mount = strdup(on1 ? e->esp1 : e->esp0),
                                  .mounted = true,
                                  .device = strdup(on1 ? "/dev/vdb1" : "/dev/vda1"),
                                  .partuuid = strdup(on1 ? PU1 : PU0) };
        m->alternates = calloc(1, sizeof(struct esp));
        assert_non_null(m->alternates);
        m->alternates[0] = (struct esp){ .mount = strdup(on1 ? e->esp0 : e->esp1),
                                         .mounted = true,
                                         .device = strdup(on1 ? "/dev/vda1" : "/dev/vdb1"),
                                         .partuuid = strdup(on1 ? PU0 : PU1) };
        m->n_alternates = 1;
        return m;
}

/* NVRAM as firmware leaves it: Boot0001 for /efi0, Boot0003 (fixture) for /efi1. */
static void entries(struct env *e)
{
        mkefivar(e->efivars, "bootentry", "0001", "Linux Boot Manager", "--hd", "1", PU0, "--start",
                 "0x800", "--size", "0x4b000", NULL);
        put_fixture(e->efivars, "sdboot-short.hex", "Boot0003" GUID);
        mkefivar(e->efivars, "bootorder", "1,3", NULL);
}

/* Boot 1: booted from /efi0 by BootCurrent -> Boot0001. */
static struct esp_model *boot1(struct env *e)
{
        entries(e);
        mkefivar(e->efivars, "bootcurrent", "1", NULL);
        return model_from_efivars(e);
}

static char *record_of(const char *esp)
{
        _cleanup_free_ char *p = join(esp, DRILL_STATE_FILE);
        char *text = NULL;

        if (read_full_file(p, 1 << 16, &text, NULL) < 0)
                return NULL;
        return text;
}

static int prove(const struct esp_model *m, const char *disk, bool test, char **ret_out, char **why)
{
        size_t size;
        FILE *f = open_memstream(ret_out, &size);
        bool refused = false;
        int r;

        assert_non_null(f);
        r = drill_prove(m, disk, BID1, test, f, &refused, why);
        assert_int_equal(fclose(f), 0);
        assert_false(refused);
        return r;
}

static int at_boot(const struct config *c, const struct esp_model *m, const char *boot_id,
                   char ***warnings, char **ret_out)
{
        _cleanup_free_ char *why = NULL;
        size_t size;
        FILE *f = open_memstream(ret_out, &size);
        int r;

        assert_non_null(f);
        r = drill_at_boot(c, m, boot_id, false, f, warnings, &why);
        assert_int_equal(fclose(f), 0);
        if (r < 0)
                fail_msg("drill_at_boot: %s", strna(why));
        return r;
}

static struct drill_state load_both(struct env *e)
{
        char *dirs[] = { e->esp0, e->esp1, NULL };
        _cleanup_free_ char *why = NULL;
        struct drill_state s = {};
        size_t found = 0;

        if (drill_state_load(dirs, &s, &found, &why) < 0)
                fail_msg("cannot load the records: %s", strna(why));
        assert_int_equal(found, 2);
        return s;
}

/* ---- the record ---- */

static void test_record_round_trips(void **state)
{
        struct drill_state s = { .nvram_refused = -1 }, back = {};
        _cleanup_free_ char *text = NULL, *again = NULL, *why = NULL;
        struct drill_disk *d;

        s.generation = 7;
        s.pending = (struct drill_pending){ .set = true, .entry = 0x1a, .since = 1700000000 };
        strcpy(s.pending.target, PU1);
        strcpy(s.pending.from, PU0);
        strcpy(s.pending.boot_id, BID1);
        d = drill_state_disk(&s, "C0FFEE00-1234-4ABC-8DEF-0123456789AB", true);
        assert_non_null(d);
        d->proven = 1690000000;
        d = drill_state_disk(&s, PU0, true);
        d->failed = 1695000000;
        strcpy(d->failed_on, PU1);
        assert_int_equal(drill_state_format(&s, &text), 0);
        assert_non_null(strstr(text, "\ngeneration 7\npending " PU1 " 001A 1700000000 " PU0 " " BID1
                                     "\ndisk " PU1 " 1690000000 - -\ndisk " PU0 " - 1695000000 " PU1
                                     "\n"));
        if (drill_state_parse(text, strlen(text), &back, &why) < 0)
                fail_msg("%s\n%s", strna(why), text);
        assert_int_equal(drill_state_format(&back, &again), 0);
        assert_string_equal(again, text);
        drill_state_done(&s);
        drill_state_done(&back);
}

static void test_parser_is_strict_and_names_the_line(void **state)
{
        static const struct {
                const char *text, *why;
        } cases[] = {
                { "", "empty, expected 'dual-root-drill 1'" },
                { "dual-root-drill 1\ngeneration 1", "the last line does not end with a newline" },
                { "dual-root-drill 2\n", "line 1: expected the header 'dual-root-drill 1'" },
                { "# c\ngeneration 1\n", "line 2: expected the header 'dual-root-drill 1'" },
                { "dual-root-drill 1\n", "no generation line" },
                { "dual-root-drill 1\ngeneration 01\n",
                  "line 2: the generation is '01', expected seconds since the epoch (at most 18 "
                  "digits, no leading zero)" },
                { "dual-root-drill 1\ngeneration 1 \n", "line 2: trailing space" },
                { "dual-root-drill 1\ngeneration 1\ngeneration 2\n",
                  "line 3: a second generation" },
                { "dual-root-drill 1\ngeneration 1\n# late\n",
                  "line 3: unknown keyword '#', expected generation, pending, disk, "
                  "nvram-refused or stale-boot-next" },
                { "dual-root-drill 1\ngeneration 1\ndisk " PU0 " - -\n",
                  "line 3: the PARTUUID the failed drill came up on missing" },
                { "dual-root-drill 1\ngeneration 1\ndisk C0FFEE00-1234-4ABC-8DEF-0123456789AB - "
                  "- -\n",
                  "line 3: the disk's PARTUUID is 'C0FFEE00-1234-4ABC-8DEF-0123456789AB', "
                  "expected a lower-case GUID" },
                { "dual-root-drill 1\ngeneration 1\ndisk " PU0 " - - -\ndisk " PU0 " 1 - -\n",
                  "line 4: a second line for disk " PU0 },
                { "dual-root-drill 1\ngeneration 1\ndisk " PU0 " -1 - -\n",
                  "line 3: the last successful drill is '-1', expected seconds since the epoch "
                  "(at most 18 digits, no leading zero) or '-'" },
                { "dual-root-drill 1\ngeneration 1\npending " PU1 " 00a1 5 " PU0 " " BID1 "\n",
                  "line 3: the Boot#### number is '00a1', expected 4 upper-case hex digits" },
                { "dual-root-drill 1\ngeneration 1\npending " PU1 " 0001 5 " PU0 "\n",
                  "line 3: the boot_id it was set in missing" },
                { "dual-root-drill 1\ngeneration 1\npending " PU1 " 0001 5 " PU0 " " BID1 " x\n",
                  "line 3: unexpected 'x' at the end" },
                { "dual-root-drill 1\ngeneration 1\nnvram-refused 5\nnvram-refused 6\n",
                  "line 4: a second nvram-refused" },
                { "dual-root-drill 1\ngeneration  1\n",
                  "line 2: empty field where the generation was expected" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *why = NULL;
                struct drill_state s = {};
                int r = drill_state_parse(cases[i].text, strlen(cases[i].text), &s, &why);

                if (r != -EBADMSG || !why || !streq(why, cases[i].why))
                        fail_msg("case %zu: got %d '%s', expected -EBADMSG '%s'", i, r, strna(why),
                                 cases[i].why);
        }
}

static void test_parser_refuses_nul_and_size(void **state)
{
        _cleanup_free_ char *why = NULL, *big = malloc(DRILL_STATE_MAX + 1);
        struct drill_state s = {};

        assert_int_equal(drill_state_parse("dual-root-drill 1\n\0", 19, &s, &why), -EBADMSG);
        assert_string_equal(why, "holds a NUL byte");
        assert_non_null(big);
        memset(big, '#', DRILL_STATE_MAX + 1);
        assert_int_equal(drill_state_parse(big, DRILL_STATE_MAX + 1, &s, &why), -EBADMSG);
        assert_string_equal(why, "larger than 65536 bytes");
}

static void test_merge_keeps_the_latest_of_each(void **state)
{
        struct drill_state a = { .generation = 3, .nvram_refused = -1 },
                           b = { .generation = 5, .nvram_refused = -1 };
        struct drill_disk *d;

        d = drill_state_disk(&a, PU0, true);
        d->proven = 100;
        d->failed = 50;
        d = drill_state_disk(&b, PU0, true);
        d->proven = 90;
        d->failed = 120;
        strcpy(d->failed_on, PU1);
        b.pending.set = true;
        strcpy(b.pending.target, PU1);
        assert_int_equal(drill_state_merge(&a, &b), 0);
        d = drill_state_disk(&a, PU0, false);
        assert_int_equal(d->proven, 100);
        assert_int_equal(d->failed, 120);
        assert_string_equal(d->failed_on, PU1);
        assert_true(a.pending.set);
        assert_int_equal(a.generation, 5);
        drill_state_done(&a);
        drill_state_done(&b);
}

/* ---- the state machine on facts ---- */

static struct drill_state planned(void)
{
        struct drill_state s = { .nvram_refused = -1 };
        struct drill_facts f = { .booted = PU0, .boot_next = -1, .boot_id = BID1, .now = 1000 };
        _cleanup_free_ char *why = NULL;

        assert_int_equal(drill_plan(&s, &f, PU1, 3, &why), 0);
        return s;
}

static void test_pending_waits_for_the_next_boot(void **state)
{
        struct drill_state s = planned();
        struct drill_facts f = { .booted = PU0, .boot_next = 3, .boot_id = BID1, .now = 1010 };
        bool del = true;

        assert_int_equal(drill_resolve(&s, &f, &del), DRILL_WAITING);
        assert_false(del);
        assert_true(s.pending.set);
        drill_state_done(&s);
}

static void test_success_records_proven_and_drops_the_pending(void **state)
{
        struct drill_state s = planned();
        struct drill_facts f = {
                .booted = "C0FFEE00-1234-4ABC-8DEF-0123456789AB", /* as systemd-boot writes it */
                .boot_current = 3,
                .boot_next = -1,
                .boot_id = BID2,
                .now = 2000,
        };
        _cleanup_free_ char *text = NULL;
        bool del = true;

        assert_int_equal(drill_resolve(&s, &f, &del), DRILL_PROVEN);
        assert_false(del);
        assert_false(s.pending.set);
        assert_int_equal(drill_state_disk(&s, PU1, false)->proven, 2000);
        assert_int_equal(drill_judge(drill_state_disk(&s, PU1, false), 2100, 86400, &text),
                         DRILL_OK);
        assert_string_equal(text, "proven to boot alone by a drill 100 s ago");
        drill_state_done(&s);
}

static void test_failure_is_critical_until_a_drill_succeeds(void **state)
{
        struct drill_state s = planned();
        struct drill_facts f = {
                .booted = PU0, .boot_current = 1, .boot_next = 3, .boot_id = BID2, .now = 3000
        };
        _cleanup_free_ char *text = NULL, *why = NULL;
        bool del = false;

        assert_int_equal(drill_resolve(&s, &f, &del), DRILL_FAILED);
        assert_true(del); /* BootNext still names the drill's entry: ours, deleted */
        assert_int_equal(drill_state_disk(&s, PU1, false)->failed, 3000);
        assert_string_equal(drill_state_disk(&s, PU1, false)->failed_on, PU0);
        assert_int_equal(drill_judge(drill_state_disk(&s, PU1, false), 3000 + 3 * 86400, 0, &text),
                         DRILL_CRITICAL);
        assert_string_equal(text, "the last drill (3 days ago) FAILED: the firmware started "
                                  "PARTUUID " PU0 " instead of this disk; last successful "
                                  "drill: never (CRITICAL until a drill of this disk succeeds)");
        /* a later drill that succeeds ends it */
        f = (struct drill_facts){ .booted = PU0, .boot_next = -1, .boot_id = BID2, .now = 4000 };
        assert_int_equal(drill_plan(&s, &f, PU1, 3, &why), 0);
        f = (struct drill_facts){ .booted = PU1, .boot_next = -1, .boot_id = BID1, .now = 5000 };
        assert_int_equal(drill_resolve(&s, &f, &del), DRILL_PROVEN);
        free(text);
        assert_int_equal(drill_judge(drill_state_disk(&s, PU1, false), 5000, 0, &text), DRILL_OK);
        drill_state_done(&s);
}

static void test_stale_success_warns_past_the_age(void **state)
{
        struct drill_disk d = { .proven = 1000, .failed = -1 };
        _cleanup_free_ char *text = NULL, *never = NULL;

        assert_int_equal(drill_judge(&d, 1000 + 91 * 86400, 90 * 86400, &text), DRILL_WARNING);
        assert_string_equal(text, "last successful drill 91 days ago, older than prove_max_age (90 "
                                  "days): run dual-root-tool --prove");
        free(text);
        assert_int_equal(drill_judge(&d, 1000 + 89 * 86400, 90 * 86400, &text), DRILL_OK);
        free(text);
        assert_int_equal(drill_judge(&d, 1000 + 900 * 86400, 0, &text), DRILL_OK); /* 0: never */
        assert_int_equal(drill_judge(NULL, 5, 90 * 86400, &never), DRILL_OK);
        assert_non_null(strstr(never, "never drilled"));
}

static void test_someone_elses_boot_next_is_refused(void **state)
{
        struct drill_state s = { .nvram_refused = -1 };
        struct drill_facts f = { .booted = PU0, .boot_next = 5, .boot_id = BID1, .now = 1 };
        _cleanup_free_ char *why = NULL;

        assert_int_equal(drill_plan(&s, &f, PU1, 3, &why), -EBUSY);
        assert_non_null(strstr(why, "BootNext is already set to Boot0005 by someone else"));
        assert_false(s.pending.set);
        /* at boot, someone else's BootNext is left alone */
        s = planned();
        f = (struct drill_facts){ .booted = PU1, .boot_next = 5, .boot_id = BID2, .now = 9 };
        bool del = true;
        assert_int_equal(drill_resolve(&s, &f, &del), DRILL_PROVEN);
        assert_false(del);
        drill_state_done(&s);
}

/* A BootNext of ours that could not be deleted after the drill's boot stays ours: deleted at
 * the next boot while it is there, forgotten once gone, overwritten by --prove (§13 P3). */
static void test_a_stale_boot_next_stays_ours(void **state)
{
        struct drill_state s = { .nvram_refused = -1,
                                 .generation = 2,
                                 .stale_set = true,
                                 .stale_entry = 3 },
                           back = {};
        struct drill_facts f = { .booted = PU0, .boot_next = 3, .boot_id = BID2, .now = 5 };
        _cleanup_free_ char *text = NULL, *why = NULL;
        bool del = false;

        assert_int_equal(drill_state_format(&s, &text), 0);
        assert_non_null(strstr(text, "\nstale-boot-next 0003\n"));
        if (drill_state_parse(text, strlen(text), &back, &why) < 0)
                fail_msg("%s", strna(why));
        assert_true(back.stale_set);
        assert_int_equal(back.stale_entry, 3);
        drill_state_done(&back);

        /* still set: deleted again; --prove may overwrite it */
        assert_int_equal(drill_resolve(&s, &f, &del), DRILL_NONE);
        assert_true(del);
        assert_true(s.stale_set);
        assert_int_equal(drill_plan(&s, &f, PU1, 3, &why), 0);
        assert_true(s.pending.set);
        /* someone else's BootNext is still refused */
        s.pending = (struct drill_pending){};
        f.boot_next = 5;
        free(why);
        why = NULL;
        assert_int_equal(drill_plan(&s, &f, PU1, 3, &why), -EBUSY);
        /* gone or pointing elsewhere: forgotten, never deleted */
        del = true;
        assert_int_equal(drill_resolve(&s, &f, &del), DRILL_NONE);
        assert_false(del);
        assert_false(s.stale_set);
        drill_state_done(&s);

        /* a second line or a malformed entry is refused with its line */
        static const struct {
                const char *text, *line;
        } bad[] = {
                { "dual-root-drill 1\ngeneration 1\nstale-boot-next 0003\nstale-boot-next 0004\n",
                  "line 4: a second stale-boot-next" },
                { "dual-root-drill 1\ngeneration 1\nstale-boot-next 3\n",
                  "line 3: the Boot#### number is '3'" },
                { "dual-root-drill 1\ngeneration 1\nstale-boot-next 00x3\n",
                  "line 3: the Boot#### number is '00x3'" },
                { "dual-root-drill 1\ngeneration 1\nstale-boot-next 0003 x\n",
                  "line 3: unexpected 'x' at the end" },
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                free(why);
                why = NULL;
                assert_int_equal(drill_state_parse(bad[i].text, strlen(bad[i].text), &back, &why),
                                 -EBADMSG);
                if (!strstr(why, bad[i].line))
                        fail_msg("case %zu: got '%s', expected '%s'", i, why, bad[i].line);
        }
}

static void test_unknown_booted_esp_keeps_the_drill(void **state)
{
        struct drill_state s = planned();
        struct drill_facts f = { .booted = NULL, .boot_next = -1, .boot_id = BID2, .now = 9 };
        bool del;

        assert_int_equal(drill_resolve(&s, &f, &del), DRILL_UNKNOWN);
        assert_true(s.pending.set);
        assert_null(drill_state_disk(&s, PU1, false));
        drill_state_done(&s);
}

static void test_plan_refuses_the_booted_disk(void **state)
{
        struct drill_state s = { .nvram_refused = -1 };
        struct drill_facts f = { .booted = PU0, .boot_next = -1, .boot_id = BID1, .now = 1 };
        _cleanup_free_ char *why = NULL;

        assert_int_equal(drill_plan(&s, &f, "6A1E0C5B-0000-4A4A-8000-00000000E0E0", 1, &why),
                         -EINVAL);
        assert_false(s.pending.set);
}

/* ---- on efivars directories and ESP trees ---- */

static void test_prove_writes_boot_next_and_the_record_on_both(void **state)
{
        struct env *e = *state;
        struct esp_model *m = boot1(e);
        _cleanup_free_ char *out = NULL, *why = NULL, *bn = NULL, *r0 = NULL, *r1 = NULL;
        _cleanup_free_ char *bnp = join(e->efivars, "BootNext" GUID);
        size_t n = 0;

        if (prove(m, NULL, false, &out, &why) != 0)
                fail_msg("%s", strna(why));
        assert_int_equal(read_full_file(bnp, 64, &bn, &n), 0);
        assert_int_equal(n, 6);
        assert_memory_equal(bn, "\x07\x00\x00\x00\x03\x00", 6); /* NV|BS|RT, Boot0003 */
        r0 = record_of(e->esp0);
        r1 = record_of(e->esp1);
        assert_non_null(r0);
        assert_non_null(r1);
        assert_string_equal(r0, r1);
        assert_non_null(strstr(r0, "\npending " PU1 " 0003 "));
        assert_non_null(strstr(out, "setting BootNext to Boot0003"));
        esp_model_free(m);
}

static void test_prove_in_test_mode_writes_nothing(void **state)
{
        struct env *e = *state;
        struct esp_model *m = boot1(e);
        _cleanup_free_ char *out = NULL, *why = NULL, *bnp = join(e->efivars, "BootNext" GUID);
        _cleanup_free_ char *r0 = NULL;
        struct stat st;

        assert_int_equal(prove(m, e->esp1, true, &out, &why), 0);
        assert_int_equal(stat(bnp, &st), -1);
        assert_null(r0 = record_of(e->esp0));
        assert_non_null(strstr(out, "would set BootNext to Boot0003 \"Linux Boot Manager\""));
        assert_non_null(strstr(out, "would record the pending drill"));
        esp_model_free(m);
}

static void test_prove_refuses_someone_elses_boot_next_and_writes_nothing(void **state)
{
        struct env *e = *state;
        struct esp_model *m = boot1(e);
        _cleanup_free_ char *out = NULL, *why = NULL, *bn = NULL;
        _cleanup_free_ char *bnp = join(e->efivars, "BootNext" GUID);

        mkefivar(e->efivars, "raw", "BootNext" GUID, "070000000500", NULL);
        assert_int_equal(prove(m, NULL, false, &out, &why), -EBUSY);
        assert_non_null(strstr(why, "Boot0005 by someone else"));
        assert_int_equal(read_full_file(bnp, 64, &bn, NULL), 0);
        assert_memory_equal(bn, "\x07\x00\x00\x00\x05\x00", 6);
        assert_null(record_of(e->esp0));
        esp_model_free(m);
}

static void test_prove_twice_is_already_pending(void **state)
{
        struct env *e = *state;
        struct esp_model *m = boot1(e);
        _cleanup_free_ char *out = NULL, *out2 = NULL, *why = NULL;

        assert_int_equal(prove(m, PU1, false, &out, &why), 0);
        assert_int_equal(prove(m, PU1, false, &out2, &why), 1);
        assert_non_null(strstr(why, "already pending"));
        esp_model_free(m);
}

static void test_prove_needs_a_valid_entry_for_the_target(void **state)
{
        struct env *e = *state;
        struct esp_model *m;
        _cleanup_free_ char *out = NULL, *why = NULL;

        mkefivar(e->efivars, "bootentry", "0001", "Linux Boot Manager", "--hd", "1", PU0, NULL);
        mkefivar(e->efivars, "bootcurrent", "1", NULL);
        m = model_from_efivars(e);
        assert_int_equal(prove(m, NULL, false, &out, &why), -ENOENT);
        assert_non_null(strstr(why, "no valid Boot#### starts"));
        assert_null(record_of(e->esp1));
        esp_model_free(m);
}

/* The next boot, a new efivars directory: the firmware consumed BootNext and started Boot0003
 * (disk 1), whose systemd-boot wrote LoaderDevicePartUUID (the fixture, upper case). */
static void test_next_boot_on_the_target_records_proven(void **state)
{
        struct env *e = *state;
        _cleanup_config_free_ struct config *c = config_new_default();
        struct esp_model *m = boot1(e);
        _cleanup_strv_free_ char **warnings = NULL;
        _cleanup_free_ char *out = NULL, *out2 = NULL, *why = NULL, *text = NULL;
        struct drill_state s;

        assert_int_equal(prove(m, NULL, false, &out, &why), 0);
        /* the same boot: -b again (a restarted unit) waits */
        assert_int_equal(at_boot(c, m, BID1, &warnings, &out2), DRILL_WAITING);
        esp_model_free(m);

        new_efivars(e, "efivars-boot2");
        entries(e);
        mkefivar(e->efivars, "bootcurrent", "3", NULL);
        put_fixture(e->efivars, "loader-upper.hex", "LoaderDevicePartUUID-" EFI_LOADER_GUID);
        m = model_from_efivars(e);
        assert_string_equal(m->booted.partuuid, PU1);
        free(out2);
        assert_int_equal(at_boot(c, m, BID2, &warnings, &out2), DRILL_PROVEN);
        assert_non_null(strstr(out2, "recording the drill of PARTUUID " PU1 ": proven (came up on "
                                     "PARTUUID " PU1 ", BootCurrent Boot0003)"));
        s = load_both(e);
        assert_false(s.pending.set);
        assert_true(drill_state_disk(&s, PU1, false)->proven > 0);
        assert_int_equal(drill_judge(drill_state_disk(&s, PU1, false), (int64_t)time(NULL),
                                     90 * 86400, &text),
                         DRILL_OK);
        assert_null(warnings);
        drill_state_done(&s);
        esp_model_free(m);
}

/* The next boot came up on disk 0 (BootNext's entry failed, the firmware fell back to
 * BootOrder) and left BootNext set: failed recorded, BootNext deleted. */
static void test_next_boot_elsewhere_records_failed_and_deletes_boot_next(void **state)
{
        struct env *e = *state;
        _cleanup_config_free_ struct config *c = config_new_default();
        struct esp_model *m = boot1(e);
        _cleanup_strv_free_ char **warnings = NULL;
        _cleanup_free_ char *out = NULL, *out2 = NULL, *why = NULL, *bnp = NULL;
        struct drill_state s;
        struct stat st;

        assert_int_equal(prove(m, NULL, false, &out, &why), 0);
        esp_model_free(m);

        new_efivars(e, "efivars-boot2");
        m = boot1(e);
        mkefivar(e->efivars, "raw", "BootNext" GUID, "070000000300", NULL);
        assert_int_equal(at_boot(c, m, BID2, &warnings, &out2), DRILL_FAILED);
        assert_non_null(strstr(out2, "deleting BootNext (Boot0003"));
        assert_non_null(strstr(out2, ": FAILED (came up on PARTUUID " PU0 ", BootCurrent "
                                     "Boot0001)"));
        bnp = join(e->efivars, "BootNext" GUID);
        assert_int_equal(stat(bnp, &st), -1);
        s = load_both(e);
        assert_true(drill_state_disk(&s, PU1, false)->failed > 0);
        assert_string_equal(drill_state_disk(&s, PU1, false)->failed_on, PU0);
        assert_false(s.pending.set);
        drill_state_done(&s);
        esp_model_free(m);
}

static void test_a_malformed_record_is_an_error_not_no_drill(void **state)
{
        struct env *e = *state;
        struct esp_model *m = boot1(e);
        _cleanup_free_ char *out = NULL, *why = NULL;

        put(e->esp1, DRILL_STATE_FILE, "dual-root-drill 1\ngeneration x\n");
        assert_int_equal(prove(m, NULL, false, &out, &why), -EBADMSG);
        assert_non_null(strstr(why, "efi1/.dual-root-drill: line 2: the generation is 'x'"));
        esp_model_free(m);
}

static void test_entries_warn_or_are_recreated(void **state)
{
        struct env *e = *state;
        _cleanup_config_free_ struct config *c = config_new_default();
        _cleanup_strv_free_ char **warnings = NULL;
        _cleanup_free_ char *out = NULL, *why = NULL;
        struct esp_model *m;
        size_t size;
        FILE *f;

        /* disk 1 without an entry */
        mkefivar(e->efivars, "bootentry", "0001", "Linux Boot Manager", "--hd", "1", PU0, NULL);
        mkefivar(e->efivars, "bootorder", "1", NULL);
        mkefivar(e->efivars, "bootcurrent", "1", NULL);
        m = model_from_efivars(e);
        f = open_memstream(&out, &size);
        assert_int_equal(drill_assert_entries(c, m, false, f, &warnings, &why), 1);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(strv_length(warnings), 1);
        assert_non_null(strstr(warnings[0], "efi1 has no valid firmware boot entry in BootOrder "
                                            "(fix_boot_entries = \"warn\""));
        assert_string_equal(out, "");
        esp_model_free(m);
}

static void test_fallback_must_start_the_real_loader(void **state)
{
        struct env *e = *state;
        _cleanup_close_ int fd = open(e->esp1, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        assert_int_equal(drill_fallback_is_loader(fd), -ENOENT);
        put_efi(e->esp1, "EFI/BOOT/BOOT" EFI_ARCH_UPPER ".EFI", 16384);
        assert_int_equal(drill_fallback_is_loader(fd), 1);
        put_efi(e->esp1, "EFI/BOOT/BOOT" EFI_ARCH_UPPER ".EFI", 32768);
        assert_int_equal(drill_fallback_is_loader(fd), 0);
        put(e->esp1, "EFI/BOOT/fb" EFI_ARCH ".efi", "shim fallback");
        assert_int_equal(drill_fallback_is_loader(fd), -EMEDIUMTYPE);
}

static void test_config_keys(void **state)
{
        static const char good[] = "prove_max_age = 0\nfix_boot_entries = \"auto\"\n";
        static const char bad[] = "fix_boot_entries = \"always\"\n";
        _cleanup_config_free_ struct config *d = config_new_default();
        struct config *c = NULL;
        _cleanup_free_ char *why = NULL;

        assert_int_equal(d->prove_max_age, 90 * 86400 * USEC_PER_SEC);
        assert_int_equal(d->fix_boot_entries, FIX_BOOT_ENTRIES_WARN);
        assert_int_equal(config_parse("x.conf", good, strlen(good), &c, &why), 0);
        assert_int_equal(c->prove_max_age, 0);
        assert_int_equal(c->fix_boot_entries, FIX_BOOT_ENTRIES_AUTO);
        config_free(c);
        assert_int_equal(config_parse("x.conf", bad, strlen(bad), &c, &why), -EINVAL);
        assert_string_equal(why, "x.conf:1:20: fix_boot_entries = \"always\" is not a mode, "
                                 "expected \"warn\" or \"auto\"");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_record_round_trips),
                cmocka_unit_test(test_parser_is_strict_and_names_the_line),
                cmocka_unit_test(test_parser_refuses_nul_and_size),
                cmocka_unit_test(test_merge_keeps_the_latest_of_each),
                cmocka_unit_test(test_pending_waits_for_the_next_boot),
                cmocka_unit_test(test_success_records_proven_and_drops_the_pending),
                cmocka_unit_test(test_failure_is_critical_until_a_drill_succeeds),
                cmocka_unit_test(test_stale_success_warns_past_the_age),
                cmocka_unit_test(test_someone_elses_boot_next_is_refused),
                cmocka_unit_test(test_a_stale_boot_next_stays_ours),
                cmocka_unit_test(test_unknown_booted_esp_keeps_the_drill),
                cmocka_unit_test(test_plan_refuses_the_booted_disk),
                cmocka_unit_test_setup_teardown(test_prove_writes_boot_next_and_the_record_on_both,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_prove_in_test_mode_writes_nothing, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(
                        test_prove_refuses_someone_elses_boot_next_and_writes_nothing, setup,
                        teardown),
                cmocka_unit_test_setup_teardown(test_prove_twice_is_already_pending, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_prove_needs_a_valid_entry_for_the_target,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_next_boot_on_the_target_records_proven, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(
                        test_next_boot_elsewhere_records_failed_and_deletes_boot_next, setup,
                        teardown),
                cmocka_unit_test_setup_teardown(test_a_malformed_record_is_an_error_not_no_drill,
                                                setup, teardown),
                cmocka_unit_test_setup_teardown(test_entries_warn_or_are_recreated, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_fallback_must_start_the_real_loader, setup,
                                                teardown),
                cmocka_unit_test(test_config_keys),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

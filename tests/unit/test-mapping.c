/* SPDX-License-Identifier: MIT */
/*
 * src/util/mapping.c: the idle daemon's release of clean file pages (DESIGN.md §15). Run on this
 * very process: a read-only private mapping of a file loses its resident pages and reads the
 * same bytes after; a private mapping written and then made read-only (as RELRO is) keeps its
 * pages and what was written. The parse, on a fixture: only what is clean is taken; a
 * malformed smaps is refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "util/fileio.h"
#include "util/macro.h"
#include "util/mapping.h"

#define LEN (16 * 4096)

/* Resident kB of the mapping starting at addr, from /proc/self/smaps; -1 when not found. */
static long rss_kb_of(const void *addr)
{
        _cleanup_fclose_ FILE *f = fopen("/proc/self/smaps", "re");
        char line[512];
        bool in = false;

        assert_non_null(f);
        while (fgets(line, sizeof(line), f)) {
                uintptr_t start, end;
                long kb;

                if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " ", &start, &end) == 2)
                        in = start == (uintptr_t)addr;
                else if (in && sscanf(line, "Rss: %ld kB", &kb) == 1)
                        return kb;
        }
        return -1;
}

static int pattern_file(char *path)
{
        _cleanup_free_ unsigned char *buf = malloc(LEN);
        int fd;

        assert_non_null(buf);
        for (size_t i = 0; i < LEN; i++)
                buf[i] = (unsigned char)(i * 7 + 3);
        fd = mkostemp(path, O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, buf, LEN), LEN);
        assert_int_equal(fsync(fd), 0);
        return fd;
}

static unsigned sum(const volatile unsigned char *p)
{
        unsigned s = 0;

        for (size_t i = 0; i < LEN; i += 64)
                s += p[i];
        return s;
}

static void test_clean_file_pages_are_released_and_read_back(void **state)
{
        char path[] = "/tmp/test-mapping.XXXXXX";
        _cleanup_close_ int fd = pattern_file(path);
        unsigned char *clean, *relro;
        unsigned before;
        uint64_t released = 0;

        (void)state;
        clean = mmap(NULL, LEN, PROT_READ, MAP_PRIVATE, fd, 0);
        assert_true(clean != MAP_FAILED);
        relro = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
        assert_true(relro != MAP_FAILED);
        relro[5] = 0xAB; /* a page of its own, as relocations make */
        assert_int_equal(mprotect(relro, LEN, PROT_READ), 0);
        before = sum(clean);
        (void)sum(relro);
        assert_true(rss_kb_of(clean) > 0);

        assert_int_equal(mappings_release_clean(&released), 0);
        assert_true(released >= LEN);
        assert_int_equal(rss_kb_of(clean), 0);
        assert_true(rss_kb_of(relro) > 0);

        /* read back: the file's bytes; the written page kept */
        assert_int_equal(sum(clean), before);
        assert_int_equal(clean[5], (unsigned char)(5 * 7 + 3));
        assert_int_equal(relro[5], 0xAB);
        assert_int_equal(relro[6], (unsigned char)(6 * 7 + 3));

        assert_int_equal(munmap(clean, LEN), 0);
        assert_int_equal(munmap(relro, LEN), 0);
        assert_int_equal(unlink(path), 0);
}

/* The fixture: of nine mappings, two may go: the program's read-only header and its code.
 * Kept: RELRO (anonymous pages), data, heap, libc's code (locked), libc's rodata (nothing
 * resident), a shared mapping, the vdso (no file). */
static void test_parse_keeps_what_is_not_clean(void **state)
{
        _cleanup_free_ struct mapping_range *r = NULL;
        _cleanup_free_ char *text = NULL, *path = NULL;
        size_t n = 0;

        (void)state;
        assert_true(asprintf(&path, "%s/smaps/mixed", getenv("FIXTURES")) > 0);
        assert_int_equal(read_full_file(path, 1 << 20, &text, NULL), 0);
        assert_int_equal(mappings_parse_clean(text, &r, &n), 0);
        assert_int_equal(n, 2);
        assert_true(r[0].start == 0x55d0a0000000 && r[0].end == 0x55d0a0007000);
        assert_int_equal(r[0].rss_kb, 28);
        assert_true(r[1].start == 0x55d0a0007000 && r[1].end == 0x55d0a005f000);
        assert_int_equal(r[1].rss_kb, 164);
}

static void test_malformed_smaps_is_refused(void **state)
{
        static const char *bad[] = {
                "Rss: 4 kB\n",            /* a field before any mapping */
                "not a mapping at all\n", /* no header */
                "0-1000 r-xp 0 08:01 12 /x\nRss: 4 kB\ngarbage\n",
                "0-1000 r-xp\n", /* a header cut short */
        };

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct mapping_range *r = (void *)1;
                size_t n = 7;

                assert_int_equal(mappings_parse_clean(bad[i], &r, &n), -EBADMSG);
                /* written only on success */
                assert_true(r == (void *)1);
                assert_int_equal(n, 7);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_clean_file_pages_are_released_and_read_back),
                cmocka_unit_test(test_parse_keeps_what_is_not_clean),
                cmocka_unit_test(test_malformed_smaps_is_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

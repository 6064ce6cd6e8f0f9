/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The hand-assembled efivars fixtures (tests/fixtures/efivars/NAME.hex) for unit tests: read
 * into bytes, or written into an efivars directory. Include after <cmocka.h> and
 * tests/tools/efi-encode.h (or what includes it).
 */

#include "util/fileio.h"
#include "util/macro.h"

/* Reads a fixture (tests/fixtures/efivars/NAME.hex, format in its README) into bytes. */
static inline void load_fixture(const char *file, struct blob *ret)
{
        _cleanup_free_ char *path = NULL, *text = NULL;
        const char *fixtures = getenv("FIXTURES");

        if (!fixtures)
                fixtures = "tests/fixtures";
        assert_true(asprintf(&path, "%s/efivars/%s", fixtures, file) > 0);
        if (read_full_file(path, 1 << 20, &text, NULL) < 0)
                fail_msg("cannot read fixture %s (is $FIXTURES set?)", path);
        for (const char *p = text; *p;) {
                if (*p == '#') {
                        p += strcspn(p, "\n");
                } else if (strchr(" \t\n", *p)) {
                        p++;
                } else if (p[0] == 'u' && p[1] == '"') {
                        const char *end = strchr(p + 2, '"');

                        assert_non_null(end);
                        for (p += 2; p < end; p++)
                                blob_u16(ret, (uint8_t)*p);
                        p++;
                } else {
                        if (enc_hexval(p[0]) < 0 || enc_hexval(p[1]) < 0)
                                fail_msg("%s: bad token at '%.10s'", path, p);
                        blob_u8(ret, (uint8_t)(enc_hexval(p[0]) << 4 | enc_hexval(p[1])));
                        p += 2;
                }
        }
        assert_false(ret->failed);
}

static inline void put_fixture(const char *dir, const char *file, const char *name)
{
        struct blob b = {};

        load_fixture(file, &b);
        assert_int_equal(efivar_write_raw(dir, name, b.data, b.size), 0);
        blob_done(&b);
}

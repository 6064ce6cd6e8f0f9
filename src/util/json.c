/* SPDX-License-Identifier: MIT */
#include <stdint.h>

#include "util/json.h"
#include "util/strv.h"
#include "util/utf8.h"

void json_write_string(FILE *f, const char *s)
{
        const unsigned char *p = (const unsigned char *)s, *end;

        if (!s) {
                fputs("null", f);
                return;
        }
        end = p + strlen(s);
        fputc('"', f);
        while (*p) {
                size_t n;

                switch (*p) {
                case '"':
                        fputs("\\\"", f);
                        p++;
                        continue;
                case '\\':
                        fputs("\\\\", f);
                        p++;
                        continue;
                case '\n':
                        fputs("\\n", f);
                        p++;
                        continue;
                case '\t':
                        fputs("\\t", f);
                        p++;
                        continue;
                default:
                        break;
                }
                if (*p < 0x20) {
                        fprintf(f, "\\u%04x", *p);
                        p++;
                        continue;
                }
                n = utf8_valid_len(p, (size_t)(end - p));
                if (n == 0) {
                        fputs("\\ufffd", f);
                        p++;
                        continue;
                }
                fwrite(p, 1, n, f);
                p += n;
        }
        fputc('"', f);
}

void json_write_strv(FILE *f, char *const *l)
{
        if (!l) {
                fputs("null", f);
                return;
        }
        fputc('[', f);
        STRV_FOREACH(s, l)
        {
                if (s != l)
                        fputs(", ", f);
                json_write_string(f, *s);
        }
        fputc(']', f);
}

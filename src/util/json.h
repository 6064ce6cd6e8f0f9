/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdio.h>

/* Writes s as a JSON string literal (RFC 8259 escaping), or null when s is NULL. Bytes that
 * are not valid UTF-8 are written as \ufffd so the output is always valid JSON. */
void json_write_string(FILE *f, const char *s);

/* Writes a JSON array of strings; null when l is NULL. */
void json_write_strv(FILE *f, char *const *l);

/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Length (1..4) of the UTF-8 sequence at s, of at most n bytes (n >= 1), or 0 if it is not
 * valid UTF-8: overlong forms, surrogates and code points above U+10FFFF are refused, as
 * RFC 3629 requires. */
size_t utf8_valid_len(const unsigned char *s, size_t n);

/* Writes code point cp (at most U+10FFFF, not a surrogate) as UTF-8 into buf; returns the
 * number of bytes written (1..4). */
size_t utf8_encode(char buf[4], uint32_t cp);

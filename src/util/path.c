/* SPDX-License-Identifier: MIT */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/path.h"

char *path_strip_trailing_slashes(const char *path)
{
        size_t n = strlen(path);

        while (n > 1 && path[n - 1] == '/')
                n--;
        return strndup(path, n);
}

char *path_normalize(const char *path)
{
        size_t len = strlen(path), k = 0;
        char *n = malloc(len + 1);
        bool after_slash = false;

        if (!n)
                return NULL;
        for (size_t i = 0; i < len; i++) {
                if (path[i] == '/' && after_slash)
                        continue;
                after_slash = path[i] == '/';
                n[k++] = path[i];
        }
        if (k > 1 && after_slash)
                k--;
        n[k] = 0;
        return n;
}

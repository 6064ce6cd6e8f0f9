/* SPDX-License-Identifier: MIT */
#include "ignore.h"
#include "util/macro.h"
#include "util/strv.h"

static const char *const ignored[] = { ESP_IGNORED_ROOT_NAMES };

bool esp_ignored_root_name(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(ignored); i++)
                if (streq(name, ignored[i]))
                        return true;
        return false;
}

int esp_ignore_excludes(char *const *config_excludes, char ***ret)
{
        _cleanup_strv_free_ char **x = strv_copy(config_excludes);

        if (!x)
                return -ENOMEM;
        /* The guard's records first, as rsync's argv has always shown them. */
        for (size_t i = 1; i < ELEMENTSOF(ignored); i++) {
                _cleanup_free_ char *p = NULL;

                if (asprintf(&p, "/%s", ignored[i]) < 0 || strv_extend(&x, p) < 0)
                        return -ENOMEM;
        }
        if (strv_extend(&x, IGNORED_LOST_FOUND) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(x);
        return 0;
}

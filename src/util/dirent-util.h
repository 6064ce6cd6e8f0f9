/* SPDX-License-Identifier: MIT */
#pragma once

#include <dirent.h>

#include "util/macro.h"

static inline void closedirp(DIR **d)
{
        if (*d)
                (void)closedir(*d);
}
#define _cleanup_closedir_ _cleanup_(closedirp)

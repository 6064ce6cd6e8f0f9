/* SPDX-License-Identifier: MIT */
/* The info report (no action given): its text and JSON forms (info-print.h). */
#include <assert.h>
#include <stdio.h>

#include "info-print.h"
#include "util/json.h"
#include "util/strv.h"

const char *info_method_text(const struct efi_boot *b, char *buf, size_t size)
{
        if (b->method != BOOT_METHOD_LOADER && b->boot_entry >= 0)
                snprintf(buf, size, "%s: Boot%04X \"%s\"", boot_method_to_string(b->method),
                         (unsigned)b->boot_entry, b->entry_description ? b->entry_description : "");
        else
                snprintf(buf, size, "%s", boot_method_to_string(b->method));
        return buf;
}

/* What fstab mounts on an ESP mount point, or NULL: named when that ESP is missing. */
static const char *fstab_source(struct libmnt_table *fstab, const char *mount)
{
        struct libmnt_fs *fs =
                fstab && mount ? mnt_table_find_target(fstab, mount, MNT_ITER_FORWARD) : NULL;

        return fs ? mnt_fs_get_source(fs) : NULL;
}

static void print_esp_json(FILE *f, const struct esp *e, bool booted, struct libmnt_table *fstab)
{
        fputs("{", f);
        if (!booted) {
                fputs("\"mount\": ", f);
                json_write_string(f, e->mount);
                fprintf(f, ", \"mounted\": %s, ", e->mounted ? "true" : "false");
                /* a missing disk: what should be there (DESIGN.md §11 rule S1) */
                fputs("\"fstab_source\": ", f);
                json_write_string(f, fstab_source(fstab, e->mount));
                fputs(", ", f);
        }
        fputs("\"device\": ", f);
        json_write_string(f, e->device);
        fputs(", \"partuuid\": ", f);
        json_write_string(f, e->partuuid);
        fputs(", \"uuid\": ", f);
        json_write_string(f, e->uuid);
        fputs(", \"fstype\": ", f);
        json_write_string(f, e->fstype);
        if (booted) {
                fputs(", \"mounts\": ", f);
                json_write_strv(f, e->mounts);
                fputs(", \"esp_mount\": ", f);
                json_write_string(f, e->mount);
        }
        fputs("}", f);
}

void info_print_json(FILE *f, const struct esp_model *m, struct libmnt_table *fstab)
{
        assert(f);
        assert(m);

        fputs("{\"method\": ", f);
        json_write_string(f, m->boot_ok ? boot_method_to_string(m->boot.method) : NULL);
        if (m->boot_ok && m->boot.method != BOOT_METHOD_LOADER) {
                char entry[16];

                snprintf(entry, sizeof(entry), "Boot%04X", (unsigned)m->boot.boot_entry);
                fputs(", \"boot_entry\": ", f);
                json_write_string(f, entry);
                fputs(", \"boot_entry_description\": ", f);
                json_write_string(f, m->boot.entry_description);
                fputs(", \"device_path\": ", f);
                json_write_string(f, m->boot.device_path);
        }
        fputs(", \"booted\": ", f);
        if (m->boot_ok)
                print_esp_json(f, &m->booted, true, fstab);
        else
                fputs("null", f);
        fputs(", \"alternates\": [", f);
        for (size_t i = 0; i < m->n_alternates; i++) {
                if (i > 0)
                        fputs(", ", f);
                print_esp_json(f, &m->alternates[i], false, fstab);
        }
        fputs("], \"error\": ", f);
        json_write_string(f, m->boot_ok && m->device_ok ? NULL : m->why);
        fputs("}\n", f);
}

void info_print_text(FILE *f, const struct esp_model *m, struct libmnt_table *fstab)
{
        char buf[512];

        assert(f);
        assert(m);

        if (m->boot_ok && m->device_ok) {
                _cleanup_free_ char *mounts = strv_join(m->booted.mounts, ", ");
                const struct esp *b = &m->booted;

                fprintf(f, "Booted ESP: %s (found by %s)\n", b->device,
                        info_method_text(&m->boot, buf, sizeof(buf)));
                fprintf(f, "  PARTUUID:  %s\n", b->partuuid);
                fprintf(f, "  UUID:      %s\n", strna(b->uuid));
                fprintf(f, "  Type:      %s\n", strna(b->fstype));
                fprintf(f, "  Mounts:    %s\n", !isempty(mounts) ? mounts : "not mounted");
                fprintf(f, "  ESP mount: %s\n",
                        b->mount ? b->mount : "none of the ESP mount points");
                if (m->boot.method != BOOT_METHOD_LOADER && m->boot.device_path)
                        fprintf(f, "  Path:      %s\n", m->boot.device_path);
        } else if (m->boot_ok) {
                fprintf(f, "Booted ESP: PARTUUID %s (found by %s), no such device\n",
                        m->boot.partuuid, info_method_text(&m->boot, buf, sizeof(buf)));
        } else {
                fprintf(f, "Booted ESP: unknown\n");
        }

        fprintf(f, "%s:%s\n", m->boot_ok && m->device_ok ? "Alternate ESPs" : "ESP mount points",
                m->n_alternates == 0 ? " none" : "");
        for (size_t i = 0; i < m->n_alternates; i++) {
                const struct esp *a = &m->alternates[i];
                const char *want = fstab_source(fstab, a->mount);

                if (!a->mounted && want)
                        fprintf(f,
                                "  %s: not mounted: fstab mounts %s there, which is not present "
                                "(disk missing or replaced?); on a replacement disk run: "
                                "dual-root-tool --add-disk DEVICE\n",
                                a->mount, want);
                else if (!a->mounted)
                        fprintf(f, "  %s: not mounted (disk missing?)\n", a->mount);
                else
                        fprintf(f, "  %s: %s, PARTUUID %s, UUID %s, %s\n", a->mount,
                                strna(a->device), strna(a->partuuid), strna(a->uuid),
                                strna(a->fstype));
        }
}

void info_print_json_error(FILE *f, const char *why)
{
        assert(f);
        fputs("{\"method\": null, \"booted\": null, \"alternates\": [], \"error\": ", f);
        json_write_string(f, why);
        fputs("}\n", f);
}

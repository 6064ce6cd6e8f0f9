#!/bin/bash
# SPDX-License-Identifier: MIT
# --status: the health report and its monitoring exit codes (0 OK, 1 WARNING, 2 CRITICAL,
# 3 UNKNOWN).
. "$(dirname "$0")/lib.sh"

make_two_disk_machine
CONF="$R/etc/dual-root/sync-daemon.conf"

healthy() {
        reset_machine
        booted_by_loader "$PU0"
        mkdir -p "$R/efi0/EFI/systemd"
        echo k >"$R/efi0/vmlinuz"
        run_tool -s -q
        expect_status 0
        run_tool -b -q
        expect_status 0
}

status_ok_when_bound_and_in_sync() {
        healthy
        run_tool --status
        expect_status 0
        expect_stdout_has "OK: 1 alternate ESP identical to the booted ESP /efi0"
}

status_warns_when_an_alternate_differs() {
        healthy
        echo new >"$R/efi0/vmlinuz-new"
        run_tool --status
        expect_status 1
        expect_stdout_has "WARNING: alternate ESP /efi1 differs from the booted ESP /efi0"
}

status_warns_when_an_alternate_is_missing() {
        healthy
        umount "$R/efi1"
        run_tool --status
        expect_status 1
        expect_stdout_has "WARNING: alternate ESP /efi1 is not mounted (disk missing or dead?)"
}

status_warns_when_boot_is_not_bound() {
        healthy
        umount "$R/boot"
        run_tool --status
        expect_status 1
        expect_stdout_has "WARNING: /boot is not a mount point"
}

status_critical_when_boot_holds_another_esp() {
        healthy
        umount "$R/boot"
        mount "$DEV1" "$R/boot"
        run_tool --status
        expect_status 2
        expect_stdout_has "CRITICAL: /boot holds $DEV1, not the booted ESP $DEV0"
}

status_critical_when_the_booted_esp_is_not_mounted() {
        healthy
        umount "$R/boot"
        umount "$R/efi0"
        run_tool --status
        expect_status 2
        expect_stdout_has "CRITICAL: the booted ESP $DEV0 is not mounted on an ESP mount point"
}

status_unknown_when_the_booted_esp_is_unknown() {
        healthy
        efivars_clear
        run_tool --status
        expect_status 3
        expect_stdout_has "UNKNOWN: cannot identify the booted ESP"
}

status_unknown_on_a_config_error() {
        healthy
        printf 'nice = "high"\n' >"$CONF"
        run_tool --status
        expect_status 3
        expect_stdout_has "UNKNOWN: the configuration cannot be read: /etc/dual-root/sync-daemon.conf:1:"
}

status_json_lists_every_finding() {
        healthy
        umount "$R/efi1"
        umount "$R/boot"
        run_tool --status --json
        expect_status 1
        expect_json .status WARNING
        expect_json .code 1
        expect_json '.findings | length' 2
        expect_json '[.findings[].level] | unique | join(",")' WARNING
}

status_warns_without_any_alternate() {
        healthy
        umount "$R/efi1"
        rmdir "$R/efi1"
        run_tool --status
        mkdir "$R/efi1"
        expect_status 1
        expect_stdout_has "WARNING: no alternate ESP (no other /efi<N> directory)"
}

status_warns_about_a_missing_sync_destination() {
        healthy
        mkdir -p "$R/srv/data" "$R/mnt/root1"
        echo x >"$R/srv/data/x"
        printf 'PARTUUID=0badc0de-0000-4000-8000-000000000000 /mnt/root1 ext4 defaults 0 2\n' >"$R/etc/fstab"
        printf 'sync = ["/srv/data", "/mnt/root1/"]\n' >"$CONF"
        run_tool --status
        rm -f "$R/etc/fstab"
        expect_status 1
        expect_stdout_has "sync[0] /srv/data -> /mnt/root1/ would be skipped: '/mnt/root1' is not mounted"
}

status_quiet_prints_nothing() {
        healthy
        run_tool --status -q
        expect_status 0
        [ ! -s "$OUT" ] || fail "stdout not empty"
}

run_case "OK when /boot holds the booted ESP and the alternate is identical" status_ok_when_bound_and_in_sync
run_case "WARNING when an alternate differs" status_warns_when_an_alternate_differs
run_case "WARNING when an alternate is missing" status_warns_when_an_alternate_is_missing
run_case "WARNING when /boot is not bound" status_warns_when_boot_is_not_bound
run_case "CRITICAL when /boot holds another ESP" status_critical_when_boot_holds_another_esp
run_case "CRITICAL when the booted ESP is not mounted" status_critical_when_the_booted_esp_is_not_mounted
run_case "UNKNOWN when the booted ESP cannot be identified" status_unknown_when_the_booted_esp_is_unknown
run_case "UNKNOWN on a config error" status_unknown_on_a_config_error
run_case "--json lists every finding" status_json_lists_every_finding
run_case "WARNING without any alternate ESP" status_warns_without_any_alternate
run_case "WARNING when a sync-list destination is missing" status_warns_about_a_missing_sync_destination
run_case "-q: only the exit code" status_quiet_prints_nothing
finish

#!/bin/bash
# SPDX-License-Identifier: MIT
# The failover drill (DESIGN.md §13) on the efivars directory seam: --prove writes BootNext
# (attributes NV|BS|RT, the other disk's entry number) and the record on both ESPs; the next
# boot is simulated by a new efivars directory and a new kernel boot_id (a file bound over
# /proc/sys/kernel/random/boot_id in this test's mount namespace), and -b records the drill
# proven or failed; --status, --json and the textfile show it. Also: someone else's BootNext,
# a write-protected efivars, naming the disk, the entries kept asserted at boot.
. "$(dirname "$0")/lib.sh"

make_two_disk_machine
GUID=8be4df61-93ca-11d2-aa0d-00e098032b8c
TOOL_ENV="DUAL_ROOT_ESP_FSTYPE=ext4 DUAL_ROOT_SYSFS=/fakesys"
fake_partition "$DEV0" disk0 1 2048 65536
fake_partition "$DEV1" disk1 1 2048 65536

# The kernel's boot_id as the tool reads it: a file of ours bound over the real one.
BOOT_ID="$R/proc/sys/kernel/random/boot_id"
echo 11111111-2222-4333-8444-555555555555 >"$W/boot_id"
mount --bind "$W/boot_id" "$BOOT_ID"
# new_boot ID: the kernel of the next boot.
new_boot() { echo "$1" >"$W/boot_id"; }

# NVRAM as the firmware keeps it: Boot0001 starts disk 0, Boot0003 disk 1, both in BootOrder.
entries() {
        efivar bootentry 0001 "Linux Boot Manager" --hd 1 "$PU0" --start 0x800 --size 0x10000
        efivar bootentry 0003 "disk 1" --hd 1 "$PU1" --start 0x800 --size 0x10000
        efivar bootorder 0001,0003
}

# Booted from disk 0, both ESPs synced, /boot bound; no drill yet.
setup() {
        reset_machine
        new_boot 11111111-2222-4333-8444-555555555555
        booted_by_loader "$PU0"
        entries
        find "$R/efi0" "$R/efi1" -mindepth 1 -maxdepth 1 ! -name lost+found -exec rm -r {} +
        mkdir -p "$R/efi0/EFI/systemd" "$R/efi0/loader/entries"
        loader_file efi 16384 "$R/efi0/EFI/systemd/systemd-bootx64.efi"
        printf 'linux /vmlinuz\n' >"$R/efi0/loader/entries/a.conf"
        loader_file kernel 65536 "$R/efi0/vmlinuz"
        run_tool -s -q
        expect_status 0
        run_tool -b -q
        expect_status 0
}

# next_boot_from PARTUUID [BOOTNEXT]: a new boot, the firmware having started PARTUUID's disk
# (and, if given, left BootNext set to BOOTNEXT, 4 hex digits).
BOOTS=0
next_boot_from() {
        umount "$R/boot"
        BOOTS=$((BOOTS + 1))
        new_boot "9999999$BOOTS-2222-4333-8444-555555555555"
        booted_by_loader "$1"
        entries
        if [ -n "${2:-}" ]; then
                efivar raw "BootNext-$GUID" "07000000${2:2:2}${2:0:2}"
        fi
}

var() { xxd -p "$R/efivars/$1-$GUID" | tr -d '\n'; }

prove_test_mode_shows_it_and_changes_nothing() {
        setup
        before=$(cd "$R" && sha256sum efivars/* efi0/.dual-root* efi1/.dual-root* 2>/dev/null | sort)
        run_tool --prove -t --reboot
        expect_status 0
        expect_stdout_has "would set BootNext to Boot0003 \"disk 1\" (\\EFI\\systemd\\systemd-bootx64.efi on /efi1, PARTUUID $PU1)"
        expect_stdout_has "would record the pending drill of /efi1 in <ESP>/.dual-root-drill on /efi0, /efi1"
        expect_stdout_has "would run: systemctl reboot"
        after=$(cd "$R" && sha256sum efivars/* efi0/.dual-root* efi1/.dual-root* 2>/dev/null | sort)
        [ "$before" = "$after" ] || fail "-t changed the efivars or an ESP"
        [ ! -e "$R/efivars/BootNext-$GUID" ] || fail "-t wrote BootNext"
}

prove_writes_boot_next_and_the_record_on_both_esps() {
        setup
        run_tool --prove
        expect_status 0
        expect_stdout_has "setting BootNext to Boot0003"
        [ "$(var BootNext)" = 070000000300 ] || fail "BootNext is $(var BootNext), expected 07000000 0300 (NV|BS|RT, Boot0003)"
        cmp -s "$R/efi0/.dual-root-drill" "$R/efi1/.dual-root-drill" || fail "the two records differ"
        grep -q "^pending $PU1 0003 [0-9]* $PU0 11111111-2222-4333-8444-555555555555\$" "$R/efi0/.dual-root-drill" ||
                fail "no pending line: $(cat "$R/efi0/.dual-root-drill")"
        run_tool --status
        expect_stdout_has "OK drill: a drill is pending: BootNext = Boot0003"
        # the record is neither synced nor a change the rollback guard would refuse
        run_tool -s
        expect_status 0
        # -b again in the same boot (a restarted unit): the drill waits, BootNext stays
        run_tool -b
        expect_status 0
        [ "$(var BootNext)" = 070000000300 ] || fail "BootNext went away before the reboot"
        grep -q "^pending " "$R/efi1/.dual-root-drill" || fail "the pending drill went away"
        run_tool --prove
        expect_status 0
        expect_stdout_has "a drill of $PU1 is already pending: BootNext is Boot0003"
}

next_boot_on_the_target_records_proven() {
        setup
        run_tool --prove
        expect_status 0
        next_boot_from "$PU1"
        run_tool -b
        expect_status 0
        expect_stdout_has "recording the drill of PARTUUID $PU1: proven (came up on PARTUUID $PU1"
        ! grep -q "^pending" "$R/efi0/.dual-root-drill" || fail "the drill is still pending"
        cmp -s "$R/efi0/.dual-root-drill" "$R/efi1/.dual-root-drill" || fail "the two records differ"
        run_tool --status --json --textfile /tmp/dr.prom
        now=$(date +%s)
        t=$(jq -r '.esps[] | select(.mount == "/efi1") | .last_proven' "$OUT")
        [ "$t" -gt $((now - 60)) ] && [ "$t" -le "$now" ] || fail "last_proven of /efi1 is $t, expected about $now"
        expect_json '.esps[] | select(.mount == "/efi1") | .prove_failed' false
        expect_json '.esps[] | select(.mount == "/efi0") | .last_proven' null
        grep -q "^dualroot_disk_last_proven_timestamp_seconds{mountpoint=\"/efi1\",partuuid=\"$PU1\"} $t\$" "$R/tmp/dr.prom" ||
                fail "textfile lacks the proven time: $(grep proven "$R/tmp/dr.prom")"
        grep -q "^dualroot_disk_prove_failed{mountpoint=\"/efi1\",partuuid=\"$PU1\"} 0\$" "$R/tmp/dr.prom" ||
                fail "textfile: prove_failed of /efi1 is not 0"
        grep -q "^dualroot_prove_max_age_seconds 7776000\$" "$R/tmp/dr.prom" || fail "textfile: no prove_max_age"
}

next_boot_elsewhere_records_failed_critical_until_a_success() {
        setup
        run_tool --prove
        expect_status 0
        # BootNext's entry did not start: the firmware fell back to BootOrder (disk 0) and left
        # BootNext set
        next_boot_from "$PU0" 0003
        run_tool -b -q
        expect_status 0
        expect_stderr_has "the failover drill FAILED"
        [ ! -e "$R/efivars/BootNext-$GUID" ] || fail "BootNext was left set after the drill's boot"
        run_tool --status --textfile /tmp/dr.prom
        expect_status 2
        expect_stdout_has "CRITICAL drill: the last drill ("
        expect_stdout_has "FAILED: the firmware started PARTUUID $PU0 instead of this disk"
        # the disk that came up is proven by this boot
        expect_stdout_has "OK drill: this boot started it ("
        grep -q "^dualroot_disk_prove_failed{mountpoint=\"/efi1\",partuuid=\"$PU1\"} 1\$" "$R/tmp/dr.prom" ||
                fail "textfile: prove_failed of /efi1 is not 1"
        grep -q "^dualroot_disk_last_prove_failed_timestamp_seconds{mountpoint=\"/efi1\",partuuid=\"$PU1\"} [0-9]*\$" "$R/tmp/dr.prom" ||
                fail "textfile: no failed time"
        # a drill that succeeds ends it
        run_tool -b -q
        run_tool --prove
        expect_status 0
        next_boot_from "$PU1"
        run_tool -b -q
        expect_status 0
        run_tool --status
        expect_status 0
        expect_stdout_has "OK drill: proven to boot alone by a drill"
}

someone_elses_boot_next_is_refused_and_left_alone() {
        setup
        efivar raw "BootNext-$GUID" 070000000500
        run_tool --prove
        expect_status 1
        expect_stderr_has "BootNext is already set to Boot0005 by someone else"
        [ "$(var BootNext)" = 070000000500 ] || fail "BootNext was changed"
        [ ! -e "$R/efi0/.dual-root-drill" ] || fail "a drill was recorded"
        # at the next boot, someone else's BootNext is not ours to delete
        next_boot_from "$PU0" 0005
        run_tool -b -q
        expect_status 0
        [ "$(var BootNext)" = 070000000500 ] || fail "someone else's BootNext was deleted"
}

write_protected_nvram_says_so_and_stops() {
        setup
        mount --bind "$R/efivars" "$R/efivars"
        mount -o remount,bind,ro "$R/efivars"
        run_tool --prove
        st=$STATUS
        umount "$R/efivars"
        STATUS=$st
        expect_status 1
        expect_stderr_has "the firmware's NVRAM is write-protected: cannot "
        expect_stderr_has "No drill is possible on this machine"
        [ ! -e "$R/efivars/BootNext-$GUID" ] || fail "BootNext was written"
        ! grep -q "^pending" "$R/efi0/.dual-root-drill" || fail "a pending drill was recorded"
        # --status now checks each disk's fallback: none here
        run_tool --status
        expect_status 1
        expect_stdout_has "WARNING drill: the NVRAM refused a write (--prove, at "
        expect_stdout_has "has no fallback \\EFI\\BOOT\\BOOTX64.EFI"
        cp "$R/efi0/EFI/systemd/systemd-bootx64.efi" "$R/efi0/EFI/BOOT/BOOTX64.EFI" 2>/dev/null ||
                { mkdir -p "$R/efi0/EFI/BOOT" && cp "$R/efi0/EFI/systemd/systemd-bootx64.efi" "$R/efi0/EFI/BOOT/BOOTX64.EFI"; }
        run_tool -s -q
        run_tool --status
        expect_stdout_has "fallback \\EFI\\BOOT\\BOOTX64.EFI starts systemd-boot (the same binary)"
}

the_disk_can_be_named() {
        setup
        run_tool --prove -t "$PU1"
        expect_status 0
        expect_stdout_has "would set BootNext to Boot0003"
        run_tool --prove -t /efi1
        expect_status 0
        run_tool --prove -t "$DEV1"
        expect_status 0
        expect_stdout_has "would set BootNext to Boot0003"
        run_tool --prove /efi0
        expect_status 1
        expect_stderr_has "/efi0 is the booted ESP"
        run_tool --prove /efi7
        expect_status 1
        expect_stderr_has "'/efi7' names no ESP of the set"
        run_tool --prove --status
        expect_status 2
        run_tool --reboot
        expect_status 2
        expect_stderr_has "--reboot only applies to --prove"
}

entries_are_kept_asserted_at_boot() {
        setup
        efivars_clear
        booted_by_loader "$PU0"
        efivar bootentry 0001 "Linux Boot Manager" --hd 1 "$PU0" --start 0x800 --size 0x10000
        efivar bootorder 0001
        run_tool -b -q
        expect_status 0
        expect_stderr_has "/efi1 has no valid firmware boot entry in BootOrder (fix_boot_entries = \"warn\""
        [ ! -e "$R/efivars/Boot0000-$GUID" ] || fail "an entry was created with fix_boot_entries = warn"
        printf 'fix_boot_entries = "auto"\n' >"$R/etc/dual-root/sync-daemon.conf"
        run_tool --assert-boot-entries -t
        expect_status 0
        expect_stdout_has "/efi1: would create Boot0000 \"dual-root-tool /efi1 (disk1)\""
        [ ! -e "$R/efivars/Boot0000-$GUID" ] || fail "-t created an entry"
        run_tool -b
        expect_status 0
        expect_stdout_has "/efi1: creating Boot0000"
        [ -e "$R/efivars/Boot0000-$GUID" ] || fail "no entry created at boot"
        [ "$(var BootOrder)" = 0700000001000000 ] || fail "BootOrder is $(var BootOrder)"
        run_tool --assert-boot-entries
        expect_status 0
        expect_stderr_empty
}

# The drill's paths under valgrind: no invalid access, no leak (t-valgrind's options).
VG="valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect,possible \
--errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 --track-fds=no"
vg() {
        set +e
        # shellcheck disable=SC2086
        chroot "$R" /usr/bin/env DUAL_ROOT_EFIVARS=/efivars $TOOL_ENV $VG "$TOOL" "$@" >"$OUT" 2>"$ERR"
        STATUS=$?
        set -e
        [ "$STATUS" != 99 ] || fail "valgrind dual-root-tool $*: errors"
}
drill_paths_are_clean_under_valgrind() {
        setup
        vg --prove -t
        expect_status 0
        vg --prove
        expect_status 0
        vg --prove
        expect_status 0
        next_boot_from "$PU0" 0003
        vg -b
        expect_status 0
        vg --status --json --textfile /tmp/vg.prom
        expect_status 2
        vg --assert-boot-entries -t
        expect_status 0
        printf 'dual-root-drill 1\ngeneration x\n' >"$R/efi1/.dual-root-drill"
        vg --prove
        expect_status 1
}

run_case "--prove -t shows BootNext, the record and the reboot, changes nothing" prove_test_mode_shows_it_and_changes_nothing
run_case "--prove: BootNext NV|BS|RT = the other disk's entry, the record on both ESPs" prove_writes_boot_next_and_the_record_on_both_esps
run_case "next boot on the target: proven recorded, --status/--json/textfile show it" next_boot_on_the_target_records_proven
run_case "next boot elsewhere: failed, BootNext deleted, CRITICAL until a drill succeeds" next_boot_elsewhere_records_failed_critical_until_a_success
run_case "someone else's BootNext: refused, never touched" someone_elses_boot_next_is_refused_and_left_alone
run_case "write-protected efivars: says so, stops; the fallbacks are checked" write_protected_nvram_says_so_and_stops
run_case "the disk named by PARTUUID, mount point or device; the booted one refused" the_disk_can_be_named
run_case "entries kept asserted at boot: warn, or recreated with fix_boot_entries = auto" entries_are_kept_asserted_at_boot
if command -v valgrind >/dev/null && ! ldd "$TOOL" | grep -q libasan; then
        run_case "the drill's paths run clean under valgrind" drill_paths_are_clean_under_valgrind
else
        echo "ok - the drill's paths run clean under valgrind # SKIP no valgrind, or an ASan build"
fi
finish

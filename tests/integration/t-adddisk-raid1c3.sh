#!/bin/bash
# SPDX-License-Identifier: MIT
# --add-disk on a 3-device btrfs root (raid1c3) with one device gone, and --status on it
# (DESIGN.md §11 rule S6, §12 rule 7): the missing device is replaced onto the new disk, and
# the follow-up balance raises only the single/dup chunks (to raid1c3, the filesystem's own
# profile) and never converts a raid1c3 chunk (a soft convert to raid1 alone would lower them;
# raising a single system chunk to raid1 beside raid1c3 ones also stops with ENOSPC). One
# definition of redundancy, rootfs.c's, for both.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/adddisk-lib.sh"

command -v mkfs.btrfs >/dev/null && grep -qw btrfs /proc/filesystems || {
        echo "SKIP: no btrfs (mkfs.btrfs, or the kernel's btrfs)"
        exit 77
}

adddisk_machine raid1c3

df_lines() { # KIND -> the profiles of that kind, e.g. "RAID1C3"
        btrfs filesystem df "$R" | sed -n "s/^$1, \([A-Za-z0-9]*\):.*/\1/p" | sort -u | tr '\n' ' '
}

raid1c3_chunks_are_never_lowered() {
        btrfs filesystem show "$R" >"$W/show" 2>&1
        grep -qi missing "$W/show" || fail "the root is not degraded to begin with: $(cat "$W/show")"

        adddisk_up_to_root
        add_disk --add-disk "$NEW"
        expect_status 0
        expect_stdout_has "the root filesystem misses device 2 of 3: replacing it by $P2"
        expect_stdout_lacks "-dconvert=raid1,"
        expect_stdout_lacks "-mconvert=raid1,"
        expect_stdout_has "-mconvert=raid1c3,soft,profiles=single /"
        # the single chunks the degraded mount wrote are raid1c3 again; none became raid1
        for kind in Data Metadata System; do
                [ "$(df_lines $kind)" = "RAID1C3 " ] || fail "$kind not all raid1c3 after the replace: $(btrfs filesystem df "$R")"
        done

        # a data chunk made single (as a degraded mount writes them): the next run raises it,
        # and only it
        btrfs balance start -dconvert=single,limit=1 "$R" >/dev/null 2>&1 ||
                fail "could not make a single data chunk"
        df_lines Data | grep -qw single || fail "no single data chunk: $(btrfs filesystem df "$R")"
        add_disk --add-disk "$NEW" -t
        expect_status 0
        expect_stdout_has "would run: btrfs balance start -dconvert=raid1c3,soft,profiles=single /"
        add_disk --add-disk "$NEW"
        expect_status 0
        expect_stdout_has "kept: $P2 is a device of the root filesystem"
        expect_stdout_has "running: btrfs balance start -dconvert=raid1c3,soft,profiles=single /"
        for kind in Data Metadata System; do
                [ "$(df_lines $kind)" = "RAID1C3 " ] || fail "$kind not all raid1c3: $(btrfs filesystem df "$R")"
        done

        # once more: nothing weak is left, nothing runs
        add_disk --add-disk "$NEW"
        expect_status 0
        expect_stdout_has "kept: every chunk of the root filesystem is redundant (data"
        expect_stdout_has "metadata raid1c3, system raid1c3)"
        expect_stdout_lacks "running: btrfs balance"

        # --status counts the same chunks redundant
        add_disk --status
        expect_stdout_has "root: btrfs on 3 devices, none missing; data"
        expect_stdout_has "metadata raid1c3, system raid1c3"
        expect_stdout_lacks "CRITICAL root"
}

run_case "raid1c3 chunks are never converted to raid1 after a replace" raid1c3_chunks_are_never_lowered
finish

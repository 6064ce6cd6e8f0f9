#!/bin/bash
# SPDX-License-Identifier: MIT
# --add-disk on a single-device btrfs root: without --raid1 the root is not touched and the
# steps are printed; with --raid1 the new disk's partition 2 is added and every chunk becomes
# raid1 (btrfs device add, then a balance of the single/dup chunks alone), once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/adddisk-lib.sh"

adddisk_machine single

single_root_converted_only_when_asked() {
        adddisk_up_to_root
        add_disk --add-disk "$NEW"
        expect_status 0
        expect_stdout_has "not touched: the root is a single-device btrfs; --raid1 adds $P2 and converts it to raid1"
        [ "$(btrfs filesystem show "$R" | grep -c devid)" = 1 ] || fail "the root changed without --raid1"

        add_disk --add-disk "$NEW" --raid1
        expect_status 0
        expect_stdout_has "running: btrfs device add $P2 /"
        expect_stdout_has "running: btrfs balance start -dconvert=raid1,soft,profiles=single -mconvert=raid1,soft,profiles=dup /"
        expect_stderr_has "btrfs balance, chunks relocated: done (in "
        btrfs filesystem show "$R" >"$W/show"
        if [ "$(grep -c devid "$W/show")" != 2 ] || ! grep -q "$P2" "$W/show"; then
                fail "not two devices, one of them $P2: $(cat "$W/show")"
        fi
        btrfs filesystem df "$R" >"$W/df"
        ! grep -E '^(Data|Metadata|System)' "$W/df" | grep -qv RAID1 || fail "chunks not raid1: $(cat "$W/df")"

        add_disk --add-disk "$NEW" --raid1
        expect_status 0
        expect_stdout_has "kept: $P2 is a device of the root filesystem"
        expect_stdout_has "kept: every chunk of the root filesystem is redundant (data raid1, metadata raid1, system raid1)"
        expect_stdout_lacks "running: btrfs"
}

run_case "a single-device btrfs root is converted to raid1 only with --raid1, once" single_root_converted_only_when_asked
finish

#!/bin/bash
# SPDX-License-Identifier: MIT
# --add-disk's root step on a real btrfs: the fake root is a btrfs raid1 across partition 2 of
# disk 0 and disk 1, mounted degraded with disk 1 gone, as after a disk died. The new disk
# gets the layout, its ESP (an ext4 stand-in once the FAT is made: this kernel cannot mount
# vfat), the sync, and `btrfs replace` (btrfs-progs) onto its partition 2; the root then misses
# nothing and every chunk is raid1. Run again, every step keeps what is there.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/adddisk-lib.sh"

adddisk_machine degraded

degraded_root_is_replaced() {
        btrfs filesystem show "$R" >"$W/show" 2>&1
        grep -qi missing "$W/show" || fail "the root is not degraded to begin with: $(cat "$W/show")"

        add_disk --add-disk "$NEW" -t
        expect_status 0
        expect_stdout_has "the root filesystem misses device 2 of 2: replacing it by <the new root partition>"
        expect_stdout_has "would run: btrfs replace start -B 2 '<the new root partition>' /"

        adddisk_up_to_root
        add_disk --add-disk "$NEW"
        expect_status 0
        expect_stdout_has "/dev/$(basename "$P1") is mounted on /efi1 (an earlier run of --add-disk)"
        expect_stdout_has "kept: $P1 is mounted on /efi1"
        expect_stdout_has "synced /efi0/ -> /efi1/"
        expect_stdout_has "created 1 boot entry(ies) for /efi1"
        expect_stdout_has "HD(1,GPT,$(sfdisk --part-uuid "$NEWIMG" 1 | tr '[:upper:]' '[:lower:]'),0x800,0x10000)"
        ls "$R"/efivars/Boot[0-9A-F][0-9A-F][0-9A-F][0-9A-F]-* >/dev/null 2>&1 ||
                fail "no Boot#### variable was written"
        expect_stdout_has "running: btrfs replace start -B 2 $P2 /"
        expect_stderr_has "btrfs replace, copied: done (in "
        cmp -s "$R/efi0/vmlinuz" "$R/efi1/vmlinuz" || fail "/efi1 did not get the booted ESP's files"
        btrfs filesystem show "$R" >"$W/show" 2>&1
        ! grep -qi missing "$W/show" || fail "the root still misses a device: $(cat "$W/show")"
        grep -q "$P2" "$W/show" || fail "$P2 is not a device of the root: $(cat "$W/show")"
        btrfs filesystem df "$R" >"$W/df"
        ! grep -E '^(Data|Metadata|System)' "$W/df" | grep -qv RAID1 || fail "chunks not raid1: $(cat "$W/df")"
        expect_stdout_has "boot readiness:"
        # the report knows the new ESP as the status verb does (its PARTUUID, its entry)
        expect_stdout_lacks "PARTUUID is unknown"

        # once more: all kept
        add_disk --add-disk "$NEW"
        expect_status 0
        expect_stdout_has "kept: $P2 is a device of the root filesystem"
        expect_stdout_has "kept: every chunk of the root filesystem is redundant"
        expect_stdout_has "kept: /efi1 already has its boot entry"
        expect_stdout_lacks "running: btrfs replace"
        expect_stdout_lacks "running: mkfs.vfat"

        # and -t on the finished disk: every step says it keeps what is there
        add_disk --add-disk "$NEW" -t
        expect_status 0
        expect_stdout_has "ESP: $P1 (PARTUUID"
        expect_stdout_has "kept: $P1 is mounted on /efi1"
        expect_stdout_has "kept: $P2 is a device of the root filesystem"
        expect_stdout_lacks "would run"
}

run_case "a degraded btrfs root gets its missing device replaced by the new disk, once" degraded_root_is_replaced
finish

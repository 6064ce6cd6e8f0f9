#!/bin/bash
# SPDX-License-Identifier: MIT
# An ESP on md RAID1 (DESIGN.md §11 rule S12): the booted ESP carries an md superblock of
# metadata 1.0 at its end (as anaconda and installimage make ESP mirrors; written here by
# tests/tools/mkmdsb, since this kernel has no md to run mdadm --create). Every verb refuses
# it as one of our ESPs, saying why and how to split it; --status is CRITICAL; nothing is
# written.
. "$(dirname "$0")/lib.sh"

make_two_disk_machine
TOOL_ENV="DUAL_ROOT_ESP_FSTYPE=ext4"

machine() {
        reset_machine
        booted_by_loader "$PU0"
        efivar bootentry 0001 "Disk 0" --hd 1 "$PU0"
        efivar bootentry 0002 "Disk 1" --hd 1 "$PU1"
        efivar bootorder 0001,0002
        mkdir -p "$R/efi0/EFI/systemd" "$R/efi0/loader/entries"
        echo sd-boot >"$R/efi0/EFI/systemd/systemd-bootx64.efi"
        printf 'linux /vmlinuz\n' >"$R/efi0/loader/entries/a.conf"
        echo k >"$R/efi0/vmlinuz"
}

plain_esp_is_ours() {
        machine
        run_tool -s -q
        expect_status 0
        run_tool --status
        expect_stdout_lacks "is on md RAID"
}

esp_md_member_is_refused_with_the_way_out() {
        machine
        "$MKMDSB" "$DEV0"
        [ "$(blkid -p -o value -s TYPE "$DEV0")" = linux_raid_member ] ||
                fail "mkmdsb wrote no superblock libblkid sees: $(blkid -p "$DEV0")"
        rm -rf "$R/efi1/EFI" "$R/efi1/loader"
        run_tool --status
        expect_status 2
        expect_stdout_has "CRITICAL: the booted ESP $DEV0 (PARTUUID $PU0) is on md RAID (member $DEV0): the firmware writes to one member alone"
        expect_stdout_has "Split it into two independent ESPs, one member at a time"
        expect_stdout_has "it is not assembled now: 1. mdadm --zero-superblock $DEV0 (the FAT at its start stays)"
        run_tool -s
        [ "$STATUS" -ne 0 ] || fail "-s synced from an md member"
        expect_stderr_has "is on md RAID (member $DEV0)"
        [ ! -e "$R/efi1/EFI" ] || fail "-s wrote to /efi1 although the booted ESP is refused"
        run_tool --add-disk /dev/null -t
        [ "$STATUS" -ne 0 ] || fail "--add-disk -t went on from an md member"
        expect_stderr_has "is on md RAID"
}

run_case "a plain ESP is one of ours" plain_esp_is_ours
run_case "an ESP that is an md 1.0 member is refused, with the way out" esp_md_member_is_refused_with_the_way_out
finish

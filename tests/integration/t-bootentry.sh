#!/bin/bash
# SPDX-License-Identifier: MIT
# --fix-boot-entries (DESIGN.md §11 rules E1-E4) on loop devices: a Boot#### for the ESP that
# has none, appended to BootOrder, -t changing nothing, other entries left byte for byte, and
# --status agreeing afterwards. The partitions' numbers, starts and sizes come from a fake sysfs
# (DUAL_ROOT_SYSFS): loop devices are no partitions.
. "$(dirname "$0")/lib.sh"

make_two_disk_machine
GUID=8be4df61-93ca-11d2-aa0d-00e098032b8c
TOOL_ENV="DUAL_ROOT_ESP_FSTYPE=ext4 DUAL_ROOT_SYSFS=/fakesys"

fake_partition "$DEV0" disk0 1 2048 65536
fake_partition "$DEV1" disk1 1 2048 65536

# Two ESPs with systemd-boot and an entry; only disk 0 has a Boot####.
setup() {
        reset_machine
        booted_by_loader "$PU0"
        efivar bootentry 0001 "Linux Boot Manager" --hd 1 "$PU0" --start 0x800 --size 0x10000
        efivar bootorder 0001
        find "$R/efi0" "$R/efi1" -mindepth 1 -maxdepth 1 ! -name lost+found -exec rm -r {} +
        mkdir -p "$R/efi0/EFI/systemd" "$R/efi0/loader/entries"
        echo sd-boot >"$R/efi0/EFI/systemd/systemd-bootx64.efi"
        printf 'linux /vmlinuz\n' >"$R/efi0/loader/entries/a.conf"
        echo k >"$R/efi0/vmlinuz"
        run_tool -s -q
        expect_status 0
        run_tool -b -q
        expect_status 0
}

var() { xxd -p "$R/efivars/$1-$GUID" | tr -d '\n'; }

fix_test_mode_prints_the_plan_and_changes_nothing() {
        setup
        before=$(cd "$R/efivars" && sha256sum ./* | sort)
        run_tool --fix-boot-entries -t
        expect_status 0
        expect_stdout_has "/efi0: Boot0001 \"Linux Boot Manager\" starts it (\\EFI\\systemd\\systemd-bootx64.efi), in BootOrder: nothing to do"
        expect_stdout_has "/efi1: would create Boot0000 \"dual-root-tool /efi1 (disk1)\": HD(1,GPT,$PU1,0x800,0x10000)/File(\\EFI\\systemd\\systemd-bootx64.efi)"
        expect_stdout_has "would set BootOrder 0001,0000"
        expect_stdout_has "1 boot entry would be created"
        after=$(cd "$R/efivars" && sha256sum ./* | sort)
        [ "$before" = "$after" ] || fail "-t changed the efivars directory"
}

fix_creates_the_entry_and_status_then_agrees() {
        setup
        run_tool --status
        expect_status 2
        expect_stdout_has "CRITICAL firmware: no boot entry names /efi1 (PARTUUID $PU1)"
        run_tool --fix-boot-entries
        expect_status 0
        expect_stdout_has "/efi1: creating Boot0000 \"dual-root-tool /efi1 (disk1)\""
        expect_stdout_has "setting BootOrder 0001,0000"
        [ "$(var BootOrder)" = 0700000001000000 ] || fail "BootOrder is $(var BootOrder), expected 07000000 0100 0000"
        run_tool --status
        expect_status 0
        expect_stdout_has "OK firmware: Boot0000 \"dual-root-tool /efi1 (disk1)\" starts \\EFI\\systemd\\systemd-bootx64.efi, number 2 in BootOrder"
        run_tool --fix-boot-entries
        expect_status 0
        expect_stdout_has "0 boot entries created"
}

fix_leaves_other_entries_alone() {
        setup
        efivar bootentry 0000 "Vendor entry" --hd 1 "$PU1" --file '\EFI\vendor\grubx64.efi'
        efivar bootorder 0001,0000
        before=$(var Boot0000)
        run_tool --fix-boot-entries
        expect_status 0
        [ "$(var Boot0000)" = "$before" ] || fail "Boot0000 was rewritten"
        expect_stdout_has "/efi1: creating Boot0002"
        [ "$(var BootOrder)" = 07000000010000000200 ] || fail "BootOrder is $(var BootOrder)"
}

fix_uses_the_fallback_path_without_systemd_boot() {
        setup
        rm -r "$R/efi1/EFI/systemd"
        mkdir -p "$R/efi1/EFI/BOOT"
        echo loader >"$R/efi1/EFI/BOOT/BOOTX64.EFI"
        run_tool --fix-boot-entries
        expect_status 0
        expect_stdout_has ")/File(\\EFI\\BOOT\\BOOTX64.EFI)"
}

fix_fails_naming_an_esp_without_a_loader() {
        setup
        rm -r "$R/efi1/EFI"
        run_tool --fix-boot-entries
        expect_status 1
        expect_stderr_has "/efi1 holds no boot loader to start (neither \\EFI\\systemd\\systemd-bootx64.efi nor \\EFI\\BOOT\\BOOTX64.EFI): sync it from the booted ESP first"
        expect_once "holds no boot loader to start"
        [ ! -e "$R/efivars/Boot0000-$GUID" ] || fail "an entry was created anyway"
}

fix_refuses_a_device_that_is_no_partition() {
        setup
        TOOL_ENV="DUAL_ROOT_ESP_FSTYPE=ext4" run_tool --fix-boot-entries
        expect_status 1
        expect_stderr_has "/efi1 ($DEV1): "
        expect_stderr_has "is not a partition ("
        [ ! -e "$R/efivars/Boot0000-$GUID" ] || fail "an entry was created anyway"
}

fix_skips_a_missing_esp() {
        setup
        umount "$R/efi1"
        run_tool --fix-boot-entries
        expect_status 0
        expect_stdout_has "/efi1: not mounted (disk missing?), skipped"
}

fix_is_an_action_of_its_own() {
        setup
        run_tool --fix-boot-entries --status
        expect_status 2
        expect_stderr_has "--fix-boot-entries is an action of its own"
}

fix_quiet_says_nothing() {
        setup
        run_tool --fix-boot-entries -q
        expect_status 0
        [ ! -s "$OUT" ] || fail "stdout not empty"
        [ -e "$R/efivars/Boot0000-$GUID" ] || fail "no entry created"
}

run_case "-t prints the plan and changes nothing" fix_test_mode_prints_the_plan_and_changes_nothing
run_case "creates the missing entry, appends it, --status agrees" fix_creates_the_entry_and_status_then_agrees
run_case "an entry it did not create is left byte for byte" fix_leaves_other_entries_alone
run_case "the fallback path without systemd-boot" fix_uses_the_fallback_path_without_systemd_boot
run_case "an ESP without a loader: exit 1, named" fix_fails_naming_an_esp_without_a_loader
run_case "a device that is no partition: refused, named" fix_refuses_a_device_that_is_no_partition
run_case "a missing ESP is skipped" fix_skips_a_missing_esp
run_case "--fix-boot-entries combines with no other action" fix_is_an_action_of_its_own
run_case "-q: quiet, and done" fix_quiet_says_nothing
finish

#!/bin/bash
# SPDX-License-Identifier: MIT
# The info report (no action, DESIGN.md §3): which ESP was booted, found by which method, for
# either disk; the ESP set; every way the booted ESP can fail to be identified.
. "$(dirname "$0")/lib.sh"

make_two_disk_machine

info_loader_names_disk0() {
        reset_machine
        booted_by_loader "$PU0"
        run_tool
        expect_status 0
        expect_stdout_has "Booted ESP: $DEV0 (found by LoaderDevicePartUUID)"
        expect_stdout_has "PARTUUID:  $PU0"
        expect_stdout_has "UUID:      $FS0"
        expect_stdout_has "Mounts:    /efi0"
        expect_stdout_has "ESP mount: /efi0"
        expect_stdout_has "/efi1: $DEV1, PARTUUID $PU1, UUID $FS1, ext4"
        expect_stderr_empty
}

info_loader_names_disk1() {
        reset_machine
        booted_by_loader "$PU1"
        run_tool
        expect_status 0
        expect_stdout_has "Booted ESP: $DEV1 (found by LoaderDevicePartUUID)"
        expect_stdout_has "ESP mount: /efi1"
        expect_stdout_has "/efi0: $DEV0, PARTUUID $PU0, UUID $FS0"
}

info_loader_lower_case_without_nul() {
        reset_machine
        efivar loader "$PU1" --no-nul
        run_tool --json
        expect_status 0
        expect_json .method LoaderDevicePartUUID
        expect_json .booted.partuuid "$PU1"
}

info_bootcurrent_short_form_disk1() {
        reset_machine
        efivar bootentry 0003 "Linux esp 1" --hd 1 "$PU1"
        efivar bootentry 0001 "Linux esp 0" --hd 1 "$PU0"
        efivar bootcurrent 0003
        run_tool
        expect_status 0
        expect_stdout_has "Booted ESP: $DEV1 (found by BootCurrent: Boot0003 \"Linux esp 1\")"
        expect_stdout_has "ESP mount: /efi1"
        expect_stdout_has "Path:      HD(1,GPT,$PU1,"
}

info_bootcurrent_full_sata_path_disk0() {
        reset_machine
        efivar bootentry 000A "UEFI OS" --hd 1 "$PU0" --full-sata
        efivar bootcurrent 000A
        run_tool --json
        expect_status 0
        expect_json .method BootCurrent
        expect_json .boot_entry Boot000A
        expect_json .booted.partuuid "$PU0"
        expect_json '.device_path | startswith("PciRoot(0x0)/Pci(")' true
        expect_json '.device_path | contains("/Sata(")' true
}

info_bootcurrent_full_nvme_path_disk1() {
        reset_machine
        efivar bootentry 0004 "UEFI OS" --hd 1 "$PU1" --full-nvme
        efivar bootcurrent 0004
        run_tool --json
        expect_status 0
        expect_json .booted.device "$DEV1"
        expect_json '.device_path | contains("/NVMe(")' true
}

info_loader_wins_over_bootcurrent() {
        reset_machine
        efivar loader "$PU0" --upper
        efivar bootentry 0003 "Linux esp 1" --hd 1 "$PU1"
        efivar bootcurrent 0003
        run_tool --json
        expect_status 0
        expect_json .method LoaderDevicePartUUID
        expect_json .booted.partuuid "$PU0"
}

info_json_has_every_field() {
        reset_machine
        booted_by_loader "$PU0"
        run_tool --json
        expect_status 0
        expect_json .booted.device "$DEV0"
        expect_json .booted.uuid "$FS0"
        expect_json .booted.fstype ext4
        expect_json '.booted.mounts | join(",")' /efi0
        expect_json .booted.esp_mount /efi0
        expect_json '.alternates | length' 1
        expect_json .alternates[0].mount /efi1
        expect_json .alternates[0].mounted true
        expect_json .alternates[0].device "$DEV1"
        expect_json .alternates[0].partuuid "$PU1"
        expect_json .alternates[0].uuid "$FS1"
        expect_json .error null
}

info_bind_mounts_are_listed() {
        reset_machine
        booted_by_loader "$PU0"
        mkdir -p "$R/mnt/elsewhere"
        mount --bind "$R/efi0" "$R/mnt/elsewhere"
        run_tool --json
        umount "$R/mnt/elsewhere"
        expect_status 0
        expect_json '.booted.mounts | join(",")' /efi0,/mnt/elsewhere
        expect_json .booted.esp_mount /efi0
}

info_not_uefi_when_efivars_missing() {
        reset_machine
        rmdir "$R/efivars"
        run_tool
        mkdir "$R/efivars"
        expect_status 1
        expect_stdout_has "Booted ESP: unknown"
        expect_stderr_has "cannot identify the booted ESP: not booted with UEFI"
}

info_no_variables_says_why_for_each_method() {
        reset_machine
        run_tool --json
        expect_status 1
        expect_json .method null
        expect_json .booted null
        expect_stderr_has "cannot identify the booted ESP: LoaderDevicePartUUID is not set, and BootCurrent is not set"
}

info_whole_disk_entry_names_no_partition() {
        reset_machine
        efivar bootentry 0001 "UEFI Misc Device" --whole-disk
        efivar bootcurrent 0001
        run_tool
        expect_status 1
        expect_stderr_has 'Boot0001 ("UEFI Misc Device") names no partition'
        expect_stderr_has "PciRoot(0x0)/Pci(0x5,0x0)"
}

info_unknown_partuuid_fails() {
        reset_machine
        booted_by_loader 0badc0de-0000-4000-8000-000000000000
        run_tool
        expect_status 1
        expect_stderr_has "no block device has PARTUUID 0badc0de-0000-4000-8000-000000000000"
}

info_booted_esp_not_mounted_warns() {
        reset_machine
        booted_by_loader "$PU0"
        umount "$R/efi0"
        run_tool
        expect_status 0
        expect_stdout_has "Booted ESP: $DEV0"
        expect_stdout_has "Mounts:    not mounted"
        expect_stdout_has "/efi0: not mounted"
        expect_stderr_has "the booted ESP $DEV0 is not mounted on any ESP mount point"
}

info_ignores_efi_old_and_symlinks() {
        reset_machine
        booted_by_loader "$PU0"
        mkdir -p "$R/efi-old" "$R/efi" "$R/efiX1"
        mount -t tmpfs tmpfs "$R/efi-old"
        ln -s /efi1 "$R/efi7"
        run_tool --json
        umount "$R/efi-old"
        rmdir "$R/efi-old" "$R/efi" "$R/efiX1"
        rm "$R/efi7"
        expect_status 0
        expect_json '[.alternates[].mount] | join(",")' /efi1
}

info_unmounted_efi_dir_is_a_missing_alternate() {
        reset_machine
        booted_by_loader "$PU0"
        mkdir -p "$R/efi2"
        run_tool
        rmdir "$R/efi2"
        expect_status 0
        expect_stdout_has "/efi2: not mounted (disk missing?)"
        # the report says it; not a warning besides (issue 17.9)
        expect_once "not mounted (disk missing?)"
}

info_json_on_a_config_error_is_json() {
        reset_machine
        booted_by_loader "$PU0"
        printf 'nice = "high"\n' >"$R/etc/dual-root/sync-daemon.conf"
        run_tool --json
        rm "$R/etc/dual-root/sync-daemon.conf"
        expect_status 2
        expect_json .booted null
        expect_json '.error | startswith("/etc/dual-root/sync-daemon.conf:1:8: nice must be an integer")' true
        expect_stderr_empty
        expect_once "nice must be an integer"
}

info_refuses_an_efi_mount_it_does_not_use() {
        reset_machine
        booted_by_loader "$PU0"
        run_tool /mnt
        expect_status 2
        expect_stderr_has "EFI_MOUNT '/mnt' is where --bind mounts the booted ESP and what --status checks; the report without an action does not use it (it works on the ESP mount points /efi<N>): drop it, or add --bind"
        [ ! -s "$OUT" ] || fail "stdout not empty"
        run_tool /boot
        expect_status 0
        expect_stdout_has "Booted ESP: $DEV0"
}

info_esp_set_ordered_by_number() {
        reset_machine
        booted_by_loader "$PU1"
        mkdir -p "$R/efi10" "$R/efi2"
        run_tool --json
        rmdir "$R/efi10" "$R/efi2"
        expect_json '[.alternates[].mount] | join(",")' /efi0,/efi2,/efi10
}

info_esp_mounts_from_config() {
        reset_machine
        booted_by_loader "$PU0"
        mkdir -p "$R/mnt/espb"
        mount --bind "$R/efi1" "$R/mnt/espb"
        printf 'esp_mounts = ["/efi0", "/mnt/espb/"]\n' >"$R/etc/dual-root/sync-daemon.conf"
        run_tool --json
        umount "$R/mnt/espb"
        expect_status 0
        expect_json .booted.esp_mount /efi0
        expect_json '[.alternates[].mount] | join(",")' /mnt/espb
}

info_quiet_prints_nothing() {
        reset_machine
        booted_by_loader "$PU0"
        run_tool -q
        expect_status 0
        [ ! -s "$OUT" ] || fail "stdout not empty in quiet mode"
        expect_stderr_empty
}

G=8be4df61-93ca-11d2-aa0d-00e098032b8c
L=4a67b082-0a4c-41cf-b6c7-440b29bb8c4f

# Each malformed variable against the real binary: a precise reason, exit 1, never a guess.
malformed_loader_partuuid_without_bootcurrent() {
        reset_machine
        efivar raw "LoaderDevicePartUUID-$L" "06 00 00 00 41 00 42"
        run_tool
        expect_status 1
        expect_stderr_has "cannot identify the booted ESP: LoaderDevicePartUUID is malformed (3 bytes, not a whole number of UTF-16 characters), and BootCurrent is not set"
}

malformed_loader_partuuid_falls_back_to_bootcurrent() {
        reset_machine
        efivar loader "$PU0"
        efivar truncate "LoaderDevicePartUUID-$L" 40
        efivar bootentry 0001 "Linux esp 1" --hd 1 "$PU1"
        efivar bootcurrent 0001
        run_tool --json
        expect_status 0
        expect_json .method BootCurrent
        expect_json .booted.partuuid "$PU1"
        expect_stderr_has "warning: LoaderDevicePartUUID"
}

malformed_bootcurrent_size() {
        reset_machine
        efivar raw "BootCurrent-$G" "06 00 00 00 01 00 00"
        run_tool
        expect_status 1
        expect_stderr_has "LoaderDevicePartUUID is not set, and BootCurrent is 3 bytes, expected 2"
}

malformed_boot_entry_missing() {
        reset_machine
        efivar bootcurrent 0003
        run_tool
        expect_status 1
        expect_stderr_has "BootCurrent is 0x0003 but Boot0003 is not set"
}

malformed_boot_entry_truncated() {
        reset_machine
        efivar bootentry 0003 "Linux" --hd 1 "$PU0"
        efivar truncate "Boot0003-$G" 30
        efivar bootcurrent 0003
        run_tool
        expect_status 1
        expect_stderr_has "Boot0003: FilePathListLength 116 exceeds the 8 bytes left"
}

malformed_boot_entry_zero_length_node() {
        reset_machine
        efivar raw "Boot0003-$G" "07 00 00 00 01 00 00 00 08 00 4c 00 00 00 04 01 00 00 7f ff 04 00"
        efivar bootcurrent 0003
        run_tool
        expect_status 1
        expect_stderr_has "Boot0003: device path node 1 at offset 0 (type 0x04, subtype 0x01): length 0 is less than the 4-byte node header"
}

malformed_boot_entry_mbr_partition() {
        reset_machine
        efivar bootentry 0003 "Linux" --hd-mbr 1 0x1234abcd
        efivar bootcurrent 0003
        run_tool
        expect_status 1
        expect_stderr_has "Boot0003 (\"Linux\"): Hard Drive node for partition 1 has an MBR disk signature (0x1234ABCD), not a GPT partition GUID"
}

run_case "the report names disk 0's ESP found by LoaderDevicePartUUID" info_loader_names_disk0
run_case "the report names disk 1's ESP found by LoaderDevicePartUUID" info_loader_names_disk1
run_case "LoaderDevicePartUUID in lower case without NUL is accepted" info_loader_lower_case_without_nul
run_case "BootCurrent with a short-form HD() path names disk 1" info_bootcurrent_short_form_disk1
run_case "BootCurrent with a full SATA path names disk 0" info_bootcurrent_full_sata_path_disk0
run_case "BootCurrent with a full NVMe path names disk 1" info_bootcurrent_full_nvme_path_disk1
run_case "LoaderDevicePartUUID wins over BootCurrent" info_loader_wins_over_bootcurrent
run_case "--json has every field DESIGN.md §3 names" info_json_has_every_field
run_case "bind mounts of the booted ESP are listed" info_bind_mounts_are_listed
run_case "a missing efivars directory means not booted with UEFI" info_not_uefi_when_efivars_missing
run_case "no variables: exit 1, why for each method" info_no_variables_says_why_for_each_method
run_case "a whole-disk boot entry names no partition" info_whole_disk_entry_names_no_partition
run_case "a PARTUUID with no device fails" info_unknown_partuuid_fails
run_case "a booted ESP that is not mounted is reported with a warning" info_booted_esp_not_mounted_warns
run_case "/efi-old, /efi, /efiX1 and symlinks are not ESPs" info_ignores_efi_old_and_symlinks
run_case "an unmounted /efi<N> is a missing alternate" info_unmounted_efi_dir_is_a_missing_alternate
run_case "--json on a config error: JSON with the error, said once" info_json_on_a_config_error_is_json
run_case "EFI_MOUNT the report does not use is refused (the default accepted)" info_refuses_an_efi_mount_it_does_not_use
run_case "the ESP set is ordered by number" info_esp_set_ordered_by_number
run_case "esp_mounts in the config replaces /efi<N> discovery" info_esp_mounts_from_config
run_case "-q prints nothing when all is well" info_quiet_prints_nothing
run_case "malformed LoaderDevicePartUUID, no BootCurrent: exit 1, why" malformed_loader_partuuid_without_bootcurrent
run_case "malformed LoaderDevicePartUUID: BootCurrent answers, with a warning" malformed_loader_partuuid_falls_back_to_bootcurrent
run_case "BootCurrent of the wrong size" malformed_bootcurrent_size
run_case "BootCurrent naming a missing Boot####" malformed_boot_entry_missing
run_case "a truncated Boot####" malformed_boot_entry_truncated
run_case "a device-path node of length 0" malformed_boot_entry_zero_length_node
run_case "a Hard Drive node with an MBR signature" malformed_boot_entry_mbr_partition
finish

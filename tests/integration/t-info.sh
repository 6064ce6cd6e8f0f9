#!/bin/bash
# SPDX-License-Identifier: MIT
# The info report (no action, SPEC 3): which ESP was booted, found by which method, for
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
        expect_stderr_has "LoaderDevicePartUUID"
        expect_stderr_has "BootCurrent"
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
        expect_stderr_has "alternate ESP '/efi2' is not mounted (disk missing?)"
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

run_case "the report names disk 0's ESP found by LoaderDevicePartUUID" info_loader_names_disk0
run_case "the report names disk 1's ESP found by LoaderDevicePartUUID" info_loader_names_disk1
run_case "LoaderDevicePartUUID in lower case without NUL is accepted" info_loader_lower_case_without_nul
run_case "BootCurrent with a short-form HD() path names disk 1" info_bootcurrent_short_form_disk1
run_case "BootCurrent with a full SATA path names disk 0" info_bootcurrent_full_sata_path_disk0
run_case "BootCurrent with a full NVMe path names disk 1" info_bootcurrent_full_nvme_path_disk1
run_case "LoaderDevicePartUUID wins over BootCurrent" info_loader_wins_over_bootcurrent
run_case "--json has every field SPEC 3 names" info_json_has_every_field
run_case "bind mounts of the booted ESP are listed" info_bind_mounts_are_listed
run_case "a missing efivars directory means not booted with UEFI" info_not_uefi_when_efivars_missing
run_case "no variables: exit 1, why for each method" info_no_variables_says_why_for_each_method
run_case "a whole-disk boot entry names no partition" info_whole_disk_entry_names_no_partition
run_case "a PARTUUID with no device fails" info_unknown_partuuid_fails
run_case "a booted ESP that is not mounted is reported with a warning" info_booted_esp_not_mounted_warns
run_case "/efi-old, /efi, /efiX1 and symlinks are not ESPs" info_ignores_efi_old_and_symlinks
run_case "an unmounted /efi<N> is a missing alternate" info_unmounted_efi_dir_is_a_missing_alternate
run_case "the ESP set is ordered by number" info_esp_set_ordered_by_number
run_case "esp_mounts in the config replaces /efi<N> discovery" info_esp_mounts_from_config
run_case "-q prints nothing when all is well" info_quiet_prints_nothing
finish

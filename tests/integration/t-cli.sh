#!/bin/bash
# SPDX-License-Identifier: MIT
# Command line and config handling of the real binary (DESIGN.md §2, 7): usage errors exit 2,
# config errors exit 2 with FILE:LINE:COL before anything is done, bundled short options.
. "$(dirname "$0")/lib.sh"

make_two_disk_machine
CONF="$R/etc/dual-root/sync-daemon.conf"

cli_unknown_option_is_usage_error() {
        reset_machine
        run_tool --frobnicate
        expect_status 2
        expect_stderr_has "unknown option '--frobnicate'"
        run_tool -z
        expect_status 2
        expect_stderr_has "unknown option '-z'"
}

cli_missing_option_argument() {
        reset_machine
        run_tool -c
        expect_status 2
        expect_stderr_has "option '-c' needs an argument"
}

cli_two_positionals_rejected() {
        reset_machine
        run_tool /boot /boot2
        expect_status 2
        expect_stderr_has "expected at most one EFI_MOUNT argument, got 2"
}

cli_relative_efi_mount_rejected() {
        reset_machine
        run_tool -b boot
        expect_status 2
        expect_stderr_has "EFI_MOUNT must be an absolute path, got 'boot'"
}

cli_help_and_version() {
        reset_machine
        run_tool --help
        expect_status 0
        expect_stdout_has "Usage: dual-root-tool [OPTIONS] [EFI_MOUNT]"
        run_tool -V
        expect_status 0
        grep -qxE "dual-root-tool [0-9]+\.[0-9]+\.[0-9]+" "$OUT" || fail "-V printed '$(cat "$OUT")', expected 'dual-root-tool X.Y.Z'"
}

cli_missing_default_config_is_fine() {
        reset_machine
        booted_by_loader "$PU0"
        run_tool
        expect_status 0
}

cli_missing_given_config_is_an_error() {
        reset_machine
        booted_by_loader "$PU0"
        run_tool -c /etc/dual-root/nope.conf
        expect_status 2
        expect_stderr_has "/etc/dual-root/nope.conf: cannot open: No such file or directory"
}

cli_config_syntax_error_names_line_and_column() {
        reset_machine
        booted_by_loader "$PU0"
        printf 'dualroot = true\nnice = \n' >"$CONF"
        run_tool -b
        expect_status 2
        expect_stderr_has "/etc/dual-root/sync-daemon.conf:2:8: expected a value (string, number, boolean or array), found end of line"
        ! mountpoint -q "$R/boot" || fail "a config error still bound /boot"
}

cli_unknown_key_suggests_nearest() {
        reset_machine
        printf 'sync_dealy = 10\n' >"$CONF"
        run_tool --check-config
        expect_status 2
        expect_stderr_has "/etc/dual-root/sync-daemon.conf:1:1: unknown key 'sync_dealy' (did you mean 'sync_delay'?)"
}

cli_out_of_range_value() {
        reset_machine
        printf 'nice = 25\n' >"$CONF"
        run_tool --check-config
        expect_status 2
        expect_stderr_has "/etc/dual-root/sync-daemon.conf:1:8: nice = 25 is out of range"
}

cli_writable_config_refused() {
        reset_machine
        printf 'dualroot = true\n' >"$CONF"
        chmod 0666 "$CONF"
        run_tool --check-config
        expect_status 2
        expect_stderr_has "/etc/dual-root/sync-daemon.conf: writable by group and others (mode 0666), expected no write permission for group or others (chmod go-w; the file names the rsync program run as root)"
}

cli_check_config_prints_values() {
        reset_machine
        cat >"$CONF" <<'EOC'
# approach 2
dualroot = false
nice = 10
ionice_value = 4
sync = [
    ["/efi/EFI", "/mnt/root1/efi/"],
    ["/etc", "/mnt/root1/", ["/etc/fstab"]],
]
EOC
        run_tool --check-config
        expect_status 0
        expect_stdout_has "dualroot:      false"
        expect_stdout_has "nice:          10"
        expect_stdout_has "ionice:        class 3, level 4"
        expect_stdout_has "sync[0]:       /efi/EFI -> /mnt/root1/efi/"
        expect_stdout_has "sync[1]:       /etc -> /mnt/root1/  excluding /etc/fstab"
}

cli_json_with_bind_is_usage_error() {
        reset_machine
        run_tool --json -b
        expect_status 2
}

run_case "an unknown option is a usage error (exit 2)" cli_unknown_option_is_usage_error
run_case "-c without an argument is a usage error" cli_missing_option_argument
run_case "two EFI_MOUNT arguments are rejected" cli_two_positionals_rejected
run_case "a relative EFI_MOUNT is rejected" cli_relative_efi_mount_rejected
run_case "--help and -V print and exit 0" cli_help_and_version
run_case "a missing default config file is fine" cli_missing_default_config_is_fine
run_case "a missing -c FILE is an error (exit 2)" cli_missing_given_config_is_an_error
run_case "a config syntax error exits 2 before binding" cli_config_syntax_error_names_line_and_column
run_case "an unknown key suggests the nearest known key" cli_unknown_key_suggests_nearest
run_case "an out-of-range value is an error" cli_out_of_range_value
run_case "a group/other-writable config file is refused" cli_writable_config_refused
run_case "--check-config prints the parsed values" cli_check_config_prints_values
run_case "--json with -b is a usage error" cli_json_with_bind_is_usage_error
finish

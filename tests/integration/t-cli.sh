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
        echo new >"$R/efi0/new-file"
        printf 'dualroot = true\nnice = \n' >"$CONF"
        run_tool -s
        expect_status 2
        expect_stderr_has "/etc/dual-root/sync-daemon.conf:2:8: expected a value (string, number, boolean or array), found end of line"
        [ ! -e "$R/efi1/new-file" ] || fail "a config error still synced"
        rm -f "$R/efi0/new-file"
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
        mkdir -p "$R/efi/EFI" "$R/mnt/root1/efi"
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

# DESIGN.md §7 C7: each of these configs parses, and -s refuses it before copying; --check-config
# must refuse it too, with exit 2 and the same message (one function, config_check(), says it).
# Each row: what it breaks|the config's lines (\n between)|the message, as both must print it.
BAD_CONFIGS=(
        "in-place writes|rsync_opts = \"-axHAXt --inplace\"|rsync_opts holds '--inplace', which breaks the order an ESP is copied in"
        "appending|rsync_opts = \"--append\"|rsync_opts holds '--append', which breaks the order"
        "early deletion|rsync_opts = \"-axHAXt --delete-before\"|rsync_opts holds '--delete-before', which breaks the order"
        "a destination of /|sync = [[\"/srv/a\", \"/\"]]|sync-daemon.conf:1: sync item 0: destination '/' is the root directory: a sync there would delete the system"
        "a destination that holds its source|sync = [[\"/srv/a/sub\", \"/srv/a\"]]|sync item 0: destination '/srv/a' (resolved: '/srv/a') holds the source '/srv/a/sub'"
        "a destination on the booted ESP|sync = [[\"/srv/a\", \"/efi0/copy\"]]|sync item 0: destination '/efi0/copy' (resolved: '/efi0/copy') is on the booted ESP '/efi0'"
        "a missing rsync_path|rsync_path = \"/usr/bin/rsnyc\"|/etc/dual-root/sync-daemon.conf: rsync_path '/usr/bin/rsnyc' does not exist, expected the path of the rsync program (is rsync installed?)"
        "an rsync_path that cannot run|rsync_path = \"/srv/not-exec\"|/etc/dual-root/sync-daemon.conf: rsync_path '/srv/not-exec' is not executable (mode 0644), expected the path of the rsync program"
        "a missing esp_mounts entry|esp_mounts = [\"/efi0\", \"/efi1\", \"/efi9\"]|/etc/dual-root/sync-daemon.conf: esp_mounts entry '/efi9' does not exist, expected the mount point of an ESP (a directory)"
        "a missing sync source|sync = [[\"/srv/nope\", \"/srv/copy\"]]|/etc/dual-root/sync-daemon.conf:1: sync item 0: source '/srv/nope' does not exist, expected an existing file or directory"
        "a missing sync destination|sync = [\n  [\"/srv/a\", \"/srv/copy\"],\n  [\"/srv/a/sub\", [\"/srv/copy\", \"/srv/nope\"]],\n]|/etc/dual-root/sync-daemon.conf:3: sync item 1: destination '/srv/nope' does not exist, expected an existing directory"
        "a destination that is a file|sync = [[\"/srv/a\", \"/srv/not-exec\"]]|sync item 0: destination '/srv/not-exec' is not a directory, expected an existing directory"
)

cli_check_config_refuses_what_sync_refuses() {
        reset_machine
        booted_by_loader "$PU0"
        mkdir -p "$R/srv/a/sub" "$R/srv/copy"
        echo data >"$R/srv/a/sub/file"
        printf '#!/bin/sh\n' >"$R/srv/not-exec"
        chmod 0644 "$R/srv/not-exec"
        echo new >"$R/efi0/new-file"
        local row name lines msg check_err
        for row in "${BAD_CONFIGS[@]}"; do
                IFS='|' read -r name lines msg <<<"$row"
                printf '%b\n' "$lines" >"$CONF"
                run_tool --check-config
                [ "$STATUS" = 2 ] || fail "$name: --check-config exited $STATUS, expected 2"
                grep -qF -- "$msg" "$ERR" || fail "$name: --check-config said '$(cat "$ERR")', expected '$msg'"
                [ ! -s "$OUT" ] || fail "$name: --check-config printed values for a refused config: $(cat "$OUT")"
                check_err=$(cat "$ERR")
                run_tool -s
                [ "$STATUS" = 2 ] || fail "$name: -s exited $STATUS, expected 2"
                [ "$(cat "$ERR")" = "$check_err" ] || fail "$name: -s said '$(cat "$ERR")', --check-config '$check_err'"
                [ ! -e "$R/efi1/new-file" ] || fail "$name: -s synced the ESP"
                [ -z "$(ls "$R/srv/copy")" ] || fail "$name: -s synced the sync list"
        done
        rm -rf "$R/srv" "$R/efi0/new-file"
}

# ...but a path missing because its disk is (under an fstab mount point with nothing mounted,
# as approach 2's /mnt/root1/efi when disk 0 is pulled) is no config error: the jobs skip it.
cli_check_config_accepts_the_paths_of_a_missing_disk() {
        reset_machine
        booted_by_loader "$PU0"
        case_cleanup() {
                rm -f "$R/etc/fstab" "$R/efi0/vmlinuz" "$R/efi1/vmlinuz" "$R/efi1/.dual-root-state"
                rm -rf "$R/srv" "$R/mnt/gone" "$R/efi0/EFI" "$R/efi1/EFI"
        }
        # an ESP (DESIGN.md §3 D3: an EFI directory where the partition type cannot be read)
        mkdir -p "$R/srv/a" "$R/mnt/gone" "$R/efi0/EFI"
        echo kernel >"$R/efi0/vmlinuz"
        echo data >"$R/srv/a/file"
        printf 'esp_mounts = ["/efi0", "/efi1", "/mnt/gone/efi"]\nsync = [["/srv/a", "/mnt/gone/copy"]]\n' >"$CONF"
        # Without the fstab line it is a typo.
        rm -f "$R/etc/fstab"
        run_tool --check-config
        expect_status 2
        expect_stderr_has "esp_mounts entry '/mnt/gone/efi' does not exist"
        printf 'UUID=0a0a0a0a-0000-4000-8000-000000000001 /mnt/gone ext4 defaults,nofail 0 2\n' >"$R/etc/fstab"
        run_tool --check-config
        expect_status 0
        run_tool -s
        expect_status 0
        expect_stdout_has "synced /efi0/ -> /efi1/"
        expect_stdout_has "1 synced, 2 skipped, 0 failed"
        expect_stderr_has "'/mnt/gone' is not mounted (/etc/fstab mounts it; disk missing?)"
}

# "Could not look" is never "broken": --check-config as a user does not judge a path below a
# root-only directory; root (as -s runs) does.
cli_check_config_as_a_user_does_not_judge_what_it_cannot_see() {
        reset_machine
        booted_by_loader "$PU0"
        case_cleanup() { rm -rf "$R/srv"; }
        mkdir -p "$R/srv/a" "$R/srv/private/copy"
        chmod 0700 "$R/srv/private"
        printf 'sync = [["/srv/a", ["/srv/private/copy", "/srv/private/nope"]]]\n' >"$CONF"
        set +e
        chroot "$R" /usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups \
                /usr/bin/env DUAL_ROOT_EFIVARS=/efivars "$TOOL" --check-config >"$OUT" 2>"$ERR"
        STATUS=$?
        set -e
        expect_status 0
        expect_stdout_has "sync[0]:"
        run_tool --check-config
        expect_status 2
        expect_stderr_has "sync item 0: destination '/srv/private/nope' does not exist, expected an existing directory"
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
run_case "a config syntax error exits 2 before syncing" cli_config_syntax_error_names_line_and_column
run_case "an unknown key suggests the nearest known key" cli_unknown_key_suggests_nearest
run_case "an out-of-range value is an error" cli_out_of_range_value
run_case "a group/other-writable config file is refused" cli_writable_config_refused
run_case "--check-config prints the parsed values" cli_check_config_prints_values
run_case "--check-config refuses what -s refuses, with the same message and exit 2" cli_check_config_refuses_what_sync_refuses
run_case "--check-config and -s accept the paths of a missing disk (fstab says so)" cli_check_config_accepts_the_paths_of_a_missing_disk
run_case "--check-config as a user does not judge a path it may not look at" cli_check_config_as_a_user_does_not_judge_what_it_cannot_see
run_case "--json with -b is a usage error" cli_json_with_bind_is_usage_error
finish

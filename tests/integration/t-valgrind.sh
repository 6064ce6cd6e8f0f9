#!/bin/bash
# SPDX-License-Identifier: MIT
# The daemon and the one-shot paths under valgrind: no invalid access, no leak, through
# start-up, events, a mount change, SIGHUP (a bad config, then a good one) and SIGTERM.
. "$(dirname "$0")/lib.sh"
if ldd "$TOOL" | grep -q libasan; then
        echo "SKIP: $TOOL is an ASan build (valgrind cannot run it)"
        exit 77
fi
command -v valgrind >/dev/null || { echo "SKIP: valgrind is not installed"; exit 77; }

make_two_disk_machine
CONF="$R/etc/dual-root/sync-daemon.conf"
VG="valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect,possible \
--errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 --track-fds=no"

valgrind_oneshot_paths_are_clean() {
        reset_machine
        booted_by_loader "$PU0"
        mkdir -p "$R/efi0/EFI" # an ESP-like tree: the source's identity (DESIGN.md §3 D3)
        echo k >"$R/efi0/vmlinuz"
        for args in "" "--json" "-s" "-st" "-bt" "-b" "--check-config"; do
                set +e
                # shellcheck disable=SC2086
                chroot "$R" /usr/bin/env DUAL_ROOT_EFIVARS=/efivars $VG "$TOOL" $args >"$OUT" 2>"$ERR"
                STATUS=$?
                set -e
                [ "$STATUS" = 0 ] || fail "valgrind dual-root-tool $args: exit $STATUS"
        done
        # This bare machine (no loader, no boot entries) is CRITICAL (2) to --status, and
        # --fix-boot-entries fails (1) for want of a loader: findings, not valgrind errors (99).
        for args in "--status" "--status --json --textfile /tmp/s.prom" "--fix-boot-entries -t"; do
                set +e
                # shellcheck disable=SC2086
                chroot "$R" /usr/bin/env DUAL_ROOT_EFIVARS=/efivars $VG "$TOOL" $args >"$OUT" 2>"$ERR"
                STATUS=$?
                set -e
                case "$args:$STATUS" in
                --status*:2 | --fix*:1) ;;
                *) fail "valgrind dual-root-tool $args: exit $STATUS" ;;
                esac
        done
        efivars_clear
        set +e
        chroot "$R" /usr/bin/env DUAL_ROOT_EFIVARS=/efivars $VG "$TOOL" -s >"$OUT" 2>"$ERR"
        STATUS=$?
        set -e
        expect_status 1 # booted ESP unknown: an error, but no valgrind error (99)
}

# The daemon of a failing case must not outlive it.
case_cleanup() {
        if [ -n "${pid:-}" ] && kill -0 "$pid" 2>/dev/null; then
                kill -KILL "$pid" 2>/dev/null || true
                wait "$pid" 2>/dev/null || true
        fi
        return 0
}

# synced_twice: the initial sync and the change's sync have both been reported.
synced_twice() { [ "$(grep -c "synced /efi0/ -> /efi1/ in " "$ERR")" -ge 2 ]; }

valgrind_daemon_is_clean() {
        reset_machine
        booted_by_loader "$PU0"
        mkdir -p "$R/efi0/EFI" # an ESP-like tree: the source's identity (DESIGN.md §3 D3)
        echo k >"$R/efi0/vmlinuz"
        printf 'settle_time = 0.3\nsync_delay = 0\n' >"$CONF"
        # shellcheck disable=SC2086
        chroot "$R" /usr/bin/env DUAL_ROOT_EFIVARS=/efivars $VG "$TOOL" -d >"$OUT" 2>"$ERR" &
        pid=$!
        # Under valgrind everything is ~20 times slower: generous bounds, exact markers.
        wait_for 40 has_line "$ERR" "initial sync done; watching for changes" || fail "no initial sync"
        mkdir -p "$R/efi0/EFI/new"
        echo x >"$R/efi0/EFI/new/file"
        wait_for 20 test -f "$R/efi1/EFI/new/file" || fail "the change was not synced"
        # Unmount only once that sync is over: while it runs it holds /efi1 open.
        wait_for 20 synced_twice || fail "the sync of the change did not end: $(cat "$ERR")"
        umount "$R/efi1"
        wait_for 20 has_line "$ERR" "/efi1/ disappeared" || fail "the unmounted alternate was not noticed"
        mount "$DEV1" "$R/efi1"
        wait_for 20 has_line "$ERR" "/efi1/ is available again: syncing it" || fail "the alternate's return was not noticed"
        printf 'nice = 99\n' >>"$CONF"
        kill -HUP "$pid"
        wait_for 20 has_line "$ERR" "reload: /etc/dual-root/sync-daemon.conf:3:8: nice = 99 is out of range, expected -20..19; keeping the configuration in use" ||
                fail "the broken config was not refused on SIGHUP"
        printf 'settle_time = 0.3\nsync_delay = 0\n' >"$CONF"
        kill -HUP "$pid"
        wait_for 20 has_line "$ERR" "reloaded /etc/dual-root/sync-daemon.conf" || fail "the good config was not reloaded"
        echo y >"$R/efi0/pending"
        kill -TERM "$pid"
        set +e
        wait "$pid"
        STATUS=$?
        set -e
        expect_status 0
        [ -f "$R/efi1/pending" ] || fail "SIGTERM did not flush"
}

run_case "one-shot verbs run clean under valgrind" valgrind_oneshot_paths_are_clean
run_case "the daemon runs clean under valgrind (events, mounts, SIGHUP, SIGTERM)" valgrind_daemon_is_clean
finish

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

valgrind_daemon_is_clean() {
        reset_machine
        booted_by_loader "$PU0"
        echo k >"$R/efi0/vmlinuz"
        printf 'settle_time = 0.3\nsync_delay = 0\n' >"$CONF"
        # shellcheck disable=SC2086
        chroot "$R" /usr/bin/env DUAL_ROOT_EFIVARS=/efivars $VG "$TOOL" -d >"$OUT" 2>"$ERR" &
        pid=$!
        for _ in $(seq 1 200); do grep -q "initial sync done" "$ERR" && break; sleep 0.1; done
        grep -q "initial sync done" "$ERR" || fail "no initial sync"
        mkdir -p "$R/efi0/EFI/new"
        echo x >"$R/efi0/EFI/new/file"
        for _ in $(seq 1 100); do [ -f "$R/efi1/EFI/new/file" ] && break; sleep 0.1; done
        [ -f "$R/efi1/EFI/new/file" ] || fail "the change was not synced"
        # Unmount only once that sync is over: while it runs it holds /efi1 open.
        for _ in $(seq 1 100); do [ "$(grep -c "synced /efi0/ -> /efi1/" "$ERR")" -ge 2 ] && break; sleep 0.1; done
        umount "$R/efi1"
        sleep 1
        mount "$DEV1" "$R/efi1"
        sleep 1
        printf 'nice = 99\n' >>"$CONF"
        kill -HUP "$pid"
        sleep 1
        printf 'settle_time = 0.3\nsync_delay = 0\n' >"$CONF"
        kill -HUP "$pid"
        sleep 1
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

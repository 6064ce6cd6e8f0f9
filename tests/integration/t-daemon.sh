#!/bin/bash
# SPDX-License-Identifier: MIT
# The sync daemon (-d, DESIGN.md §6) on real filesystems: bursts copied whole, the settle/max-wait/
# sync_delay rules, mount changes, signals, systemd notification, rsync failures, and a
# one-shot -s running beside it.
. "$(dirname "$0")/lib.sh"
: "${NOTIFY_LISTEN:?NOTIFY_LISTEN must name the notify-listen test tool}"
NOTIFY_LISTEN=$(realpath "$NOTIFY_LISTEN")

make_two_disk_machine
CONF="$R/etc/dual-root/sync-daemon.conf"
LOG="$W/daemon.log"
RSYNC_LOG="$R/tmp/rsync.log"

# Every case stops what it started, even when it fails half-way.
case_cleanup() {
        local st=$?
        if [ "$st" != 0 ] && [ -s "$LOG" ]; then
                printf '  --- daemon log ---\n'
                sed 's/^/  | /' "$LOG"
        fi
        stop_daemon 2>/dev/null || true
        if [ -n "${LISTENER:-}" ]; then
                kill "$LISTENER" 2>/dev/null || true
                wait "$LISTENER" 2>/dev/null || true
        fi
        return 0
}

reset_daemon() {
        reset_machine
        for d in "$R/efi0" "$R/efi1"; do
                find "$d" -mindepth 1 -maxdepth 1 ! -name lost+found -exec rm -rf {} +
        done
        mkdir -p "$R/efi0/EFI/systemd" "$R/efi0/loader/entries" "$R/opt"
        echo "bootloader" >"$R/efi0/EFI/systemd/systemd-bootx64.efi"
        echo "kernel-0" >"$R/efi0/vmlinuz-old"
        : >"$RSYNC_LOG"
        rm -f "$R/tmp/fail" "$R/run/notify.sock" "$W/notify.out"
        # rsync that logs when a sync starts and ends, and fails while /tmp/fail exists. An
        # ESP sync is up to three rsync runs (DESIGN.md §5 rule 9: files, entries,
        # deletions), logged as one: from the first run's start to the last run's end.
        cat >"$R/opt/rsync" <<'EOS'
#!/bin/sh
first=0 last=0
case $DUAL_ROOT_RSYNC_PASS in 1/*) first=1 ;; esac
case $DUAL_ROOT_RSYNC_PASS in 1/1 | 2/2 | 3/3) last=1 ;; esac
[ $first = 1 ] && echo "start $(date +%s.%N)" >>/tmp/rsync.log
[ -e /tmp/fail ] && { echo "end $(date +%s.%N) failed" >>/tmp/rsync.log; exit 23; }
/usr/bin/rsync "$@"
rc=$?
[ $last = 1 ] || [ $rc != 0 ] || exit 0
echo "copied $(date +%s.%N)" >>/tmp/rsync.log
# Slow after copying: a change made meanwhile is not in this run's copy.
[ -e /tmp/slow ] && sleep "$(cat /tmp/slow)"
echo "end $(date +%s.%N) $rc" >>/tmp/rsync.log
exit $rc
EOS
        chmod 0755 "$R/opt/rsync"
        rm -f "$R/tmp/slow"
        booted_by_loader "$PU0"
}

# conf LINES...: the config, always with the logging rsync.
conf() {
        printf 'rsync_path = "/opt/rsync"\n' >"$CONF"
        printf '%s\n' "$@" >>"$CONF"
}

DAEMON=""
start_daemon() {
        : >"$LOG"
        chroot "$R" /usr/bin/env DUAL_ROOT_EFIVARS=/efivars NOTIFY_SOCKET=/run/notify.sock \
                "$TOOL" -d "$@" >"$LOG" 2>&1 &
        DAEMON=$!
        wait_for 10 grep -q "initial sync done" "$LOG" || fail "the daemon did not finish its initial sync: $(cat "$LOG")"
}

stop_daemon() {
        [ -n "$DAEMON" ] || return 0
        kill -TERM "$DAEMON" 2>/dev/null || true
        set +e
        wait "$DAEMON"
        DAEMON_STATUS=$?
        set -e
        DAEMON=""
}

# starts_after T: how many rsync runs started after time T (seconds since the epoch).
starts_after() {
        awk -v t="$1" '$1 == "start" && $2 > t { n++ } END { print n + 0 }' "$RSYNC_LOG"
}
# started_since T N: at least N rsync runs started after T (for wait_for: evaluated anew).
started_since() { [ "$(starts_after "$1")" -ge "$2" ]; }
# copied_since T: an rsync run that started after T has made its copy (it may still be slow).
copied_since() { awk -v t="$1" '$1 == "start" && $2 > t { s = 1 } s && $1 == "copied" { f = 1 } END { exit !f }' "$RSYNC_LOG"; }
# fan_marked: the daemon holds a fanotify filesystem mark (its fdinfo lists one).
fan_marked() { grep -qs "^fanotify sdev:" /proc/"$DAEMON"/fdinfo/*; }
# log_tail_has N PATTERN: one of the daemon log's last N lines matches.
log_tail_has() { tail -n "$1" "$LOG" | grep -q -- "$2"; }
# log_after_has MARK TEXT: a line after the last one holding MARK holds TEXT (fixed strings).
log_after_has() { awk -v m="$1" -v t="$2" 'index($0, m) { f = 0; seen = 1; next } seen && index($0, t) { f = 1 } END { exit !f }' "$LOG"; }
first_start_after() {
        awk -v t="$1" '$1 == "start" && $2 > t { print $2; exit }' "$RSYNC_LOG"
}
now() { date +%s.%N; }
same_trees() { diff -r --exclude=lost+found --exclude=.dual-root-state "$R/efi0" "$R/efi1" >/dev/null; }

daemon_syncs_once_then_notifies_ready() {
        reset_daemon
        conf "settle_time = 0.3" "sync_delay = 0"
        "$NOTIFY_LISTEN" "$R/run/notify.sock" "$W/notify.out" &
        LISTENER=$!
        wait_for 5 test -S "$R/run/notify.sock" || fail "no notify socket"
        start_daemon
        same_trees || fail "the initial sync did not copy the ESP"
        wait_for 5 grep -q "READY=1" "$W/notify.out" || fail "no READY=1: $(cat "$W/notify.out")"
        grep -q "^STATUS=watching 1 item(s); initial sync done" "$W/notify.out" || fail "no STATUS after READY: $(cat "$W/notify.out")"
        [ "$(grep -c '^start' "$RSYNC_LOG")" = 1 ] || fail "expected one initial rsync run"
        grep -q "synced /efi0/ -> /efi1/ in " "$LOG" || fail "no log line for the sync"
        stop_daemon
        [ "$DAEMON_STATUS" = 0 ] || fail "exit status $DAEMON_STATUS after SIGTERM"
        wait_for 5 grep -q "STOPPING=1" "$W/notify.out" || fail "no STOPPING=1: $(cat "$W/notify.out")"
}

# DESIGN.md §6 N1: READY=1 once watching, not after the first syncs, which may outlast any
# start timeout; STATUS= follows them.
daemon_is_ready_before_a_slow_first_sync_ends() {
        reset_daemon
        conf "settle_time = 0.3" "sync_delay = 0"
        echo 4 >"$R/tmp/slow"
        "$NOTIFY_LISTEN" "$R/run/notify.sock" "$W/notify.out" &
        LISTENER=$!
        wait_for 5 test -S "$R/run/notify.sock" || fail "no notify socket"
        : >"$LOG"
        chroot "$R" /usr/bin/env DUAL_ROOT_EFIVARS=/efivars NOTIFY_SOCKET=/run/notify.sock \
                "$TOOL" -d >"$LOG" 2>&1 &
        DAEMON=$!
        wait_for 5 grep -q "^READY=1" "$W/notify.out" || fail "no READY=1 within 5 s: $(cat "$W/notify.out")"
        ! grep -q "^end" "$RSYNC_LOG" || fail "READY=1 came only after the first sync ended: $(cat "$RSYNC_LOG")"
        grep -q "^STATUS=watching 1 item(s); first sync: 0 of 1 done" "$W/notify.out" || fail "no STATUS= with READY=1: $(cat "$W/notify.out")"
        wait_for 10 grep -q "initial sync done" "$LOG" || fail "the first sync did not end: $(cat "$LOG")"
        grep -q "^end .* 0$" "$RSYNC_LOG" || fail "the first sync did not succeed: $(cat "$RSYNC_LOG")"
        wait_for 5 grep -q "^STATUS=watching 1 item(s); initial sync done" "$W/notify.out" || fail "no STATUS= for the end of the first sync: $(cat "$W/notify.out")"
        [ "$(grep -c "^READY=1" "$W/notify.out")" = 1 ] || fail "READY=1 sent more than once: $(cat "$W/notify.out")"
        same_trees || fail "the first sync did not copy the ESP"
        rm -f "$R/tmp/slow"
        stop_daemon
}

daemon_copies_a_kernel_install_whole_after_it_settles() {
        reset_daemon
        conf "settle_time = 1" "sync_delay = 0" "max_wait = 30"
        start_daemon
        t0=$(now)
        # A kernel install: writes spread over ~2 s with pauses shorter than settle_time.
        head -c 2M /dev/urandom >"$R/efi0/vmlinuz-6.1.0-99-amd64.tmp"
        sleep 0.4
        head -c 2M /dev/urandom >>"$R/efi0/vmlinuz-6.1.0-99-amd64.tmp"
        mv "$R/efi0/vmlinuz-6.1.0-99-amd64.tmp" "$R/efi0/vmlinuz-6.1.0-99-amd64"
        sleep 0.5
        head -c 3M /dev/urandom >"$R/efi0/initrd.img-6.1.0-99-amd64"
        sleep 0.6
        mkdir -p "$R/efi0/loader/entries"
        printf 'title Debian 99\nlinux /vmlinuz-6.1.0-99-amd64\n' >"$R/efi0/loader/entries/99.conf"
        sleep 0.3
        touch "$R/efi0/loader/entries/99.conf"
        t_last=$(now)
        wait_for 10 same_trees || fail "the alternate never became identical"
        [ "$(starts_after "$t0")" = 1 ] || fail "$(starts_after "$t0") syncs ran for one burst: $(cat "$RSYNC_LOG")"
        first=$(first_start_after "$t0")
        awk -v a="$first" -v b="$t_last" 'BEGIN { exit !(a >= b + 0.9) }' || fail "a sync started at $first, before the burst ended at $t_last + settle_time"
}

daemon_max_wait_bounds_a_burst_that_never_ends() {
        reset_daemon
        conf "settle_time = 1" "max_wait = 2" "sync_delay = 0"
        start_daemon
        t0=$(now)
        for i in $(seq 1 16); do
                echo "$i" >>"$R/efi0/busy.log"
                sleep 0.25
        done
        first=$(first_start_after "$t0")
        [ -n "$first" ] || fail "no sync while events never stopped for 4 s"
        awk -v a="$first" -v b="$t0" 'BEGIN { exit !(a >= b + 1.9 && a <= b + 3.0) }' || fail "the sync started $(echo "$first - $t0" | bc)s after the first event, expected max_wait (2s)"
}

daemon_sync_delay_is_a_floor_between_starts() {
        reset_daemon
        conf "settle_time = 0.2" "sync_delay = 3" "max_wait = 10"
        start_daemon
        initial=$(awk '$1 == "start" { print $2; exit }' "$RSYNC_LOG")
        echo change >"$R/efi0/change"
        wait_for 8 same_trees || fail "the change never arrived"
        second=$(awk '$1 == "start" { n++; if (n == 2) print $2 }' "$RSYNC_LOG")
        # Stamped by rsync, after the daemon's checks, lock and guard: the first sync's take
        # longer (no record yet), so the stamps may be a little closer than the starts.
        awk -v a="$second" -v b="$initial" 'BEGIN { exit !(a >= b + 2.8) }' || fail "the second sync started $(echo "$second - $initial" | bc)s after the first, sooner than sync_delay (3s)"
}

daemon_events_during_a_sync_sync_again() {
        reset_daemon
        conf "settle_time = 0.2" "sync_delay = 0"
        start_daemon
        echo 1.5 >"$R/tmp/slow"
        t0=$(now)
        echo first >"$R/efi0/first"
        wait_for 5 copied_since "$t0" || fail "no sync made its copy"
        echo second >"$R/efi0/second"   # while rsync runs, after its copy
        rm -f "$R/tmp/slow"
        wait_for 10 started_since "$t0" 2 || fail "no second sync after a change during the first"
        wait_for 10 same_trees || fail "the change made during a sync never arrived"
}

daemon_watches_new_directories() {
        reset_daemon
        conf "settle_time = 0.2" "sync_delay = 0"
        start_daemon
        mkdir -p "$R/efi0/EFI/Linux/deep/er"
        wait_for 5 same_trees || fail "the new directories never arrived"
        t0=$(now)
        echo "uki" >"$R/efi0/EFI/Linux/deep/er/linux.efi"
        wait_for 5 same_trees || fail "a file in a new directory was not noticed"
        [ "$(starts_after "$t0")" -ge 1 ] || fail "no sync for the new file"
}

daemon_ignores_excluded_and_its_own_files() {
        reset_daemon
        conf "settle_time = 0.2" "sync_delay = 0"
        start_daemon
        t0=$(now)
        echo "new seed" >"$R/efi0/loader/random-seed"
        echo "fingerprint=0" >"$R/efi0/.dual-root-state.new"
        rm -f "$R/efi0/.dual-root-state.new"
        stays_false 1 started_since "$t0" 1 || fail "an excluded file triggered a sync: $(cat "$RSYNC_LOG")"
        [ ! -e "$R/efi1/loader/random-seed" ] || fail "the random seed was copied"
}

daemon_skips_a_missing_alternate_and_syncs_it_when_back() {
        reset_daemon
        conf "settle_time = 0.3" "sync_delay = 0"
        start_daemon
        umount "$R/efi1"
        wait_for 5 grep -q "/efi1/ disappeared" "$LOG" || fail "no warning for the missing alternate"
        echo "while away" >"$R/efi0/while-away"
        wait_for 5 grep -q "skipped /efi0/ -> /efi1/: '/efi1' is not a mount point" "$LOG" || fail "the sync did not skip the missing alternate"
        [ -z "$(ls -A "$R/efi1")" ] || fail "the empty /efi1 directory was written"
        mount "$DEV1" "$R/efi1"
        wait_for 5 grep -q "/efi1/ is available again" "$LOG" || fail "the returning alternate was not noticed"
        wait_for 5 same_trees || fail "the returning alternate was not synced"
}

daemon_rewatches_a_source_that_comes_back() {
        reset_daemon
        conf "settle_time = 0.3" "sync_delay = 0"
        start_daemon
        umount "$R/efi0"
        wait_for 5 grep -q "not syncing any ESP: the booted ESP $DEV0 is not mounted" "$LOG" || fail "no error for the unmounted booted ESP"
        mount "$DEV0" "$R/efi0"
        wait_for 5 log_tail_has 3 "watching.*/efi0/ for ESP" || fail "the source was not watched again: $(cat "$LOG")"
        echo "after remount" >"$R/efi0/after-remount"
        wait_for 5 test -f "$R/efi1/after-remount" || fail "a change after the remount was not synced"
        # Unmounted and mounted again before the daemon looks: same device, new mount. The
        # old mark goes with the old superblock; the daemon must place it again.
        wait_for 5 log_tail_has 1 "synced /efi0/ -> /efi1/ in " || fail "the sync after the remount did not end"
        fan_marked || fail "no fanotify mark before the quick remount: $(cat "$LOG")"
        kill -STOP "$DAEMON"
        umount "$R/efi0"
        mount "$DEV0" "$R/efi0"
        ! fan_marked || fail "the fanotify mark outlived the unmount"
        kill -CONT "$DAEMON"
        wait_for 5 fan_marked || fail "the fanotify mark was not placed again after the quick remount"
        echo "after a quick remount" >"$R/efi0/after-quick-remount"
        wait_for 5 test -f "$R/efi1/after-quick-remount" || fail "a change after a quick remount was not synced"
}

daemon_sighup_keeps_the_old_config_when_the_new_is_broken() {
        reset_daemon
        conf "settle_time = 0.3" "sync_delay = 0"
        start_daemon
        printf 'settle_time = [\n' >>"$CONF"
        kill -HUP "$DAEMON"
        wait_for 5 grep -q "reload: /etc/dual-root/sync-daemon.conf:4:" "$LOG" || fail "no error for the broken config: $(cat "$LOG")"
        grep -q "keeping the configuration in use" "$LOG" || fail "did not say it kept the old config"
        echo still >"$R/efi0/still-syncing"
        wait_for 5 test -f "$R/efi1/still-syncing" || fail "the daemon stopped syncing after a bad reload"
        conf "settle_time = 0.3" "sync_delay = 0" 'esp_excludes = ["/loader/random-seed", "/skip-me"]'
        kill -HUP "$DAEMON"
        wait_for 5 grep -q "reloaded /etc/dual-root/sync-daemon.conf" "$LOG" || fail "a good config was not reloaded"
        # Read at once, applied once idle: the item, its exclusions changed, is watched anew.
        wait_for 5 log_after_has "reloaded /etc/dual-root/sync-daemon.conf" "watching /efi0/ for ESP" ||
                fail "the reloaded config was not applied: $(cat "$LOG")"
        echo skip >"$R/efi0/skip-me"
        echo take >"$R/efi0/take-me"
        wait_for 5 test -f "$R/efi1/take-me" || fail "no sync after the reload"
        [ ! -e "$R/efi1/skip-me" ] || fail "the reloaded exclusion was not applied"
}

# DESIGN.md §7 C7: a reload refuses exactly what --check-config refuses, with its message.
# refused_at_least N: the daemon has refused N reloads (for wait_for: counted anew).
refused_at_least() { [ "$(grep -c "keeping the configuration in use" "$LOG")" -ge "$1" ]; }
daemon_sighup_refuses_what_check_config_refuses() {
        reset_daemon
        conf "settle_time = 0.3" "sync_delay = 0"
        start_daemon
        local bad msg n=0
        for bad in 'rsync_opts = "-axHAXt --inplace"' 'rsync_path = "/opt/rsnyc"' \
                'esp_mounts = ["/efi0", "/efi1", "/efi7"]' 'sync = [["/opt", "/"]]' \
                'sync = [["/opt", "/srv/nope"]]'; do
                printf 'settle_time = 0.3\nsync_delay = 0\n%s\n' "$bad" >"$CONF"
                run_tool --check-config
                [ "$STATUS" = 2 ] || fail "$bad: --check-config exited $STATUS, expected 2"
                msg=$(sed -n 's/^dual-root-tool: //p' "$ERR")
                [ -n "$msg" ] || fail "$bad: --check-config said nothing on stderr"
                kill -HUP "$DAEMON"
                n=$((n + 1))
                wait_for 5 refused_at_least $n || fail "$bad: the reload was not refused: $(cat "$LOG")"
                grep -qF "reload: $msg; keeping the configuration in use" "$LOG" || fail "$bad: the reload did not say '$msg': $(cat "$LOG")"
        done
        ! grep -q "reloaded /etc/dual-root/sync-daemon.conf" "$LOG" || fail "a refused config was reloaded"
        echo still >"$R/efi0/still-syncing"
        wait_for 5 test -f "$R/efi1/still-syncing" || fail "the old config is no longer in use: $(cat "$LOG")"
}

daemon_sighup_that_drops_an_exclusion_watches_the_directory() {
        reset_daemon
        rm -rf "$R/srv/tree"
        mkdir -p "$R/srv/tree/skipd" "$R/efi1/tree"
        echo 1 >"$R/srv/tree/one"
        conf "settle_time = 0.2" "sync_delay = 0" "dualroot = false" \
                'sync = ["/srv/tree/", "/efi1/tree/", ["/skipd/"]]'
        start_daemon
        conf "settle_time = 0.2" "sync_delay = 0" "dualroot = false" \
                'sync = ["/srv/tree/", "/efi1/tree/"]'
        kill -HUP "$DAEMON"
        wait_for 5 grep -q "reloaded /etc/dual-root/sync-daemon.conf" "$LOG" || fail "not reloaded"
        wait_for 5 test -d "$R/efi1/tree/skipd" || fail "no sync after the exclusion was dropped"
        echo now >"$R/srv/tree/skipd/watched"
        wait_for 5 test -f "$R/efi1/tree/skipd/watched" || fail "the directory no longer excluded is not watched"
        rm -rf "$R/srv/tree" "$R/efi1/tree"
}

daemon_sigterm_runs_pending_syncs_then_exits_0() {
        reset_daemon
        conf "settle_time = 60" "sync_delay = 0" "max_wait = 120"
        start_daemon
        echo pending >"$R/efi0/pending"
        stays_false 0.3 test -e "$R/efi1/pending" || fail "synced before the settle time"
        stop_daemon
        [ "$DAEMON_STATUS" = 0 ] || fail "exit status $DAEMON_STATUS"
        [ -f "$R/efi1/pending" ] || fail "the pending change was not synced on SIGTERM"
        grep -q "running pending syncs, then exiting" "$LOG" || fail "no log line for the final flush"
}

daemon_retries_a_failed_sync() {
        reset_daemon
        conf "settle_time = 0.2" "sync_delay = 0"
        start_daemon
        touch "$R/tmp/fail"
        echo "will fail" >"$R/efi0/retry-me"
        wait_for 5 grep -q "failed /efi0/ -> /efi1/ after .*: rsync exited with status 23" "$LOG" || fail "the failure was not logged: $(cat "$LOG")"
        grep -q "ESP will be tried again in 10s" "$LOG" || fail "no retry announced: $(cat "$LOG")"
        rm -f "$R/tmp/fail"
        wait_for 15 test -f "$R/efi1/retry-me" || fail "the failed sync was not retried"
}

daemon_and_a_one_shot_never_rsync_one_destination_together() {
        reset_daemon
        conf "settle_time = 0.2" "sync_delay = 0"
        start_daemon
        echo 2 >"$R/tmp/slow"
        t0=$(now)
        echo change >"$R/efi0/change"
        wait_for 5 started_since "$t0" 1 || fail "the daemon's sync did not start"
        run_tool -s
        rm -f "$R/tmp/slow"
        expect_status 0
        # The log holds start/end pairs; no two runs may overlap.
        awk '$1 == "start" { if (open) bad = 1; open = 1 } $1 == "end" { open = 0 } END { exit bad }' "$RSYNC_LOG" || fail "two rsync runs overlapped: $(cat "$RSYNC_LOG")"
}

daemon_test_mode_copies_nothing() {
        reset_daemon
        conf "settle_time = 0.2" "sync_delay = 0"
        start_daemon -t
        echo dry >"$R/efi0/dry"
        wait_for 5 log_tail_has 2 "tested /efi0/ -> /efi1/ (dry run)" || fail "no dry run logged"
        [ ! -e "$R/efi1/dry" ] && [ ! -e "$R/efi1/vmlinuz-old" ] || fail "test mode copied files"
}

daemon_watches_a_subdirectory_tree_with_inotify() {
        reset_daemon
        rm -rf "$R/srv/tree"
        # Watched: tree, a, a/b (a leaf), a/c, a/c/d; not: the excluded skipd and skipd/inner,
        # nor the other filesystem mounted on m (rsync -x does not cross it either).
        mkdir -p "$R/srv/tree/a/b" "$R/srv/tree/a/c/d" "$R/srv/tree/skipd/inner" \
                "$R/srv/tree/m" "$R/efi1/tree"
        mount -t tmpfs dual-root-inner "$R/srv/tree/m"
        mkdir "$R/srv/tree/m/sub"
        echo 1 >"$R/srv/tree/a/b/one"
        conf "settle_time = 0.2" "sync_delay = 0" "dualroot = false" \
                'sync = ["/srv/tree/", "/efi1/tree/", ["/skip", "/skipd/"]]'
        start_daemon
        grep -q "watching 5 directories under /srv/tree/ for sync\[0\], with inotify" "$LOG" || fail "not watched with inotify: $(cat "$LOG")"
        [ "$(readlink "/proc/$DAEMON/cwd")" = "$R" ] || fail "the daemon's working directory moved: $(readlink "/proc/$DAEMON/cwd")"
        [ -f "$R/efi1/tree/a/b/one" ] || fail "no initial sync"
        echo 1 >"$R/srv/tree/a/b/leaf"
        wait_for 5 test -f "$R/efi1/tree/a/b/leaf" || fail "a file in a leaf directory was not synced"
        echo 1 >"$R/srv/tree/a/c/d/deep"
        wait_for 5 test -f "$R/efi1/tree/a/c/d/deep" || fail "a file two levels down was not synced"
        t0=$(now)
        echo skip >"$R/srv/tree/skipd/inner/x"
        echo other >"$R/srv/tree/m/sub/x"
        stays_false 0.8 started_since "$t0" 1 || fail "an excluded directory or another filesystem triggered a sync"
        umount "$R/srv/tree/m"
        # Each new directory is watched once its creation has been synced: the daemon read
        # that event before the sync it caused.
        mkdir -p "$R/srv/tree/new/deeper"
        wait_for 5 test -d "$R/efi1/tree/new/deeper" || fail "a new directory was not synced"
        echo 2 >"$R/srv/tree/new/deeper/two"
        wait_for 5 test -f "$R/efi1/tree/new/deeper/two" || fail "a file in a new directory was not synced"
        mv "$R/srv/tree/new" "$R/srv/tree/renamed"
        wait_for 5 test -d "$R/efi1/tree/renamed/deeper" || fail "a renamed directory was not synced"
        echo 3 >"$R/srv/tree/renamed/deeper/three"
        wait_for 5 test -f "$R/efi1/tree/renamed/deeper/three" || fail "a file in a renamed directory was not synced"
        [ "$(readlink "/proc/$DAEMON/cwd")" = "$R" ] || fail "the daemon's working directory moved: $(readlink "/proc/$DAEMON/cwd")"
        # A directory moved into a new one before the daemon reads either event.
        mkdir -p "$R/srv/tree/x/y"
        wait_for 5 test -d "$R/efi1/tree/x/y" || fail "a new directory was not synced"
        kill -STOP "$DAEMON"
        mkdir "$R/srv/tree/newparent"
        mv "$R/srv/tree/x" "$R/srv/tree/newparent/"
        kill -CONT "$DAEMON"
        wait_for 5 test -d "$R/efi1/tree/newparent/x/y" || fail "a directory moved into a new one was not synced"
        echo 4 >"$R/srv/tree/newparent/x/y/four"
        wait_for 5 test -f "$R/efi1/tree/newparent/x/y/four" || fail "a directory moved into a new one is not watched"
        t0=$(now)
        echo skip >"$R/srv/tree/skip"
        stays_false 0.8 started_since "$t0" 1 || fail "an excluded file triggered a sync"
        rm -rf "$R/srv/tree"
}

daemon_reports_a_tree_it_cannot_watch() {
        reset_daemon
        rm -rf "$R/srv/tree"
        mkdir -p "$R/srv/tree" "$R/efi1/tree"
        # 257 levels below the root: one more than the watcher follows.
        (cd "$R/srv/tree" && mkdir -p "$(printf 'd/%.0s' $(seq 1 257))")
        conf "settle_time = 0.2" "sync_delay = 0" "dualroot = false" \
                'sync = ["/srv/tree/", "/efi1/tree/"]'
        start_daemon
        deep="/srv/tree$(printf '/d%.0s' $(seq 1 256))/d"
        grep -qF "cannot watch /srv/tree/ (sync[0]): '$deep' is nested more than 256 levels deep; its changes go unnoticed" "$LOG" || fail "no precise error: $(cat "$LOG")"
        [ "$(readlink "/proc/$DAEMON/cwd")" = "$R" ] || fail "the daemon's working directory moved: $(readlink "/proc/$DAEMON/cwd")"
        stop_daemon
        rm -rf "$R/srv/tree" "$R/efi1/tree"
}

# flood DIR: ~40,000 events (5,000 files created and removed, four times) in few processes.
flood() {
        for round in 1 2 3 4; do
                (cd "$1" && seq -f "flood-$round-%g" 1 5000 | xargs touch && seq -f "flood-$round-%g" 1 5000 | xargs rm -f)
        done
}

daemon_queue_overflow_makes_every_item_dirty() {
        reset_daemon
        rm -rf "$R/srv/tree"
        mkdir -p "$R/srv/tree/sub" "$R/mnt/copy"
        mount -t tmpfs dual-root-copy "$R/mnt/copy"
        conf "settle_time = 0.3" "sync_delay = 0" 'sync = ["/srv/tree/", "/mnt/copy/"]'
        start_daemon
        # Stopped, the daemon cannot read: both queues (fanotify for /efi0, inotify for the
        # tree) overflow at 16,384 events.
        kill -STOP "$DAEMON"
        flood "$R/efi0"
        flood "$R/srv/tree/sub"
        echo last >"$R/efi0/after-flood"
        echo last >"$R/srv/tree/after-flood"
        mkdir "$R/srv/tree/sub/lost" # its event is lost with the queue's tail
        t0=$(now)
        kill -CONT "$DAEMON"
        wait_for 10 grep -q "event queue overflowed; treating every item as changed" "$LOG" || fail "no overflow reported"
        wait_for 10 test -f "$R/efi1/after-flood" || fail "the ESP was not synced after the overflow"
        wait_for 10 test -f "$R/mnt/copy/after-flood" || fail "the tree was not synced after the overflow"
        # The tree was watched anew (when the overflow was read, before the syncs it caused):
        # the directory whose event was lost is watched too.
        echo inside >"$R/srv/tree/sub/lost/file"
        wait_for 10 test -f "$R/mnt/copy/sub/lost/file" || fail "a directory made during the overflow is not watched"
        stop_daemon
        umount "$R/mnt/copy"
        rm -rf "$R/srv/tree"
}

run_case "starts with one sync, READY=1 and STATUS=, exits 0 on SIGTERM" daemon_syncs_once_then_notifies_ready
run_case "READY=1 comes before a slow first sync ends, STATUS= follows it (N1)" daemon_is_ready_before_a_slow_first_sync_ends
run_case "a kernel install is copied whole, once, after it settles" daemon_copies_a_kernel_install_whole_after_it_settles
run_case "max_wait bounds a burst that never ends" daemon_max_wait_bounds_a_burst_that_never_ends
run_case "sync_delay is a floor between two starts" daemon_sync_delay_is_a_floor_between_starts
run_case "a change during a sync is synced after it" daemon_events_during_a_sync_sync_again
run_case "new directories are watched" daemon_watches_new_directories
run_case "excluded files and the daemon's own state file trigger nothing" daemon_ignores_excluded_and_its_own_files
run_case "a missing alternate is skipped, and synced when it returns" daemon_skips_a_missing_alternate_and_syncs_it_when_back
run_case "an unmounted source is watched again when it returns" daemon_rewatches_a_source_that_comes_back
run_case "SIGHUP with a broken config keeps the old one; a good one applies" daemon_sighup_keeps_the_old_config_when_the_new_is_broken
run_case "SIGHUP refuses what --check-config refuses, with its message (C7)" daemon_sighup_refuses_what_check_config_refuses
run_case "SIGHUP dropping an exclusion watches what it excluded" daemon_sighup_that_drops_an_exclusion_watches_the_directory
run_case "SIGTERM runs pending syncs now, then exits 0" daemon_sigterm_runs_pending_syncs_then_exits_0
run_case "a failed rsync is retried" daemon_retries_a_failed_sync
run_case "a one-shot -s waits for the daemon's rsync on the same destination" daemon_and_a_one_shot_never_rsync_one_destination_together
run_case "-d -t runs rsync -n and copies nothing" daemon_test_mode_copies_nothing
run_case "a subdirectory tree is watched with inotify: new and renamed directories" daemon_watches_a_subdirectory_tree_with_inotify
run_case "a tree too deep to watch is reported precisely" daemon_reports_a_tree_it_cannot_watch
run_case "an event-queue overflow makes every item dirty" daemon_queue_overflow_makes_every_item_dirty
finish

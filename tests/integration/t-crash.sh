#!/bin/bash
# SPDX-License-Identifier: MIT
# A sync cut short never leaves an alternate ESP that cannot boot, and the next plain sync
# completes it (DESIGN.md §5 rules 7, 9, 10): a kernel + boot loader update cut at many
# moments (every process of the tool and rsync stopped and killed at once, as by a power
# cut), by rsync_timeout, by a source file that cannot be read, by ENOSPC; an orphaned rsync
# helper keeps the lock. Real binary, real rsync, ext4 on loop devices.
. "$(dirname "$0")/lib.sh"

make_two_disk_machine
CONF="$R/etc/dual-root/sync-daemon.conf"
booted_by_loader "$PU0"
mkdir -p "$R/opt"

# --- two boot sets ---------------------------------------------------------------------------

# make_set NAME VERSION KERNEL_MIB: a systemd-boot ESP with one kernel, its initrd, its entry.
make_set() {
        d="$W/set-$1"
        mkdir -p "$d/EFI/systemd" "$d/EFI/BOOT" "$d/loader/entries"
        head -c 300K /dev/urandom >"$d/EFI/systemd/systemd-bootx64.efi"
        cp "$d/EFI/systemd/systemd-bootx64.efi" "$d/EFI/BOOT/BOOTX64.EFI"
        head -c "$3M" /dev/urandom >"$d/vmlinuz-$2"
        head -c "$3M" /dev/urandom >"$d/initrd.img-$2"
        printf 'title Debian %s\nlinux /vmlinuz-%s\ninitrd /initrd.img-%s\n' "$2" "$2" "$2" \
                >"$d/loader/entries/debian-$2.conf"
        printf 'default debian-%s.conf\ntimeout 3\n' "$2" >"$d/loader/loader.conf"
        (cd "$d" && find . -type f -printf '%P\n' | while read -r f; do
                printf '%s %s %s\n' "$(sha256sum <"$f" | cut -d' ' -f1)" "$f" "$1"
        done) >>"$W/known"
}
make_set old 6.1 2
make_set new 6.2 3

# install_set NAME: the booted ESP now holds that set (its guard record kept).
install_set() {
        rsync -a --delete --exclude=/lost+found/ --exclude='/.dual-root-state*' \
                "$W/set-$1/" "$R/efi0/"
}

# which_set DIR: "old", "new", or what it holds otherwise.
which_set() {
        e=$(cd "$1/loader/entries" 2>/dev/null && ls -- *.conf 2>/dev/null | tr '\n' ' ')
        case "$e" in
        "debian-6.1.conf ") echo old ;;
        "debian-6.2.conf ") echo new ;;
        *) echo "entries: ${e:-none}" ;;
        esac
}

# is_known PATH FILE: FILE's content is that of PATH in one of the two sets, whole.
is_known() {
        sha=$(sha256sum <"$2" | cut -d' ' -f1)
        grep -q "^$sha $1 " "$W/known"
}

# check_bootable DIR: the invariant of DESIGN.md §5 rule 9. A complete boot loader, at least
# one loader entry, every entry complete and naming only files present and complete. Prints
# what is wrong and fails, or prints nothing.
check_bootable() {
        for f in EFI/systemd/systemd-bootx64.efi EFI/BOOT/BOOTX64.EFI; do
                [ -f "$1/$f" ] || { echo "boot loader $f is missing"; return 1; }
                is_known "$f" "$1/$f" || { echo "boot loader $f is torn (neither set's)"; return 1; }
        done
        n=0
        for e in "$1"/loader/entries/*.conf; do
                [ -f "$e" ] || continue
                n=$((n + 1))
                rel=${e#"$1"/}
                is_known "$rel" "$e" || { echo "entry $rel is torn"; return 1; }
                for k in $(awk '$1 == "linux" || $1 == "initrd" { print $2 }' "$e"); do
                        [ -f "$1$k" ] || { echo "entry $rel names $k, which is missing"; return 1; }
                        is_known "${k#/}" "$1$k" || { echo "entry $rel names $k, which is torn"; return 1; }
                done
        done
        [ "$n" -ge 1 ] || { echo "no loader entry at all"; return 1; }
}

# same_tree A B: B mirrors A but for what each ESP keeps for itself.
same_tree() {
        diff -r -x lost+found -x '.dual-root-state*' -x random-seed "$1" "$2" >"$W/diff" 2>&1
}

# The rsync the tool runs: the real one, slowed down while $R/tmp/slow exists, held before
# pass N while $R/tmp/hold-N exists (its start marked by $R/tmp/pass-N-started).
cat >"$R/opt/rsync-cut" <<'WRAP'
#!/bin/sh
n=$(($(cat /tmp/pass 2>/dev/null || echo 0) + 1))
echo "$n" >/tmp/pass
touch "/tmp/pass-$n-started"
[ -e "/tmp/hold-$n" ] && sleep 60
[ -e /tmp/slow ] && exec /usr/bin/rsync --bwlimit=2500 "$@"
[ -e /tmp/unreadable ] && exec setpriv --bounding-set=-dac_override,-dac_read_search /usr/bin/rsync "$@"
if [ -e /tmp/fill ] && [ "$n" = 1 ]; then
        # Whatever else fills the disk meanwhile: rsync meets ENOSPC half-way.
        fallocate -l "$(($(stat -f -c '%f*%S' . ) - 1048576))" ./filler 2>/dev/null ||
                head -c "$(($(stat -f -c '%f*%S' .) - 1048576))" /dev/zero >./filler
fi
exec /usr/bin/rsync "$@"
WRAP
chmod 0755 "$R/opt/rsync-cut"
printf 'rsync_path = "/opt/rsync-cut"\nlock_timeout = 60\n' >"$CONF"

clear_markers() {
        rm -f "$R/tmp/pass" "$R/tmp/pass-"*-started "$R/tmp/hold-"* "$R/tmp/slow" \
                "$R/tmp/unreadable" "$R/tmp/fill"
}

# baseline: the alternate holds the old set, synced and recorded; the booted ESP the new.
baseline() {
        clear_markers
        install_set old
        run_tool -q -s
        expect_status 0
        [ "$(which_set "$R/efi1")" = old ] || fail "baseline: /efi1 holds $(which_set "$R/efi1")"
        install_set new
        rm -f "$R/tmp/pass" "$R/tmp/pass-"*-started # the passes of the sync to come
}

# complete_plainly: the next sync, without --force, completes the mirror.
complete_plainly() {
        had_intent=0
        grep -q '^intent=' "$R/efi1/.dual-root-state" 2>/dev/null && had_intent=1
        clear_markers
        run_tool -s
        expect_status 0
        if [ "$had_intent" = 1 ]; then
                expect_stdout_has "synced /efi0/ -> /efi1/ ("
                expect_stdout_has "; completed an interrupted sync from $PU0 (started "
        fi
        same_tree "$R/efi0" "$R/efi1" || fail "the next sync left /efi1 unlike /efi0: $(cat "$W/diff")"
        problem=$(check_bootable "$R/efi1") || fail "after the next sync: $problem"
        ! grep -q '^intent=' "$R/efi1/.dual-root-state" || fail "the intent is still recorded"
        ! ls -a "$R/efi1" "$R/efi1/loader/entries" | grep -q '^\.~tmp~$' || fail "rsync's .~tmp~ left behind"
}

# cut_at HOW: a sync of the update started and cut (time:SECONDS or pass:N); the alternate
# must boot, and the next plain sync completes it.
cut_at() {
        baseline
        touch "$R/tmp/slow"
        case $1 in
        pass:*) touch "$R/tmp/hold-${1#pass:}" ;;
        esac
        chroot "$R" /usr/bin/env DUAL_ROOT_EFIVARS=/efivars "$TOOL" -s >"$W/cut.out" 2>&1 &
        pid=$!
        case $1 in
        time:*) sleep "${1#time:}" ;;
        pass:*) wait_for_file "$R/tmp/pass-${1#pass:}-started" || fail "pass ${1#pass:} never started" ;;
        esac
        cut_tree "$pid"
        wait "$pid" 2>/dev/null || true
        state=$(which_set "$R/efi1")
        problem=$(check_bootable "$R/efi1") || fail "cut at $1 (holding $state): $problem"
        echo "# cut at $1: /efi1 boots with the $state set"
        echo "$state" >>"$W/cut-states"
        complete_plainly
}

cuts_at_many_points_leave_a_bootable_alternate() {
        for t in 0.1 0.3 0.6 0.9 1.2 1.5 1.8 2.1 2.4 2.7 3.0 3.4; do
                cut_at "time:$t"
        done
        for p in 2 3; do
                cut_at "pass:$p"
        done
        # The cuts fell on both sides of the switch from the old set to the new.
        grep -qx old "$W/cut-states" && grep -qx new "$W/cut-states" ||
                fail "the cuts did not fall on both sides of the switch: $(sort "$W/cut-states" | uniq -c)"
}

rsync_timeout_leaves_a_bootable_alternate() {
        baseline
        touch "$R/tmp/slow"
        printf 'rsync_path = "/opt/rsync-cut"\nrsync_timeout = 1\n' >"$CONF"
        run_tool -s
        printf 'rsync_path = "/opt/rsync-cut"\nlock_timeout = 60\n' >"$CONF"
        expect_status 1
        expect_stderr_has "failed /efi0/ -> /efi1/: rsync ran longer than rsync_timeout (1s) and was stopped"
        problem=$(check_bootable "$R/efi1") || fail "after rsync_timeout: $problem"
        complete_plainly
}

unreadable_source_file_leaves_a_bootable_alternate() {
        baseline
        # As a disk dying under the read would: rsync cannot read the new kernel.
        chmod 000 "$R/efi0/vmlinuz-6.2"
        touch "$R/tmp/unreadable"
        run_tool -s
        chmod 644 "$R/efi0/vmlinuz-6.2"
        expect_status 1
        expect_stderr_has "failed /efi0/ -> /efi1/: rsync exited with status 23 (partial transfer due to error)"
        [ "$(which_set "$R/efi1")" = old ] || fail "the entries moved on without their kernel: $(which_set "$R/efi1")"
        problem=$(check_bootable "$R/efi1") || fail "after a read error: $problem"
        complete_plainly
}

enospc_half_way_leaves_a_bootable_alternate() {
        baseline
        touch "$R/tmp/fill"
        run_tool -s
        rm -f "$R/efi1/filler"
        expect_status 1
        expect_stderr_has "failed /efi0/ -> /efi1/: rsync exited with status"
        [ "$(which_set "$R/efi1")" = old ] || fail "the entries moved on without their kernel: $(which_set "$R/efi1")"
        problem=$(check_bootable "$R/efi1") || fail "after ENOSPC: $problem"
        complete_plainly
}

too_small_for_both_sets_fails_before_changing_anything() {
        # A 10 MiB alternate: the old set (4.6 MiB) or the new (6.6 MiB) fits, not both.
        PU3=6a1e0c5b-3333-4a4a-8000-00000000e3e3
        make_disk small 16 10 "$PU3"
        DEV3=$(attach_part small 1 10)
        mkfs_esp "$DEV3" 0e5f3333-aaaa-4bbb-8ccc-333333333333 SMALL
        link_partuuid "$PU3" "$DEV3"
        umount "$R/efi1"
        mount "$DEV3" "$R/efi1"
        baseline
        cp -a "$R/efi1/.dual-root-state" "$W/state-before"
        run_tool -s
        expect_status 1
        expect_stderr_has "failed /efi0/ -> /efi1/: not enough room on '/efi1/' for the new files beside the old ones"
        expect_stderr_has " MiB missing; nothing was changed, the old set still boots"
        same_tree "$W/set-old" "$R/efi1" || fail "the alternate was changed: $(cat "$W/diff")"
        cmp -s "$W/state-before" "$R/efi1/.dual-root-state" || fail "the guard's record was changed"
        problem=$(check_bootable "$R/efi1") || fail "$problem"
        umount "$R/efi1"
        mount "$DEV1" "$R/efi1"
}

orphaned_rsync_keeps_the_lock() {
        baseline
        # An rsync whose helper outlives it (as rsync's receiver may): the helper writes
        # into the alternate for 2 s after the tool and rsync are gone.
        cat >"$R/opt/rsync-orphan" <<'WRAP'
#!/bin/sh
( trap '' TERM HUP INT; sleep 2; echo late >./late-write; touch /tmp/orphan-done ) &
echo $$ >/tmp/orphan-rsync
exec sleep 60
WRAP
        chmod 0755 "$R/opt/rsync-orphan"
        rm -f "$R/tmp/orphan-done" "$R/tmp/orphan-rsync"
        printf 'rsync_path = "/opt/rsync-orphan"\n' >"$CONF"
        chroot "$R" /usr/bin/env DUAL_ROOT_EFIVARS=/efivars "$TOOL" -s >"$W/first.out" 2>&1 &
        pid=$!
        wait_for_file "$R/tmp/orphan-rsync" || fail "rsync never started"
        rsync_pid=$(cat "$R/tmp/orphan-rsync")
        kill -KILL "$pid" # the tool only, as the OOM killer would
        wait "$pid" 2>/dev/null || true
        printf 'rsync_path = "/opt/rsync-cut"\nlock_timeout = 60\n' >"$CONF"
        run_tool -s
        expect_status 0
        [ -e "$R/tmp/orphan-done" ] || fail "the second sync ran while the orphan still held the lock"
        [ ! -e "$R/efi1/late-write" ] || fail "the orphan wrote after the second sync: a second writer ran beside it"
        ! kill -0 "$rsync_pid" 2>/dev/null || fail "rsync (pid $rsync_pid) outlived the tool"
        same_tree "$R/efi0" "$R/efi1" || fail "not mirrored: $(cat "$W/diff")"
}

run_case "cuts at many points of a kernel + boot loader update: the alternate always boots; a plain sync completes it" cuts_at_many_points_leave_a_bootable_alternate
run_case "rsync stopped by rsync_timeout: bootable, completed by the next sync" rsync_timeout_leaves_a_bootable_alternate
run_case "a source file that cannot be read: bootable, completed by the next sync" unreadable_source_file_leaves_a_bootable_alternate
run_case "ENOSPC half-way: bootable, completed by the next sync" enospc_half_way_leaves_a_bootable_alternate
run_case "old and new sets do not fit side by side: fails first, names the MiB missing, changes nothing" too_small_for_both_sets_fails_before_changing_anything
run_case "an orphaned rsync helper keeps the lock; rsync dies with the tool" orphaned_rsync_keeps_the_lock
finish

#!/bin/bash
# SPDX-License-Identifier: MIT
# A sync cut short never leaves an alternate ESP that cannot boot, and the next plain sync
# completes it (DESIGN.md §5 rules 7, 9, 10, 12, 13): a kernel + boot loader update cut at
# every pass boundary and at each rename of both rename bursts (deterministically: the
# process killed by ptrace as it makes the Nth call), at a few moments (every process of
# the tool and rsync stopped and killed at once, as by a power cut), by rsync_timeout, by a
# source file that cannot be read, by ENOSPC; a late cut on a nearly full alternate (the
# room judged without our leftovers); a source changed between the passes; an orphaned
# rsync helper keeps the lock. Real binary, real rsync, ext4 on loop devices.
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
# The old set a day older, as an update's files are: rsync's quick check tells them apart.
find "$W/set-old" -exec touch -d "@$(($(date +%s) - 86400))" {} +

# install_set NAME: the booted ESP now holds that set (its guard record kept; compared by
# content: the two sets' loader.conf have one size and, made in one second, one time).
install_set() {
        rsync -a --checksum --delete --exclude=/lost+found/ --exclude='/.dual-root-state*' --exclude=/filler \
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
        # Rule 13: loader.conf's default names an entry that is there.
        d=$(awk '$1 == "default" { print $2 }' "$1/loader/loader.conf" 2>/dev/null)
        [ -z "$d" ] || [ -f "$1/loader/entries/$d" ] ||
                { echo "loader.conf's default $d names no entry"; return 1; }
}

# same_tree A B: B mirrors A but for what each ESP keeps for itself.
same_tree() {
        diff -r -x lost+found -x '.dual-root-state*' -x random-seed "$1" "$2" >"$W/diff" 2>&1
}

# The rsync the tool runs: the real one, slowed down while $R/tmp/slow exists; killed as it
# makes its Nth rename while $R/tmp/cut-rename holds N (ptrace: strace injects SIGKILL, the
# rename not made); followed by the script $R/tmp/change-source (which writes on the booted
# ESP) while that exists.
cat >"$R/opt/rsync-cut" <<'WRAP'
#!/bin/sh
n=$(($(cat /tmp/pass 2>/dev/null || echo 0) + 1))
echo "$n" >/tmp/pass
touch "/tmp/pass-$n-started"
[ -e /tmp/slow ] && exec /usr/bin/rsync --bwlimit=2500 "$@"
if [ -e /tmp/cut-rename ]; then
        exec strace -f -qq -o /dev/null -e trace=renameat \
                -e inject=renameat:error=EIO:signal=KILL:when="$(cat /tmp/cut-rename)" \
                /usr/bin/rsync "$@"
fi
if [ -e /tmp/change-source ]; then
        /usr/bin/rsync "$@"
        st=$?
        sh /tmp/change-source
        exit "$st"
fi
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
        rm -f "$R/tmp/pass" "$R/tmp/pass-"*-started "$R/tmp/slow" "$R/tmp/cut-rename" \
                "$R/tmp/unreadable" "$R/tmp/fill" "$R/tmp/change-source" "$R/tmp/changes"
}

# baseline: the alternate holds the old set, synced and recorded; the booted ESP the new.
baseline() {
        clear_markers
        rm -f "$R/efi0/filler"
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

# after_cut HOW: the alternate boots after the cut; the next plain sync completes it.
after_cut() {
        state=$(which_set "$R/efi1")
        problem=$(check_bootable "$R/efi1") || fail "cut at $1 (holding $state): $problem"
        echo "# cut at $1: /efi1 boots with the $state set"
        echo "$state" >>"$W/cut-states"
        complete_plainly
}

# cut_at time:SECONDS: a sync of the update started and every process of it stopped and
# killed at once after SECONDS (rsync slowed down).
cut_at() {
        baseline
        touch "$R/tmp/slow"
        chroot "$R" /usr/bin/env DUAL_ROOT_EFIVARS=/efivars "$TOOL" -s >"$W/cut.out" 2>&1 &
        pid=$!
        sleep "${1#time:}"
        cut_tree "$pid"
        wait "$pid" 2>/dev/null || true
        after_cut "$1"
}

# cut_rsync_rename N EXPECTED: rsync killed as it makes its Nth rename (4 files: renames 1-4
# move each whole file into .~tmp~, 5-8 put them in place, DESIGN.md §5 rule 9).
cut_rsync_rename() {
        baseline
        echo "$1" >"$R/tmp/cut-rename"
        run_tool -s
        expect_status 1
        [ "$(which_set "$R/efi1")" = "$2" ] || fail "cut at rsync's rename $1: /efi1 holds $(which_set "$R/efi1"), expected $2"
        after_cut "rsync's rename $1"
}

# traced_run STRACE-ARGS...: the sync, the tool under strace with those arguments.
traced_run() {
        set +e
        # LeakSanitizer cannot run under ptrace: off for this one run of an ASan build.
        chroot "$R" /usr/bin/env DUAL_ROOT_EFIVARS=/efivars \
                ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
                strace -f -qq -o /dev/null "$@" "$TOOL" -s >"$OUT" 2>"$ERR"
        STATUS=$?
        set -e
}

# cut_runner SYSCALL N EXPECTED [WHO]: the runner (rsync's parent, which does passes 2 and 3)
# killed as it makes its Nth SYSCALL: syncfs (1 after pass 1 and the entries' temporary
# files, 2 before loader.conf goes in, 3 before the old entries are removed, 4 after pass 2,
# before pass 3) or renameat2 (1 the new entry, 2 loader.conf). Nothing else of ours, nor
# rsync, makes these calls before. WHO: what the failure names ("rsync", or "the copy" where
# the tool copies alone).
cut_runner() {
        baseline
        traced_run -e trace="$1" -e inject="$1":error=EIO:signal=KILL:when="$2"
        expect_status 1
        expect_stderr_has "failed /efi0/ -> /efi1/: ${4:-rsync} was killed by signal 9"
        [ "$(which_set "$R/efi1")" = "$3" ] || fail "cut at the runner's $1 $2: /efi1 holds $(which_set "$R/efi1"), expected $3"
        after_cut "the runner's $1 $2 (${4:-rsync})"
}

cuts_at_every_boundary_and_rename_leave_a_bootable_alternate() {
        for n in 1 4 5 8; do
                cut_rsync_rename "$n" old
        done
        cut_runner syncfs 1 old
        cut_runner renameat2 1 old
        cut_runner syncfs 2 "entries: debian-6.1.conf debian-6.2.conf "
        cut_runner renameat2 2 "entries: debian-6.1.conf debian-6.2.conf "
        cut_runner syncfs 3 "entries: debian-6.1.conf debian-6.2.conf "
        cut_runner syncfs 4 new
}

cuts_at_moments_leave_a_bootable_alternate() {
        for t in 0.2 0.6 1.2 2.0; do
                cut_at "time:$t"
        done
}

late_cut_on_a_full_alternate_is_completed_and_room_judged_without_leftovers() {
        baseline
        install_set old # (both hold the old set)
        # Both sets fit beside a filler on both ESPs (10 MiB left), but not our leftovers
        # of a cut made when every new file (6.6 MiB) waits in .~tmp~ too.
        free=$(($(stat -f -c '%a*%S' "$R/efi1")))
        head -c "$((free - 10 * 1024 * 1024))" /dev/zero >"$R/efi0/filler"
        run_tool -q -s
        expect_status 0
        install_set new
        echo 5 >"$R/tmp/cut-rename" # rsync's first rename into place
        run_tool -s
        expect_status 1
        rm -f "$R/tmp/cut-rename"
        ls -a "$R/efi1" | grep -qx '\.~tmp~' || fail "the cut left no .~tmp~ (not a late cut)"
        left=$(($(stat -f -c '%a*%S' "$R/efi1")))
        [ "$left" -lt $((6 * 1024 * 1024)) ] || fail "the leftovers do not fill the room ($left bytes free)"
        # The dry run judges the room as the sync will: the leftovers count as free.
        run_tool -st
        expect_status 0
        expect_stdout_has "tested /efi0/ -> /efi1/"
        ls -a "$R/efi1" | grep -qx '\.~tmp~' || fail "the dry run removed the leftovers"
        # --force meets the same judgement, and so does a plain sync.
        run_tool -s --force -t
        expect_status 0
        complete_plainly
        rm -f "$R/efi0/filler"
        run_tool -q -s
        expect_status 0
}

source_changed_between_passes_is_synced_again() {
        baseline
        # A kernel installed on the booted ESP between pass 1 and pass 2: its entry must not
        # reach the alternate before its kernel and initrd do; the sync runs again.
        cat >"$R/tmp/change-source" <<'EOS'
v=6.3.$(($(cat /tmp/changes 2>/dev/null || echo 0) + 1))
echo "${v#6.3.}" >/tmp/changes
head -c 1M /dev/urandom >"/efi0/vmlinuz-$v"
head -c 1M /dev/urandom >"/efi0/initrd.img-$v"
printf 'title Debian %s\nlinux /vmlinuz-%s\ninitrd /initrd.img-%s\n' "$v" "$v" "$v" >"/efi0/loader/entries/debian-$v.conf"
[ "${v#6.3.}" -lt "$(cat /tmp/change-times)" ] || rm -f /tmp/change-source
EOS
        echo 1 >"$R/tmp/change-times"
        run_tool -s
        expect_status 0
        expect_stdout_has "synced /efi0/ -> /efi1/ ("
        expect_stdout_has "the source changed during the sync; synced again"
        [ -f "$R/efi1/loader/entries/debian-6.3.1.conf" ] && [ -f "$R/efi1/vmlinuz-6.3.1" ] ||
                fail "the second round did not copy the new kernel and its entry"
        same_tree "$R/efi0" "$R/efi1" || fail "not mirrored: $(cat "$W/diff")"
        problem=$(check_bootable_plus "$R/efi1") || fail "$problem"
        rm -f "$R/efi0/"*6.3.* "$R/efi0/loader/entries/"*6.3.*
}

source_that_keeps_changing_is_never_called_synced() {
        baseline
        cat >"$R/tmp/change-source" <<'EOS'
v=6.4.$(($(cat /tmp/changes 2>/dev/null || echo 0) + 1))
echo "${v#6.4.}" >/tmp/changes
head -c 1M /dev/urandom >"/efi0/vmlinuz-$v"
printf 'title Debian %s\nlinux /vmlinuz-%s\n' "$v" "$v" >"/efi0/loader/entries/debian-$v.conf"
EOS
        run_tool -s
        expect_status 1
        expect_stderr_has "failed /efi0/ -> /efi1/: the source changed during the sync: the source's entry 'loader/entries/debian-6.4.3.conf' names '/vmlinuz-6.4.3', which the destination does not hold as the source does now"
        ! grep -q '^synced' "$OUT" || fail "called synced"
        [ "$(cat "$R/tmp/changes")" = 3 ] || fail "expected three attempts, saw $(cat "$R/tmp/changes")"
        [ ! -e "$R/efi1/loader/entries/debian-6.4.3.conf" ] || fail "the entry reached the alternate without its kernel"
        problem=$(check_bootable_plus "$R/efi1") || fail "$problem"
        grep -q '^intent=' "$R/efi1/.dual-root-state" || fail "the intent was cleared: the next sync would not complete it"
        rm -f "$R/tmp/change-source"
        run_tool -s
        expect_status 0
        same_tree "$R/efi0" "$R/efi1" || fail "not mirrored: $(cat "$W/diff")"
        rm -f "$R/efi0/"*6.4.* "$R/efi0/loader/entries/"*6.4.*
}

# check_bootable_plus DIR: every entry names files present, whatever set they are from.
check_bootable_plus() {
        for e in "$1"/loader/entries/*.conf; do
                [ -f "$e" ] || continue
                for k in $(awk '$1 == "linux" || $1 == "initrd" { print $2 }' "$e"); do
                        [ -f "$1$k" ] || { echo "entry ${e#"$1"/} names $k, which is missing"; return 1; }
                        [ -s "$1$k" ] || { echo "entry ${e#"$1"/} names $k, which is empty"; return 1; }
                done
        done
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

# --- the same cuts where the tool copies alone (rsync_path and rsync_opts unset) -------------
# DESIGN.md §5 "Why in-process": pass 1 is the runner's too. Its renameat2 calls 1-4 put pass
# 1's files in place (EFI/BOOT/BOOTX64.EFI, EFI/systemd/systemd-bootx64.efi, initrd.img-6.2,
# vmlinuz-6.2), 5-6 the entry and loader.conf; syncfs 1 before pass 1's renames (it
# replaces the boot loader), 2 before the entries', 3 before loader.conf's, 4 before the old
# entries go, 5 after pass 2.

IN_PROCESS_CONF='lock_timeout = 60\n'

# cut_in_process SYSCALL N EXPECTED: the runner killed as it makes its Nth SYSCALL.
cut_in_process() { cut_runner "$1" "$2" "$3" "the copy"; }

in_process_cuts_at_every_boundary_and_rename_leave_a_bootable_alternate() {
        printf "$IN_PROCESS_CONF" >"$CONF"
        for n in 1 2 3 4; do
                cut_in_process renameat2 "$n" old
        done
        cut_in_process syncfs 1 old
        cut_in_process syncfs 2 old
        cut_in_process renameat2 5 old
        cut_in_process syncfs 3 "entries: debian-6.1.conf debian-6.2.conf "
        cut_in_process renameat2 6 "entries: debian-6.1.conf debian-6.2.conf "
        cut_in_process syncfs 4 "entries: debian-6.1.conf debian-6.2.conf "
        cut_in_process syncfs 5 new
        printf 'rsync_path = "/opt/rsync-cut"\nlock_timeout = 60\n' >"$CONF"
}

# Each copy_file_range slowed by 0.3 s (8 calls: 2.4 s of copy), the tool and its runner
# stopped and killed at once at moments of it, as by a power cut.
in_process_cuts_at_moments_leave_a_bootable_alternate() {
        printf "$IN_PROCESS_CONF" >"$CONF"
        for t in 0.3 0.9 1.5 2.2; do
                baseline
                chroot "$R" /usr/bin/env DUAL_ROOT_EFIVARS=/efivars \
                        ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
                        strace -f -qq -o /dev/null -e trace=copy_file_range \
                        -e inject=copy_file_range:delay_enter=300000 "$TOOL" -s >"$W/cut.out" 2>&1 &
                pid=$!
                sleep "$t"
                cut_tree "$pid"
                wait "$pid" 2>/dev/null || true
                after_cut "the in-process copy at ${t}s"
        done
        printf 'rsync_path = "/opt/rsync-cut"\nlock_timeout = 60\n' >"$CONF"
}

in_process_enospc_and_unreadable_leave_a_bootable_alternate() {
        printf "$IN_PROCESS_CONF" >"$CONF"
        # ENOSPC at the third copy call (something else filled the disk after the room
        # check): pass 1 stops before any rename; its temporary files are ours to remove.
        baseline
        traced_run -e trace=copy_file_range -e inject=copy_file_range:error=ENOSPC:when=3
        expect_status 1
        expect_stderr_has "failed /efi0/ -> /efi1/: the copy failed: cannot copy '"
        expect_stderr_has "No space left on device"
        [ "$(which_set "$R/efi1")" = old ] || fail "after ENOSPC: /efi1 holds $(which_set "$R/efi1")"
        problem=$(check_bootable "$R/efi1") || fail "after ENOSPC: $problem"
        complete_plainly
        # A source file that cannot be read (a disk dying under the read).
        baseline
        chmod 000 "$R/efi0/vmlinuz-6.2"
        set +e
        chroot "$R" setpriv --bounding-set=-dac_override,-dac_read_search \
                /usr/bin/env DUAL_ROOT_EFIVARS=/efivars "$TOOL" -s >"$OUT" 2>"$ERR"
        STATUS=$?
        set -e
        chmod 644 "$R/efi0/vmlinuz-6.2"
        expect_status 1
        expect_stderr_has "failed /efi0/ -> /efi1/: the copy failed: cannot open source 'vmlinuz-6.2': Permission denied"
        [ "$(which_set "$R/efi1")" = old ] || fail "after a read error: /efi1 holds $(which_set "$R/efi1")"
        problem=$(check_bootable "$R/efi1") || fail "after a read error: $problem"
        complete_plainly
        printf 'rsync_path = "/opt/rsync-cut"\nlock_timeout = 60\n' >"$CONF"
}

# Rule 12 where pass 1 is in-process: a kernel installed on the booted ESP right after pass
# 1's last rename (the runner held there 2 s) is synced again, its entry never ahead of it.
in_process_source_changed_between_passes_is_synced_again() {
        printf "$IN_PROCESS_CONF" >"$CONF"
        baseline
        (
                wait_for_file "$R/efi1/vmlinuz-6.2" 30 || exit 1
                head -c 1M /dev/urandom >"$R/efi0/vmlinuz-6.3.1"
                head -c 1M /dev/urandom >"$R/efi0/initrd.img-6.3.1"
                printf 'title Debian 6.3.1\nlinux /vmlinuz-6.3.1\ninitrd /initrd.img-6.3.1\n' \
                        >"$R/efi0/loader/entries/debian-6.3.1.conf"
        ) &
        writer=$!
        traced_run -e trace=renameat2 -e inject=renameat2:delay_exit=2000000:when=4
        wait "$writer" || fail "pass 1 never placed vmlinuz-6.2"
        expect_status 0
        expect_stdout_has "the source changed during the sync; synced again"
        [ -f "$R/efi1/loader/entries/debian-6.3.1.conf" ] && [ -f "$R/efi1/vmlinuz-6.3.1" ] ||
                fail "the second round did not copy the new kernel and its entry"
        same_tree "$R/efi0" "$R/efi1" || fail "not mirrored: $(cat "$W/diff")"
        problem=$(check_bootable_plus "$R/efi1") || fail "$problem"
        rm -f "$R/efi0/"*6.3.* "$R/efi0/loader/entries/"*6.3.*
        printf 'rsync_path = "/opt/rsync-cut"\nlock_timeout = 60\n' >"$CONF"
}

run_case "cuts at every pass boundary and at renames of both bursts (ptrace): the alternate always boots; a plain sync completes it" cuts_at_every_boundary_and_rename_leave_a_bootable_alternate
run_case "in-process copy: cuts at every boundary and rename (ptrace): the alternate always boots; a plain sync completes it" in_process_cuts_at_every_boundary_and_rename_leave_a_bootable_alternate
run_case "cuts at moments of a slowed kernel + boot loader update: the alternate always boots; a plain sync completes it" cuts_at_moments_leave_a_bootable_alternate
run_case "rule 10: a late cut on a nearly full alternate: its leftovers are ours, the room judged without them" late_cut_on_a_full_alternate_is_completed_and_room_judged_without_leftovers
run_case "rule 12: a kernel installed on the source between pass 1 and pass 2 is synced again, its entry never ahead of it" source_changed_between_passes_is_synced_again
run_case "rule 12: a source that keeps changing is never called synced" source_that_keeps_changing_is_never_called_synced
run_case "rsync stopped by rsync_timeout: bootable, completed by the next sync" rsync_timeout_leaves_a_bootable_alternate
run_case "a source file that cannot be read: bootable, completed by the next sync" unreadable_source_file_leaves_a_bootable_alternate
run_case "ENOSPC half-way: bootable, completed by the next sync" enospc_half_way_leaves_a_bootable_alternate
run_case "old and new sets do not fit side by side: fails first, names the MiB missing, changes nothing" too_small_for_both_sets_fails_before_changing_anything
run_case "an orphaned rsync helper keeps the lock; rsync dies with the tool" orphaned_rsync_keeps_the_lock
run_case "in-process copy: cuts at moments of a slowed update: the alternate always boots; a plain sync completes it" in_process_cuts_at_moments_leave_a_bootable_alternate
run_case "in-process copy: ENOSPC half-way and an unreadable source file: bootable, completed by the next sync" in_process_enospc_and_unreadable_leave_a_bootable_alternate
run_case "in-process copy, rule 12: a kernel installed between pass 1 and pass 2 is synced again" in_process_source_changed_between_passes_is_synced_again
finish

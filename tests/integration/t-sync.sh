#!/bin/bash
# SPDX-License-Identifier: MIT
# One-shot sync (-s, DESIGN.md §5): ESP mirroring and sync lists, and every safety rule, on real
# ext4 filesystems on loop devices.
. "$(dirname "$0")/lib.sh"

make_two_disk_machine
CONF="$R/etc/dual-root/sync-daemon.conf"

# A third disk: an approach-2 "alternate root" (ext4) mounted on /mnt/root1 when a case wants.
PU2=6a1e0c5b-2222-4a4a-8000-00000000e2e2
make_disk disk2 40 32 "$PU2"
DEV2=$(attach_part disk2 1 32)
mkfs.ext4 -q -F -L ROOT1 "$DEV2"
mkdir -p "$R/mnt/root1" "$R/srv/data"
echo "payload" >"$R/srv/data/file"

# esp_content DIR: a small ESP tree.
esp_content() {
        mkdir -p "$1/EFI/systemd" "$1/loader/entries"
        echo "bootloader" >"$1/EFI/systemd/systemd-bootx64.efi"
        echo "title Debian" >"$1/loader/entries/debian.conf"
        echo "kernel-$2" >"$1/vmlinuz"
        echo "seed-of-$2" >"$1/loader/random-seed"
}

reset_sync() {
        reset_machine
        while mountpoint -q "$R/mnt/root1"; do umount "$R/mnt/root1"; done
        for d in "$R/efi0" "$R/efi1"; do
                find "$d" -mindepth 1 -maxdepth 1 ! -name lost+found -exec rm -rf {} +
        done
        esp_content "$R/efi0" 0
        rm -f "$R/etc/fstab" "$R/opt/"*
        mkdir -p "$R/opt"
}

# start_first_sync: a `-q -s` in the background, its output in $W/first.out, its pid in
# $first.
start_first_sync() {
        chroot "$R" /usr/bin/env DUAL_ROOT_EFIVARS=/efivars "$TOOL" -q -s >"$W/first.out" 2>&1 &
        first=$!
}

# fake_rsync BODY: /opt/fake-rsync, a shell script run instead of rsync (rsync_path).
fake_rsync() {
        printf '#!/bin/sh\n%s\n' "$1" >"$R/opt/fake-rsync"
        chmod 0755 "$R/opt/fake-rsync"
}

sync_mirrors_booted_esp_to_alternate() {
        reset_sync
        booted_by_loader "$PU0"
        # An ESP never synced by us: it has an EFI directory (DESIGN.md §3 D3).
        mkdir -p "$R/efi1/EFI"
        echo "stale" >"$R/efi1/old-kernel"
        echo "seed-of-1" >"$R/efi1/loader-seed-keep"
        mkdir -p "$R/efi1/loader"
        echo "seed-of-1" >"$R/efi1/loader/random-seed"
        run_tool -s
        expect_status 0
        expect_stdout_has "synced /efi0/ -> /efi1/ ("
        expect_stdout_has "1 synced, 0 skipped, 0 failed"
        [ "$(cat "$R/efi1/vmlinuz")" = kernel-0 ] || fail "kernel not copied"
        [ "$(cat "$R/efi1/loader/entries/debian.conf")" = "title Debian" ] || fail "entry not copied"
        [ ! -e "$R/efi1/old-kernel" ] || fail "--delete did not remove a file absent from the source"
        [ "$(cat "$R/efi1/loader/random-seed")" = seed-of-1 ] || fail "the alternate's random seed was overwritten"
}

sync_direction_follows_the_booted_disk() {
        reset_sync
        rm -rf "${R:?}/efi0/"*
        esp_content "$R/efi1" 1
        efivar bootentry 0001 "Linux esp 1" --hd 1 "$PU1" --full-nvme
        efivar bootcurrent 0001
        run_tool -s
        expect_status 0
        expect_stdout_has "synced /efi1/ -> /efi0/ ("
        [ "$(cat "$R/efi0/vmlinuz")" = kernel-1 ] || fail "disk 1's kernel not on disk 0"
}

sync_test_mode_prints_commands_and_changes_nothing() {
        reset_sync
        booted_by_loader "$PU0"
        run_tool -st
        expect_status 0
        # Never synced before (no guard record): compared by content. The copy order of
        # DESIGN.md §5 rule 9, all of it the tool's own with the default rsync settings: the
        # files but /loader/ (nothing deleted), the entries (pass 2), the deletions (pass 3).
        # Each change is told, labelled by its pass.
        expect_stdout_has "would sync /efi0/ -> /efi1/: copied by dual-root-tool itself, comparing content (files, then entries, then deletions; rsync_path and rsync_opts unset)"
        [ "$(grep -c '^would sync ' "$OUT")" = 1 ] || fail "expected exactly one command"
        expect_stdout_has "pass 1 (files): create vmlinuz"
        expect_stdout_has "pass 1 (files): create EFI/systemd/systemd-bootx64.efi"
        expect_stdout_has "pass 2 (entries): create loader/entries/debian.conf"
        ! grep -Eq 'bytes|speedup|file list' "$OUT" || fail "rsync's byte counters are shown: $(cat "$OUT")"
        expect_stdout_has "1 tested, 0 skipped, 0 failed"
        [ ! -e "$R/efi1/vmlinuz" ] || fail "test mode copied a file"
        [ ! -e "$R/efi1/.dual-root-state" ] && [ ! -e "$R/efi0/.dual-root-state" ] || fail "test mode wrote state"
        # A changed file is "replace", one the source lacks "delete" (pass 3).
        echo extra >"$R/efi0/extra"
        run_tool -s
        expect_status 0
        rm "$R/efi0/extra"
        echo new >"$R/efi0/vmlinuz"
        printf 'title Debian new\nlinux /vmlinuz\n' >"$R/efi0/loader/entries/debian.conf"
        run_tool -st
        expect_status 0
        expect_stdout_has "pass 1 (files): replace vmlinuz"
        expect_stdout_has "pass 2 (entries): replace loader/entries/debian.conf"
        expect_stdout_has "pass 3 (deletions): delete extra"
        [ -e "$R/efi1/extra" ] || fail "test mode deleted a file"
        # Issue 17.7: where the rollback guard refuses, -s -t shows what a forced sync would
        # change, still ends refused, and the refusal says so.
        echo stale >"$R/efi1/extra"
        touch -d @1000000000 "$R/efi1/extra"
        run_tool -st
        expect_status 1
        expect_stdout_has "pass 3 (deletions): delete extra"
        expect_stderr_has "not overwriting it. See what a sync would change there with -s -t (dry run: each file created, replaced or deleted), then sync with --force"
        expect_stdout_has "0 tested, 0 skipped, 1 failed"
        [ "$(cat "$R/efi1/extra")" = stale ] || fail "test mode changed a file"
        # rsync_opts in the file: rsync copies pass 1, with those options (the other passes
        # stay the tool's).
        printf 'rsync_opts = "-axHAX -t"\n' >"$CONF"
        run_tool -st --force
        expect_status 0
        common="--exclude=/loader/random-seed --exclude=/.dual-root-state --exclude=/.dual-root-state.new --exclude=/.dual-root-drill --exclude=/.dual-root-drill.new"
        expect_stdout_has "would sync /efi0/ -> /efi1/: /usr/bin/rsync -axHAX -t --no-specials --atimes --open-noatime --exclude=/lost+found/ --delay-updates --checksum -n -i $common --exclude=/loader/ /efi0/ /efi1/"
        expect_stdout_has "pass 1 (files): replace vmlinuz"
        expect_stdout_has "pass 3 (deletions): delete extra"
        rm "$CONF"
}

rule0_unknown_booted_esp_syncs_no_esp() {
        reset_sync
        mkdir -p "$R/mnt/root1"
        mount "$DEV2" "$R/mnt/root1"
        printf 'sync = [["/efi0/EFI", "/mnt/root1/"], ["/srv/data", "/mnt/root1/"]]\n' >"$CONF"
        run_tool -s
        expect_status 1
        expect_stderr_has "cannot identify the booted ESP"
        expect_stderr_has "refused ESP: not syncing any ESP: the booted ESP is unknown"
        expect_stderr_has "refused /efi0/EFI -> /mnt/root1/: not syncing '/efi0/EFI' to '/mnt/root1/': it involves an ESP and the booted ESP is unknown"
        expect_stdout_has "synced /srv/data -> /mnt/root1/"
        [ -z "$(ls -A "$R/efi1" | grep -v lost+found)" ] || fail "/efi1 was written"
        [ ! -e "$R/mnt/root1/EFI" ] || fail "an ESP item ran"
        [ -f "$R/mnt/root1/data/file" ] || fail "the non-ESP item did not run"
}

rule1_never_into_the_booted_esp() {
        reset_sync
        booted_by_loader "$PU0"
        printf 'dualroot = false\nsync = ["/srv/data", "/efi0/"]\n' >"$CONF"
        # Rule 11: refused as the config is checked, before anything runs (exit 2).
        run_tool -s
        expect_status 2
        expect_stderr_has "/etc/dual-root/sync-daemon.conf:2: sync item 0: destination '/efi0/' (resolved: '/efi0') is on the booted ESP '/efi0': the ESP booted from is never written"
        expect_stdout_lacks "synced"
        [ ! -e "$R/efi0/data" ] || fail "wrote into the booted ESP"
}

rule1_never_within_one_filesystem() {
        reset_sync
        booted_by_loader "$PU0"
        mkdir -p "$R/srv/copy"
        printf 'dualroot = false\nsync = ["/srv/data", "/srv/copy/"]\n' >"$CONF"
        run_tool -s
        expect_status 1
        expect_stderr_has "refused /srv/data -> /srv/copy/: destination '/srv/copy/' is on the same filesystem as source '/srv/data'"
}

rule2_unmounted_alternate_is_skipped_and_stays_empty() {
        reset_sync
        booted_by_loader "$PU0"
        umount "$R/efi1"
        mkdir -p "$R/efi2"
        mount "$DEV2" "$R/efi2"
        find "$R/efi2" -mindepth 1 -maxdepth 1 ! -name lost+found -exec rm -rf {} + # other cases' data: not an ESP (D3)
        run_tool -s
        umount "$R/efi2"
        rmdir "$R/efi2"
        expect_status 0
        expect_stderr_has "warning: skipped /efi0/ -> /efi1/: '/efi1' is not a mount point (alternate ESP missing?)"
        expect_stdout_has "synced /efi0/ -> /efi2/"
        expect_stdout_has "1 synced, 1 skipped, 0 failed"
        [ -z "$(ls -A "$R/efi1")" ] || fail "the root filesystem's /efi1 directory was filled"
}

rule2_fstab_destination_not_mounted_is_skipped() {
        reset_sync
        booted_by_loader "$PU0"
        printf 'PARTUUID=%s /mnt/root1 ext4 defaults 0 2\n' "$PU2" >"$R/etc/fstab"
        printf 'sync = ["/srv/data", "/mnt/root1/"]\n' >"$CONF"
        run_tool -s
        expect_status 0
        expect_stderr_has "skipped /srv/data -> /mnt/root1/: '/mnt/root1' is not mounted (/etc/fstab mounts it; disk missing?)"
        [ -z "$(ls -A "$R/mnt/root1")" ] || fail "the root filesystem's /mnt/root1 was filled"
}

rule3_empty_source_is_refused() {
        reset_sync
        booted_by_loader "$PU0"
        esp_content "$R/efi1" 1
        rm -rf "${R:?}/efi0/"*
        run_tool -s
        expect_status 1
        expect_stderr_has "refused /efi0/ -> /efi1/: source '/efi0/' is empty; with --delete it would wipe '/efi1/'"
        [ "$(cat "$R/efi1/vmlinuz")" = kernel-1 ] || fail "the alternate was wiped"
}

rule3_unmounted_source_is_refused() {
        reset_sync
        booted_by_loader "$PU0"
        mkdir -p "$R/srv/esp-a" "$R/mnt/root1"
        mount "$DEV2" "$R/mnt/root1"
        echo keep >"$R/mnt/root1/keep"
        printf 'PARTUUID=%s /srv/esp-a ext4 defaults 0 2\n' "$PU1" >"$R/etc/fstab"
        printf 'dualroot = false\nsync = ["/srv/esp-a/", "/mnt/root1/"]\n' >"$CONF"
        run_tool -s
        expect_status 1
        expect_stderr_has "refused /srv/esp-a/ -> /mnt/root1/: source '/srv/esp-a/' is not mounted (/etc/fstab mounts '/srv/esp-a' there)"
        [ -f "$R/mnt/root1/keep" ] || fail "the destination was wiped"
}

rule4_rollback_guard_refuses_a_newer_alternate() {
        reset_sync
        booted_by_loader "$PU0"
        run_tool -s
        expect_status 0
        # Booted from disk 1 while disk 0 was away: disk 1 got a new kernel, its mtime old
        # (as dpkg sets it from the package) so that times cannot tell which side is newer.
        echo "kernel-new" >"$R/efi1/vmlinuz-6.99"
        touch -d '2001-01-01' "$R/efi1/vmlinuz-6.99"
        # Now booted from the stale disk 0 again. A dry run tells so too.
        run_tool -s -t
        expect_status 1
        expect_stderr_has "refused /efi0/ -> /efi1/: '/efi1/' changed since the last sync recorded on it"
        run_tool -s
        expect_status 1
        expect_stderr_has "refused /efi0/ -> /efi1/: '/efi1/' changed since the last sync recorded on it"
        expect_stderr_has "--force"
        [ -f "$R/efi1/vmlinuz-6.99" ] || fail "the newer alternate was rolled back"
        run_tool -s --force
        expect_status 0
        [ ! -e "$R/efi1/vmlinuz-6.99" ] || fail "--force did not sync"
        run_tool -s
        expect_status 0
}

rule4_rollback_guard_lets_a_lagging_alternate_catch_up() {
        reset_sync
        booted_by_loader "$PU0"
        run_tool -s
        expect_status 0
        echo "kernel-2, a different size" >"$R/efi0/vmlinuz"
        echo "seed changes at every boot" >"$R/efi1/loader/random-seed"
        run_tool -s
        expect_status 0
        [ "$(cat "$R/efi1/vmlinuz")" = "kernel-2, a different size" ] || fail "update not copied"
}

rule4_rollback_guard_allows_identical_content() {
        reset_sync
        booted_by_loader "$PU0"
        run_tool -s
        expect_status 0
        # Both sides got the same update by other means.
        cp -a "$R/efi0/vmlinuz" "$R/efi0/vmlinuz-x"
        cp -a "$R/efi0/vmlinuz" "$R/efi1/vmlinuz-x"
        touch -r "$R/efi0/vmlinuz-x" "$R/efi1/vmlinuz-x"
        run_tool -s
        expect_status 0
}

rule4_a_copy_torn_by_a_crash_is_compared_by_content() {
        reset_sync
        booted_by_loader "$PU0"
        run_tool -s
        expect_status 0
        run_tool -s -t
        expect_status 0
        expect_stdout_lacks "comparing content" # as the last sync left it: the quick check holds
        expect_stdout_has "tested /efi0/ -> /efi1/: nothing was changed; already in sync, nothing to copy"
        # A kernel update, then a crash before its sync's flush was done: on the alternate
        # the new size and time reached the disk, the new bytes did not, and the guard's
        # record is the old one (it is written only after the flush).
        echo "kernel-1, the update" >"$R/efi0/vmlinuz"
        touch -d '2030-01-02 03:04:05' "$R/efi0/vmlinuz"
        head -c "$(stat -c %s "$R/efi0/vmlinuz")" /dev/zero | tr '\0' X >"$R/efi1/vmlinuz"
        touch -r "$R/efi0/vmlinuz" "$R/efi1/vmlinuz"
        run_tool -s -t
        expect_status 0
        expect_stdout_has "comparing content"
        expect_stdout_has "pass 1 (files): replace vmlinuz"
        run_tool -s
        expect_status 0
        cmp -s "$R/efi0/vmlinuz" "$R/efi1/vmlinuz" || fail "the torn copy was left in place: $(cat "$R/efi1/vmlinuz")"
        run_tool -s -t
        expect_status 0
        expect_stdout_lacks "comparing content"
        expect_stdout_has "already in sync, nothing to copy"
}

rule5_exclusions_never_accumulate() {
        reset_sync
        booted_by_loader "$PU0"
        mkdir -p "$R/efi2" "$R/mnt/root1"
        mount "$DEV2" "$R/efi2"
        rm -f "$R/efi2/.dual-root-state" # another case's sync: the guard would refuse
        mkdir -p "$R/srv/other"
        echo x >"$R/srv/other/x"
        printf 'sync = [["/srv/data", "/efi2/data/", ["/one"]], ["/srv/other", "/efi2/other/", ["/two"]]]\n' >"$CONF"
        mkdir -p "$R/efi2/data" "$R/efi2/other" "$R/efi2/EFI" # an ESP (D3)
        run_tool -st
        umount "$R/efi2"
        rmdir "$R/efi2"
        expect_status 0
        # One rsync run per alternate (DESIGN.md §5 rule 9), alike but for the destination.
        [ "$(grep -c '^would sync /efi0/ -> ' "$OUT")" = 2 ] || fail "expected two ESP commands"
        grep '^would sync /efi0/' "$OUT" | sed 's|^[^:]*: ||; s| /efi[12]/$||' | sort -u >"$W/esp-cmds"
        [ "$(wc -l <"$W/esp-cmds")" = 1 ] || fail "the ESP commands differ beyond the destination"
        # Each item's own exclusion, then its tree's guard records (left alone on both sides).
        grep -q -- "--exclude=/one --exclude=/data/.dual-root-state --exclude=/data/.dual-root-state.new /srv/data /efi2/data/$" "$OUT" || fail "item 1's command is wrong"
        grep -q -- "--delete -n -i --exclude=/two --exclude=/other/.dual-root-state --exclude=/other/.dual-root-state.new /srv/other /efi2/other/$" "$OUT" || fail "item 2 carries item 1's exclusion"
}

rule6_destination_is_flushed_before_success() {
        reset_sync
        booted_by_loader "$PU0"
        set +e
        # LeakSanitizer cannot run under ptrace: off for this one run of an ASan build.
        strace -f -qq -e trace=syncfs,waitid,write,rename,renameat,renameat2 -o "$W/trace" \
                chroot "$R" /usr/bin/env DUAL_ROOT_EFIVARS=/efivars \
                ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
                "$TOOL" -s >"$OUT" 2>"$ERR"
        STATUS=$?
        set -e
        expect_status 0
        # The tool's own process: the one that reports (the runner flushes between passes too).
        main=$(grep -m 1 'write(1, "synced' "$W/trace" | cut -d' ' -f1)
        [ -n "$main" ] || fail "no report at all"
        grep "^$main " "$W/trace" | grep -E 'waitid\(P_PID,|syncfs|write\(1, "synced|rename' | sed 's/^[0-9]* *//' | cut -c1-20 >"$W/order"
        first_waitid=$(grep -n '^waitid' "$W/order" | tail -n 1 | cut -d: -f1)
        sync_line=$(grep -n '^syncfs' "$W/order" | head -n 1 | cut -d: -f1)
        report=$(grep -n '^write(1, "synced' "$W/order" | cut -d: -f1)
        [ -n "$first_waitid" ] && [ -n "$sync_line" ] && [ -n "$report" ] || fail "trace lacks waitid/syncfs/report: $(cat "$W/order")"
        [ "$first_waitid" -lt "$sync_line" ] && [ "$sync_line" -lt "$report" ] || fail "order is not rsync exit, syncfs, report: $(cat "$W/order")"
        # The intent (rule 10) is renamed into place before rsync runs; the records of the
        # completed sync come after the flush: never one for data not on disk.
        first_rename=$(grep -n '^rename' "$W/order" | head -n 1 | cut -d: -f1)
        [ -n "$first_rename" ] || fail "no intent was recorded: $(cat "$W/order")"
        [ "$first_rename" -lt "$first_waitid" ] || fail "the intent was not recorded before rsync ended: $(cat "$W/order")"
        after=$(tail -n +"$sync_line" "$W/order" | grep -c '^rename')
        between=$(sed -n "$((first_rename + 1)),$((sync_line - 1))p" "$W/order" | grep -c '^rename' || true)
        [ "$after" = 2 ] || fail "expected the two guard records (destination, source) after syncfs: $(cat "$W/order")"
        [ "$between" = 0 ] || fail "a guard record was written between the intent and syncfs: $(cat "$W/order")"
        grep -q '^[0-9]* *syncfs([0-9]*) *= 0' "$W/trace" || fail "syncfs did not succeed"
}

rule7_second_sync_waits_for_the_lock_then_gives_up() {
        reset_sync
        booted_by_loader "$PU0"
        fake_rsync 'sleep 3; exec /usr/bin/rsync "$@"'
        printf 'rsync_path = "/opt/fake-rsync"\nlock_timeout = 0.5\n' >"$CONF"
        start_first_sync
        sleep 1
        run_tool -s
        wait "$first" || fail "the first sync failed: $(cat "$W/first.out")"
        expect_status 1
        expect_stderr_has "failed /efi0/ -> /efi1/: another sync into '/efi1/' held its lock for more than lock_timeout (0.5s)"
}

rule7_second_sync_waits_for_the_lock_then_runs() {
        reset_sync
        booted_by_loader "$PU0"
        fake_rsync 'sleep 4; exec /usr/bin/rsync "$@"'
        printf 'rsync_path = "/opt/fake-rsync"\nlock_timeout = 20\n' >"$CONF"
        start_first_sync
        sleep 0.5
        start=$(date +%s%N)
        run_tool -s
        took=$((($(date +%s%N) - start) / 1000000))
        wait "$first" || fail "the first sync failed"
        expect_status 0
        [ "$took" -ge 3000 ] || fail "the second sync took ${took}ms: it did not wait for the first (>= 3000ms expected)"
}

rule2_an_alternate_unmounted_while_waiting_for_its_lock_is_skipped() {
        reset_sync
        booted_by_loader "$PU0"
        # The first sync's rsync starts 2 s late: the unmount comes between its checks and
        # rsync, which works in the alternate it was given (it fails there, detached, rather
        # than write into the directory underneath).
        fake_rsync 'sleep 2; exec /usr/bin/rsync "$@"'
        printf 'rsync_path = "/opt/fake-rsync"\nlock_timeout = 20\n' >"$CONF"
        start_first_sync
        sleep 0.5
        # The second reads a mount table with /efi1 in it, then waits for the lock...
        chroot "$R" /usr/bin/env DUAL_ROOT_EFIVARS=/efivars "$TOOL" -s >"$OUT" 2>"$ERR" &
        second=$!
        sleep 0.5
        # ...while the disk goes away (a lazy unmount: the first sync still holds it).
        umount -l "$R/efi1"
        ! wait "$first" || fail "the first sync reported success: $(cat "$W/first.out")"
        grep -q "failed /efi0/ -> /efi1/: rsync exited with status 3" "$W/first.out" || fail "the first sync did not fail in the detached alternate: $(cat "$W/first.out")"
        set +e
        wait "$second"
        STATUS=$?
        set -e
        expect_status 0
        expect_stderr_has "skipped /efi0/ -> /efi1/: '/efi1/' is no longer mounted (alternate ESP missing?)"
        [ -z "$(ls -A "$R/efi1")" ] || fail "the root filesystem's /efi1 was written: $(ls -A "$R/efi1")"
}

sigint_stops_rsync_and_the_pairs_after_it() {
        reset_sync
        booted_by_loader "$PU0"
        mkdir -p "$R/efi2"
        mount "$DEV2" "$R/efi2"
        find "$R/efi2" -mindepth 1 -maxdepth 1 ! -name lost+found -exec rm -rf {} +
        fake_rsync 'sleep 5; exec /usr/bin/rsync "$@"'
        printf 'rsync_path = "/opt/fake-rsync"\n' >"$CONF"
        chroot "$R" /usr/bin/env DUAL_ROOT_EFIVARS=/efivars "$TOOL" -s >"$OUT" 2>"$ERR" &
        tool=$!
        sleep 1
        kill -INT "$tool"
        set +e
        wait "$tool"
        STATUS=$?
        set -e
        umount "$R/efi2"
        rmdir "$R/efi2"
        expect_status 1
        expect_stderr_has "failed /efi0/ -> /efi1/: interrupted by INT; rsync was stopped"
        expect_stderr_has "not run /efi2/: interrupted"
        expect_stdout_has "0 synced, 0 skipped, 2 failed"
}

rule8_missing_rsync_fails_clearly() {
        reset_sync
        booted_by_loader "$PU0"
        # Named in the config but not there: a config error before anything runs (§7 C7).
        printf 'rsync_path = "/nonexistent/rsync"\n' >"$CONF"
        run_tool -s
        expect_status 2
        expect_stderr_has "rsync_path '/nonexistent/rsync' does not exist, expected the path of the rsync program"
        # There, but it cannot run when the job starts (its interpreter is gone): the job fails.
        mkdir -p "$R/opt"
        printf '#!/nonexistent/sh\n' >"$R/opt/gone-rsync"
        chmod 0755 "$R/opt/gone-rsync"
        printf 'rsync_path = "/opt/gone-rsync"\n' >"$CONF"
        run_tool -s
        expect_status 1
        expect_stderr_has "failed /efi0/ -> /efi1/: cannot run '/opt/gone-rsync': No such file or directory"
        expect_stdout_has "0 synced, 0 skipped, 1 failed"
}

rule8_failing_rsync_does_not_stop_other_items() {
        reset_sync
        booted_by_loader "$PU0"
        mount "$DEV2" "$R/mnt/root1"
        # The ESP pair's runs are the ones with --delay-updates (DESIGN.md §5 rule 9).
        fake_rsync 'case " $* " in *" --delay-updates "*) exit 23 ;; esac; exec /usr/bin/rsync "$@"'
        printf 'rsync_path = "/opt/fake-rsync"\nsync = ["/srv/data", "/mnt/root1/"]\n' >"$CONF"
        run_tool -s
        expect_status 1
        expect_stderr_has "failed /efi0/ -> /efi1/: rsync exited with status 23 (partial transfer due to error)"
        expect_stdout_has "synced /srv/data -> /mnt/root1/"
        expect_stdout_has "1 synced, 0 skipped, 1 failed"
        [ -f "$R/mnt/root1/data/file" ] || fail "the second item did not run"
}

rule8_rsync_over_its_time_limit_is_stopped() {
        reset_sync
        booted_by_loader "$PU0"
        fake_rsync 'echo $$ >/tmp/rsync.pid; exec sleep 30'
        printf 'rsync_path = "/opt/fake-rsync"\nrsync_timeout = 1\n' >"$CONF"
        start=$(date +%s)
        run_tool -s
        took=$(($(date +%s) - start))
        expect_status 1
        expect_stderr_has "failed /efi0/ -> /efi1/: rsync ran longer than rsync_timeout (1s) and was stopped"
        [ "$took" -lt 10 ] || fail "took ${took}s to stop rsync"
        ! kill -0 "$(cat "$R/tmp/rsync.pid")" 2>/dev/null || fail "the stopped rsync (pid $(cat "$R/tmp/rsync.pid")) is still running"
}

priority_is_inherited_by_rsync() {
        reset_sync
        booted_by_loader "$PU0"
        fake_rsync 'cut -d" " -f19 /proc/$$/stat >/tmp/nice; ionice -p $$ >/tmp/ionice; exec /usr/bin/rsync "$@"'
        printf 'rsync_path = "/opt/fake-rsync"\nnice = 7\nionice_class = 2\nionice_value = 5\n' >"$CONF"
        run_tool -s
        expect_status 0
        [ "$(cat "$R/tmp/nice")" = 7 ] || fail "rsync ran at nice $(cat "$R/tmp/nice"), expected 7"
        [ "$(cat "$R/tmp/ionice")" = "best-effort: prio 5" ] || fail "rsync ran with I/O priority '$(cat "$R/tmp/ionice")'"
}

priority_defaults_to_nice_15_idle_io() {
        reset_sync
        booted_by_loader "$PU0"
        fake_rsync 'cut -d" " -f19 /proc/$$/stat >/tmp/nice; ionice -p $$ >/tmp/ionice; exec /usr/bin/rsync "$@"'
        printf 'rsync_path = "/opt/fake-rsync"\n' >"$CONF"
        run_tool -s
        expect_status 0
        [ "$(cat "$R/tmp/nice")" = 15 ] || fail "rsync ran at nice $(cat "$R/tmp/nice"), expected 15"
        [ "$(cat "$R/tmp/ionice")" = "idle" ] || fail "rsync ran with I/O priority '$(cat "$R/tmp/ionice")'"
}

approach2_sync_list_with_exclusions() {
        reset_sync
        booted_by_loader "$PU0"
        mount "$DEV2" "$R/mnt/root1"
        mkdir -p "$R/srv/etc" "$R/mnt/root1/etc"
        echo "UUID=disk0 / ext4" >"$R/srv/etc/fstab"
        echo "host" >"$R/srv/etc/hostname"
        echo "UUID=disk1 / ext4" >"$R/mnt/root1/etc/fstab"
        printf 'dualroot = false\nsync = [\n  ["/srv/etc", ["/mnt/root1/"], ["/etc/fstab"]],\n]\n' >"$CONF"
        # rsync anchors exclusions at the transfer root: "/srv/etc" copies the directory
        # "etc", so "/etc/fstab" names its fstab.
        run_tool -s
        expect_status 0
        [ "$(cat "$R/mnt/root1/etc/hostname")" = host ] || fail "not copied"
        [ "$(cat "$R/mnt/root1/etc/fstab")" = "UUID=disk1 / ext4" ] || fail "the excluded fstab was overwritten"
        expect_stdout_lacks "/efi1"
}

quiet_sync_prints_nothing_when_fine() {
        reset_sync
        booted_by_loader "$PU0"
        run_tool -q -s
        expect_status 0
        [ ! -s "$OUT" ] || fail "stdout not empty"
        expect_stderr_empty
}

progress_on_a_terminal_and_not_in_a_log() {
        reset_sync
        booted_by_loader "$PU0"
        # A copy of 4 MiB at 1 MB/s: long enough for rsync's progress reports.
        head -c 4M /dev/urandom >"$R/efi0/big"
        fake_rsync 'exec /usr/bin/rsync --bwlimit=1000 "$@"'
        printf 'rsync_path = "/opt/fake-rsync"\n' >"$CONF"
        # On a pseudo-terminal: one line rewritten in place, bytes, files, rate, time left.
        script -qec "chroot '$R' /usr/bin/env DUAL_ROOT_EFIVARS=/efivars '$TOOL' -s" /dev/null >"$OUT" 2>&1 ||
                fail "the sync failed: $(cat "$OUT")"
        grep -aq 'synced /efi0/ -> /efi1/' "$OUT" || fail "not synced: $(cat "$OUT")"
        tr '\r' '\n' <"$OUT" | grep -aE '^(.\[K)?copying /efi0/ -> /efi1/: [0-9.]+ MiB \([0-9]+%\), [0-9]+ files?, [0-9.]+[kMG]?B/s, [0-9:]+ left' >/dev/null ||
                fail "no progress line: $(cat -v "$OUT")"
        ! grep -aq 'to-chk\|xfr#' "$OUT" || fail "rsync's own progress shown: $(cat -v "$OUT")"
        # -q on a terminal: none.
        echo more >>"$R/efi0/big"
        script -qec "chroot '$R' /usr/bin/env DUAL_ROOT_EFIVARS=/efivars '$TOOL' -q -s" /dev/null >"$OUT" 2>&1 ||
                fail "the quiet sync failed: $(cat "$OUT")"
        ! grep -aq 'copying' "$OUT" || fail "progress under -q: $(cat -v "$OUT")"
        # Not a terminal (a log): a line a minute at most, so none for a 4 s copy.
        echo more >>"$R/efi0/big"
        run_tool -s
        expect_status 0
        ! grep -aq 'copying' "$OUT" "$ERR" || fail "progress in a log within the first minute: $(cat "$ERR")"
        rm -f "$R/efi0/big"
}

rule3_unmounted_source_through_a_symlink_or_dotdot_is_refused() {
        reset_sync
        booted_by_loader "$PU0"
        mkdir -p "$R/srv/esp-a" "$R/srv/x" "$R/mnt/root1"
        ln -sfn esp-a "$R/srv/link"
        mount "$DEV2" "$R/mnt/root1"
        echo keep >"$R/mnt/root1/keep"
        printf 'PARTUUID=%s /srv/esp-a ext4 defaults 0 2\n' "$PU1" >"$R/etc/fstab"
        for src in /srv/link/ /srv/x/../esp-a/; do
                printf 'dualroot = false\nsync = ["%s", "/mnt/root1/"]\n' "$src" >"$CONF"
                run_tool -s
                expect_status 1
                expect_stderr_has "refused $src -> /mnt/root1/: source '$src' is not mounted (/etc/fstab mounts '/srv/esp-a' there)"
                [ -f "$R/mnt/root1/keep" ] || fail "$src: the destination was wiped"
        done
        rm -f "$R/srv/link"
}

rule2_unmounted_destination_through_a_symlink_or_dotdot_is_skipped() {
        reset_sync
        booted_by_loader "$PU0"
        mkdir -p "$R/mnt/x"
        ln -sfn root1 "$R/mnt/r1link"
        printf 'PARTUUID=%s /mnt/root1 ext4 defaults 0 2\n' "$PU2" >"$R/etc/fstab"
        for dst in /mnt/r1link/ /mnt/x/../root1/; do
                printf 'dualroot = false\nsync = ["/srv/data", "%s"]\n' "$dst" >"$CONF"
                run_tool -s
                expect_status 0
                expect_stderr_has "skipped /srv/data -> $dst: '/mnt/root1' is not mounted (/etc/fstab mounts it; disk missing?)"
                [ -z "$(ls -A "$R/mnt/root1")" ] || fail "$dst: the root filesystem's /mnt/root1 was filled"
        done
        rm -f "$R/mnt/r1link"
}

rule11_root_and_ancestors_of_the_source_are_never_destinations() {
        reset_sync
        booted_by_loader "$PU0"
        ln -sfn / "$R/mnt/toroot"
        for case in "/|destination '/' is the root directory: a sync there would delete the system" \
                "/mnt/toroot/|destination '/mnt/toroot/' is the root directory (it resolves to '/'): a sync there would delete the system" \
                "/srv/|destination '/srv/' (resolved: '/srv') holds the source '/srv/data' (resolved: '/srv/data'): with --delete the sync would delete what it copies from" \
                "/srv/data/../|destination '/srv/data/../' (resolved: '/srv') holds the source '/srv/data'" \
                "/efi0/EFI/|destination '/efi0/EFI/' (resolved: '/efi0/EFI') is on the booted ESP '/efi0'"; do
                dst=${case%%|*}
                printf 'sync = ["/srv/data", "%s"]\n' "$dst" >"$CONF"
                run_tool -s
                expect_status 2
                expect_stderr_has "/etc/dual-root/sync-daemon.conf:1: sync item 0: ${case#*|}"
                expect_stdout_lacks "synced"
        done
        [ ! -e "$R/efi1/vmlinuz" ] || fail "the ESP pair ran although the config was refused"
        rm -f "$R/mnt/toroot"
}

d3_a_data_partition_on_an_esp_mount_point_is_not_overwritten() {
        reset_sync
        booted_by_loader "$PU0"
        # After a renumbering, /efi1 holds a data filesystem: files, no EFI/, no record.
        mkdir -p "$R/efi1/photos"
        echo "precious" >"$R/efi1/photos/a.jpg"
        run_tool -s
        expect_status 1
        expect_stderr_has "refused /efi0/ -> /efi1/: '/efi1/' holds files but no EFI directory and no record of an earlier sync, and its partition type cannot be read: it may not be an ESP"
        expect_stderr_has "sync with --force if it is the alternate ESP"
        [ "$(cat "$R/efi1/photos/a.jpg")" = precious ] || fail "the data partition was overwritten"
        [ ! -e "$R/efi1/.dual-root-state" ] || fail "a record was written"
        run_tool -s --force
        expect_status 0
        [ "$(cat "$R/efi1/vmlinuz")" = kernel-0 ] || fail "--force did not sync"
}

# The source too (D3): a data partition the loader names, on an ESP mount point, is never
# mirrored from; --force does not change that. An EFI directory (any case) makes the tree
# ESP-like where the partition type cannot be read (loop devices here).
d3_a_data_partition_as_the_booted_esp_is_not_mirrored_from() {
        reset_sync
        booted_by_loader "$PU0"
        esp_content "$R/efi1" 1
        find "$R/efi0" -mindepth 1 -maxdepth 1 ! -name lost+found -exec rm -rf {} +
        mkdir -p "$R/efi0/photos"
        echo "precious" >"$R/efi0/photos/a.jpg"
        for args in -s "-s --force" -st; do
                run_tool $args
                expect_status 1
                expect_stderr_has "refused /efi0/ -> /efi1/: the booted ESP '/efi0/' ($DEV0, PARTUUID $PU0) has no EFI directory and its partition type cannot be read: it may not be an ESP (a data partition on an ESP mount point?); not mirroring it onto the alternates"
                [ "$(cat "$R/efi1/vmlinuz")" = kernel-1 ] || fail "$args: the alternate was overwritten"
                [ ! -e "$R/efi1/photos" ] || fail "$args: the data was mirrored"
                [ ! -e "$R/efi1/.dual-root-state" ] || fail "$args: a record was written"
        done
        mkdir "$R/efi0/efi"
        run_tool -s --force
        expect_status 0
        [ "$(cat "$R/efi1/photos/a.jpg")" = precious ] || fail "an ESP-like source was not synced"
}

d2_a_cloned_disk_stops_detection() {
        reset_sync
        booted_by_loader "$PU0"
        # disk1 cloned from disk0 with dd: the same PARTUUID on both. The partition tables
        # are read from the whole disks (loop devices over the images).
        cp "$W/dual-root-test-disk0.img" "$W/dual-root-test-clone.img"
        whole0=$(losetup --find --show --read-only "$W/dual-root-test-disk0.img")
        echo "$whole0" >>"$W/loops"
        whole1=$(losetup --find --show --read-only "$W/dual-root-test-clone.img")
        echo "$whole1" >>"$W/loops"
        set +e
        chroot "$R" /usr/bin/env DUAL_ROOT_EFIVARS=/efivars DUAL_ROOT_DISKS="$whole0:$whole1" \
                "$TOOL" -s >"$OUT" 2>"$ERR"
        STATUS=$?
        set -e
        # Detached by the clean-up, which has them in its list: detaching them here too would
        # detach whatever loop device another test attached meanwhile under the same name.
        expect_status 1
        expect_stderr_has "the booted PARTUUID $PU0 is on 2 partitions: $whole0 partition 1 and $whole1 partition 1 (a disk cloned with dd?), so which one the firmware booted cannot be told. Give the copy new GUIDs, e.g. 'sgdisk -G DISK' for a whole disk or 'sgdisk -u N:R DISK' for partition N, then reboot"
        expect_stderr_has "refused ESP: not syncing any ESP: the booted ESP is unknown"
        [ ! -e "$R/efi1/vmlinuz" ] || fail "an ESP was synced"
}

approach2_rollback_guard_covers_sync_list_pairs() {
        reset_sync
        booted_by_loader "$PU0"
        mount "$DEV2" "$R/mnt/root1"
        rm -rf "$R/mnt/root1/etc" "$R/srv/etc"
        mkdir -p "$R/srv/etc"
        echo "host" >"$R/srv/etc/hostname"
        printf 'dualroot = false\nsync = ["/srv/etc", "/mnt/root1/"]\n' >"$CONF"
        run_tool -s
        expect_status 0
        [ -f "$R/mnt/root1/etc/.dual-root-state" ] || fail "no record in the destination tree"
        [ -f "$R/srv/etc/.dual-root-state" ] || fail "no record in the source tree"
        # The other disk was booted and updated meanwhile (times cannot tell).
        echo "kernel-new" >"$R/mnt/root1/etc/newer-package"
        touch -d '2001-01-01' "$R/mnt/root1/etc/newer-package"
        run_tool -s
        expect_status 1
        expect_stderr_has "refused /srv/etc -> /mnt/root1/: '/mnt/root1/etc' changed since the last sync recorded on it"
        [ -f "$R/mnt/root1/etc/newer-package" ] || fail "the newer tree was rolled back"
        run_tool -s --force
        expect_status 0
        [ ! -e "$R/mnt/root1/etc/newer-package" ] || fail "--force did not sync"
        # A lagging tree catches up; then a second sync finds nothing to do.
        echo "host2, longer" >"$R/srv/etc/hostname"
        run_tool -s
        expect_status 0
        [ "$(cat "$R/mnt/root1/etc/hostname")" = "host2, longer" ] || fail "update not copied"
        run_tool -s
        expect_status 0
        expect_stdout_has "synced /srv/etc -> /mnt/root1/ ("
        expect_stdout_has "; already in sync, nothing to copy"
}

run_case "-s mirrors the booted ESP to the alternate, keeping its random seed" sync_mirrors_booted_esp_to_alternate
run_case "-s copies from disk 1 when disk 1 was booted" sync_direction_follows_the_booted_disk
run_case "-st prints each exact command and changes nothing" sync_test_mode_prints_commands_and_changes_nothing
run_case "rule 0: booted ESP unknown: no ESP synced, other items run" rule0_unknown_booted_esp_syncs_no_esp
run_case "rule 1: never into the booted ESP" rule1_never_into_the_booted_esp
run_case "rule 1: never within one filesystem" rule1_never_within_one_filesystem
run_case "rule 2: an unmounted alternate is skipped, left empty, others synced" rule2_unmounted_alternate_is_skipped_and_stays_empty
run_case "rule 2: an fstab destination with nothing mounted is skipped" rule2_fstab_destination_not_mounted_is_skipped
run_case "rule 3: an empty source is refused" rule3_empty_source_is_refused
run_case "rule 3: an unmounted source is refused" rule3_unmounted_source_is_refused
run_case "rule 3: an unmounted source through a symlink or .. is refused" rule3_unmounted_source_through_a_symlink_or_dotdot_is_refused
run_case "rule 2: an unmounted destination through a symlink or .. is skipped" rule2_unmounted_destination_through_a_symlink_or_dotdot_is_skipped
run_case "rule 11: /, a symlink to /, an ancestor of the source, the booted ESP: refused before anything runs" rule11_root_and_ancestors_of_the_source_are_never_destinations
run_case "D3: a data partition on /efi1 is not overwritten without --force" d3_a_data_partition_on_an_esp_mount_point_is_not_overwritten
run_case "D3: a data partition as the booted ESP is not mirrored from, even with --force" d3_a_data_partition_as_the_booted_esp_is_not_mirrored_from
run_case "D2: a cloned disk (two partitions, one PARTUUID) stops detection; nothing synced" d2_a_cloned_disk_stops_detection
run_case "rule 4: a changed alternate is not overwritten without --force" rule4_rollback_guard_refuses_a_newer_alternate
run_case "rule 4: a lagging alternate catches up" rule4_rollback_guard_lets_a_lagging_alternate_catch_up
run_case "rule 4: identical content passes the guard" rule4_rollback_guard_allows_identical_content
run_case "rule 5: exclusions never accumulate across runs" rule5_exclusions_never_accumulate
run_case "rule 4: a copy torn by a crash (right size and time) is compared by content" rule4_a_copy_torn_by_a_crash_is_compared_by_content
run_case "rule 6: syncfs after rsync exits, before success is reported" rule6_destination_is_flushed_before_success
run_case "rule 7: a second sync gives up after lock_timeout" rule7_second_sync_waits_for_the_lock_then_gives_up
run_case "rule 7: a second sync waits for the first" rule7_second_sync_waits_for_the_lock_then_runs
run_case "rule 2: an alternate unmounted during a sync and its lock wait: nothing lands underneath" rule2_an_alternate_unmounted_while_waiting_for_its_lock_is_skipped
run_case "SIGINT stops rsync and leaves the pairs after it alone" sigint_stops_rsync_and_the_pairs_after_it
run_case "rule 8: a missing rsync fails clearly" rule8_missing_rsync_fails_clearly
run_case "rule 8: a failing rsync does not stop other items" rule8_failing_rsync_does_not_stop_other_items
run_case "rule 8: rsync over rsync_timeout is stopped" rule8_rsync_over_its_time_limit_is_stopped
run_case "nice/ionice from the config reach rsync" priority_is_inherited_by_rsync
run_case "default priority: nice 15, idle I/O" priority_defaults_to_nice_15_idle_io
run_case "approach 2: sync list with exclusions" approach2_sync_list_with_exclusions
run_case "approach 2: the rollback guard covers sync-list pairs" approach2_rollback_guard_covers_sync_list_pairs
run_case "-q -s prints nothing when all is well" quiet_sync_prints_nothing_when_fine
run_case "progress: on a terminal bytes, files, rate and time left; none under -q or in a log's first minute" progress_on_a_terminal_and_not_in_a_log
finish

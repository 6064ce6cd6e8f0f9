#!/bin/bash
# SPDX-License-Identifier: MIT
# Boot trees (DESIGN.md §5c): a sync-list tree a boot loader reads kernels from is copied as
# an ESP is (rule 9: new files under temporary names, kernels before the entries naming them,
# deletions last; the room check first; rule 10: the intent, completed by a plain re-run).
# A kernel update of an XBOOTLDR tree (an ext4 loop device on /boot, the alternate's on
# /mnt/root1/boot) and of a /boot directory on the root is cut at each rename and flush
# (ptrace) and at moments (every process stopped and killed at once): after each cut the
# alternate holds a complete entry set, old or new, and a plain -s completes it. ENOSPC fails
# before anything is deleted. A tree that is no boot tree keeps the one rsync run; the
# boot_trees key says so explicitly, and its errors are --check-config's.
# Real binary, real rsync, ext4 on loop devices, a private mount namespace.
. "$(dirname "$0")/lib.sh"

make_two_disk_machine
CONF="$R/etc/dual-root/sync-daemon.conf"
booted_by_loader "$PU0"
mkdir -p "$R/opt" "$R/mnt/root1" "$R/srv"

# Two disks' XBOOTLDR partitions (GPT type ea00) and the alternate's root, ext4 loop devices.
PX0=6a1e0c5b-0000-4a4a-8000-0000000000b0
PX1=6a1e0c5b-1111-4a4a-8000-0000000000b1
PR1=6a1e0c5b-1111-4a4a-8000-0000000000c1
truncate -s 200M "$W/dual-root-test-xb.img"
sgdisk -Z "$W/dual-root-test-xb.img" >/dev/null 2>&1 || true
sgdisk -n 1:2048:+48M -t 1:ea00 -u "1:$PX0" -n 2:0:+48M -t 2:ea00 -u "2:$PX1" \
        -n 3:0:+64M -t 3:8300 -u "3:$PR1" "$W/dual-root-test-xb.img" >/dev/null
XB0=$(attach_part xb 1 48)
XB1=$(losetup --find --show --offset $(((2048 + 48 * 2048) * 512)) --sizelimit $((48 << 20)) \
        "$W/dual-root-test-xb.img")
ROOT1=$(losetup --find --show --offset $(((2048 + 96 * 2048) * 512)) --sizelimit $((64 << 20)) \
        "$W/dual-root-test-xb.img")
XU0=b007b007-0000-4000-8000-0000000000b0
XU1=b007b007-1111-4000-8000-0000000000b1
mkfs.ext4 -q -F -U "$XU0" -L xboot0 "$XB0"
mkfs.ext4 -q -F -U "$XU1" -L xboot1 "$XB1"
mkfs.ext4 -q -F -L root1 "$ROOT1"
mount "$ROOT1" "$R/mnt/root1"

# --- two kernel sets -------------------------------------------------------------------------

# make_set NAME VERSION MIB: what kernel-install puts on an XBOOTLDR: a kernel, its initrd,
# its entry (a type #1 entry naming them from the partition's root).
make_set() {
        d="$W/set-$1"
        mkdir -p "$d/loader/entries"
        head -c "$3M" /dev/urandom >"$d/vmlinuz-$2"
        head -c "$3M" /dev/urandom >"$d/initrd.img-$2"
        printf 'title Debian %s\nlinux /vmlinuz-%s\ninitrd /initrd.img-%s\noptions root=UUID=x\n' \
                "$2" "$2" "$2" >"$d/loader/entries/debian-$2.conf"
        (cd "$d" && find . -type f -printf '%P\n' | while read -r f; do
                printf '%s %s\n' "$(sha256sum <"$f" | cut -d' ' -f1)" "$f"
        done) >>"$W/known"
}
make_set old 6.1 3
make_set new 6.2 4
find "$W/set-old" -exec touch -d "@$(($(date +%s) - 86400))" {} +

# The source tree and the alternate's, set by each case.
SRC='' DST=''
install_set() {
        rsync -a --checksum --delete --exclude=/lost+found/ --exclude='/.dual-root-state*' \
                "$W/set-$1/" "$SRC/"
}

# which_set DIR: "old", "new", or the entries it holds.
which_set() {
        e=$(cd "$1/loader/entries" 2>/dev/null && ls -- *.conf 2>/dev/null | tr '\n' ' ')
        case "$e" in
        "debian-6.1.conf ") echo old ;;
        "debian-6.2.conf ") echo new ;;
        *) echo "entries: ${e:-none}" ;;
        esac
}

is_known() {
        grep -q "^$(sha256sum <"$2" | cut -d' ' -f1) $1\$" "$W/known"
}

# check_bootable DIR: §5c T3's invariant: at least one entry; every entry whole and naming
# only files present and whole (a complete set, old or new).
check_bootable() {
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

same_tree() {
        diff -r -x lost+found -x '.dual-root-state*' "$1" "$2" >"$W/diff" 2>&1
}

# The rsync the tool runs: slowed while /tmp/slow exists; killed at its Nth rename while
# /tmp/cut-rename holds N (strace injects SIGKILL, the rename not made).
cat >"$R/opt/rsync-cut" <<'WRAP'
#!/bin/sh
[ -e /tmp/slow ] && exec /usr/bin/rsync --bwlimit=2500 "$@"
if [ -e /tmp/cut-rename ]; then
        exec strace -f -qq -o /dev/null -e trace=renameat \
                -e inject=renameat:error=EIO:signal=KILL:when="$(cat /tmp/cut-rename)" \
                /usr/bin/rsync "$@"
fi
exec /usr/bin/rsync "$@"
WRAP
chmod 0755 "$R/opt/rsync-cut"

# write_conf [MORE]: dualroot off (the ESPs are not what is cut here), the boot tree item.
write_conf() {
        printf 'dualroot = false\nrsync_path = "/opt/rsync-cut"\nlock_timeout = 60\nsync = [["%s/", "%s/"]]\n%s' \
                "${SRC#"$R"}" "${DST#"$R"}" "${1:-}" >"$CONF"
}

clear_markers() {
        rm -f "$R/tmp/slow" "$R/tmp/cut-rename"
}

# baseline: the alternate holds the old set, synced and recorded; the source the new.
baseline() {
        clear_markers
        install_set old
        run_tool -q -s
        expect_status 0
        [ "$(which_set "$DST")" = old ] || fail "baseline: $DST holds $(which_set "$DST")"
        install_set new
}

complete_plainly() {
        had_intent=0
        grep -q '^intent=' "$DST/.dual-root-state" 2>/dev/null && had_intent=1
        clear_markers
        run_tool -s
        expect_status 0
        [ "$had_intent" = 0 ] || expect_stdout_has "; completed an interrupted sync from $PU0 (started "
        same_tree "$SRC" "$DST" || fail "the next sync left $DST unlike $SRC: $(cat "$W/diff")"
        problem=$(check_bootable "$DST") || fail "after the next sync: $problem"
        ! grep -q '^intent=' "$DST/.dual-root-state" || fail "the intent is still recorded"
        ! find "$DST" -name '.~tmp~' -o -name '*.~dr~' | grep -q . || fail "temporary files left behind"
}

after_cut() {
        state=$(which_set "$DST")
        problem=$(check_bootable "$DST") || fail "cut at $1 (holding $state): $problem"
        echo "# cut at $1: $DST holds a complete set ($state)"
        echo "$1" >>"$W/cuts"
        complete_plainly
}

# cut_rsync_rename N: rsync killed at its Nth rename (2 files: 1-2 into .~tmp~, 3-4 into place).
cut_rsync_rename() {
        baseline
        echo "$1" >"$R/tmp/cut-rename"
        run_tool -s
        expect_status 1
        [ "$(which_set "$DST")" = old ] || fail "cut at rsync's rename $1: $DST holds $(which_set "$DST"), expected old"
        after_cut "rsync's rename $1"
}

# cut_runner SYSCALL N EXPECTED [WHO]: the runner killed at its Nth SYSCALL (renameat2 1: the
# new entry; syncfs 1: after pass 1 and the entry's temporary copy, 2: before the old entry
# goes, 3: after pass 2). WHO: what the failure names ("rsync", or "the copy" where the tool
# copies alone).
cut_runner() {
        baseline
        set +e
        chroot "$R" /usr/bin/env DUAL_ROOT_EFIVARS=/efivars \
                ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
                strace -f -qq -o /dev/null -e trace="$1" \
                -e inject="$1":error=EIO:signal=KILL:when="$2" "$TOOL" -s >"$OUT" 2>"$ERR"
        STATUS=$?
        set -e
        expect_status 1
        expect_stderr_has "${4:-rsync} was killed by signal 9"
        [ "$(which_set "$DST")" = "$3" ] || fail "cut at the runner's $1 $2: $DST holds $(which_set "$DST"), expected $3"
        after_cut "the runner's $1 $2 (${4:-rsync})"
}

# cut_at SECONDS: every process of a slowed sync stopped and killed at once.
cut_at() {
        baseline
        touch "$R/tmp/slow"
        chroot "$R" /usr/bin/env DUAL_ROOT_EFIVARS=/efivars "$TOOL" -s >"$W/cut.out" 2>&1 &
        pid=$!
        sleep "$1"
        cut_tree "$pid"
        wait "$pid" 2>/dev/null || true
        after_cut "moment ${1}s"
}

every_cut() {
        for n in 1 2 3 4; do
                cut_rsync_rename "$n"
        done
        cut_runner syncfs 1 old
        cut_runner renameat2 1 old
        cut_runner syncfs 2 "entries: debian-6.1.conf debian-6.2.conf "
        cut_runner syncfs 3 new
        for t in 0.5 2.0 3.3 3.6; do
                cut_at "$t"
        done
}

use_xbootldr() {
        mountpoint -q "$R/boot" || mount "$XB0" "$R/boot"
        mkdir -p "$R/mnt/root1/boot"
        mountpoint -q "$R/mnt/root1/boot" || mount "$XB1" "$R/mnt/root1/boot"
        SRC="$R/boot" DST="$R/mnt/root1/boot"
}

xbootldr_kernel_update_survives_every_cut() {
        use_xbootldr
        write_conf
        baseline
        run_tool -s -t
        expect_status 0
        expect_stdout_has "tested /boot/ -> /mnt/root1/boot/: nothing was changed; a boot tree ('/boot' holds loader/entries): copied in order, files, entries, deletions"
        expect_stdout_has "pass 1 (files): create vmlinuz-6.2"
        expect_stdout_has "pass 2 (entries): create loader/entries/debian-6.2.conf"
        expect_stdout_has "pass 3 (deletions): delete vmlinuz-6.1"
        every_cut
}

# A /boot directory on the root (approach 2 without XBOOTLDR): the alternate's /boot is a
# directory of the alternate's root.
boot_directory_kernel_update_survives_every_cut() {
        while mountpoint -q "$R/boot"; do umount "$R/boot"; done
        while mountpoint -q "$R/mnt/root1/boot"; do umount "$R/mnt/root1/boot"; done
        find "$R/boot" "$R/mnt/root1/boot" -mindepth 1 -delete
        SRC="$R/boot" DST="$R/mnt/root1/boot"
        write_conf
        every_cut
}

# The same tree copied by the tool alone (rsync_path and rsync_opts unset, DESIGN.md §5 "Why
# pass 1 is in-process"): the runner's renameat2 1-2 put pass 1's files in place
# (initrd.img-6.2, vmlinuz-6.2; nothing replaced, so no flush before), 3 the entry; syncfs 1
# before the entry's rename, 2 before the old entry goes, 3 after pass 2.
cut_in_process() { cut_runner "$1" "$2" "$3" "the copy"; }

in_process_cuts_and_a_mount_inside_the_source() {
        use_xbootldr
        printf 'dualroot = false\nlock_timeout = 60\nsync = [["%s/", "%s/"]]\n' \
                "${SRC#"$R"}" "${DST#"$R"}" >"$CONF"
        baseline
        run_tool -s -t
        expect_status 0
        expect_stdout_has "would sync /boot/ -> /mnt/root1/boot/: copied by dual-root-tool itself"
        expect_stdout_has "pass 1 (files): create vmlinuz-6.2"
        for n in 1 2; do
                cut_in_process renameat2 "$n" old
        done
        cut_in_process syncfs 1 old
        cut_in_process renameat2 3 old
        cut_in_process syncfs 2 "entries: debian-6.1.conf debian-6.2.conf "
        cut_in_process syncfs 3 new
        # A filesystem mounted inside the source is made on the alternate, not entered (as
        # rsync -x does).
        mkdir "$SRC/inner"
        mount -t tmpfs tmpfs "$SRC/inner"
        echo "another filesystem" >"$SRC/inner/file"
        run_tool -s
        st=$STATUS
        umount "$SRC/inner"
        rmdir "$SRC/inner"
        [ "$st" = 0 ] || fail "the sync with a mount inside the source failed: $(cat "$ERR")"
        [ -d "$DST/inner" ] || fail "the mount point was not made on the alternate"
        [ ! -e "$DST/inner/file" ] || fail "the copy entered another filesystem"
        run_tool -q -s
        expect_status 0
        [ ! -e "$DST/inner" ] || fail "the mount point outlived the source's"
}

enospc_fails_before_deleting() {
        use_xbootldr
        write_conf
        baseline
        # Room for the old set (6 MiB) and 3 MiB more, not for the new one (8 MiB) beside it
        # (the filler in lost+found, which no sync sees).
        free=$(($(stat -f -c '%a*%S' "$DST")))
        fallocate -l "$((free - 3 * 1024 * 1024))" "$DST/lost+found/filler"
        cp -a "$DST/.dual-root-state" "$W/state-before"
        run_tool -s
        expect_status 1
        expect_stderr_has "failed /boot/ -> /mnt/root1/boot/: not enough room on '/mnt/root1/boot/' for the new files beside the old ones"
        expect_stderr_has " MiB missing; nothing was changed, the old set still boots"
        rm -f "$DST/lost+found/filler"
        same_tree "$W/set-old" "$DST" || fail "the alternate was changed: $(cat "$W/diff")"
        cmp -s "$W/state-before" "$DST/.dual-root-state" || fail "the guard's record was changed"
        problem=$(check_bootable "$DST") || fail "$problem"
        complete_plainly
}

# A source without a trailing slash: rsync writes the destination's "boot"; the ordered copy
# runs in that tree (its own filesystem here), the lock on the destination above it.
directory_form_is_ordered_in_the_tree_below() {
        use_xbootldr
        printf 'dualroot = false\nrsync_path = "/opt/rsync-cut"\nsync = [["/boot", "/mnt/root1/"]]\n' >"$CONF"
        baseline
        run_tool -s -t
        expect_status 0
        expect_stdout_has "/boot/ /mnt/root1/boot/"
        expect_stdout_has "pass 2 (entries): create loader/entries/debian-6.2.conf"
        expect_stdout_has "; a boot tree ('/boot' holds loader/entries)"
        echo 3 >"$R/tmp/cut-rename"
        run_tool -s
        expect_status 1
        [ "$(which_set "$DST")" = old ] || fail "cut at rsync's rename 3: $DST holds $(which_set "$DST")"
        after_cut "rsync's rename 3 (/boot -> /mnt/root1/)"
        [ ! -e "$R/mnt/root1/.dual-root-state" ] || fail "a record above the tree"
        # a first sync makes the tree
        umount "$R/mnt/root1/boot"
        find "$R/mnt/root1/boot" -delete
        run_tool -s
        expect_status 0
        same_tree "$SRC" "$DST" || fail "the first sync left $DST unlike $SRC: $(cat "$W/diff")"
        find "$DST" -mindepth 1 -delete
        mount "$XB1" "$DST"
}

# swap_ids with a boot tree (the manual's approach 2: the entries on the XBOOTLDR name each
# disk's own filesystems): written after the deletions pass, which keeps what the alternate's
# own entries name; a cut leaves its own entry and kernel; the next sync completes it.
swapped_entries_in_a_boot_tree() {
        use_xbootldr
        printf 'dualroot = false\nrsync_path = "/opt/rsync-cut"\nsync = [["/boot/", "/mnt/root1/boot/"]]\nswap_ids = ["/boot/loader/entries/"]\n' >"$CONF"
        clear_markers
        install_set old
        sed -i "s/root=UUID=x/root=UUID=$XU0/" "$SRC/loader/entries/debian-6.1.conf"
        # (the guard's record was made without swap_ids: what it covers changed)
        run_tool -s --force
        expect_status 0
        # what only the alternate's own old entry named goes at the next sync (§5b)
        run_tool -s
        expect_status 0
        [ "$(which_set "$DST")" = old ] && [ ! -e "$DST/vmlinuz-6.2" ] || fail "not the old set alone: $(ls "$DST")"
        grep -q "root=UUID=$XU1" "$DST/loader/entries/debian-6.1.conf" || fail "the entry was not swapped: $(cat "$DST/loader/entries/debian-6.1.conf")"
        install_set new
        sed -i "s/root=UUID=x/root=UUID=$XU0/" "$SRC/loader/entries/debian-6.2.conf"
        echo 3 >"$R/tmp/cut-rename"
        run_tool -s
        expect_status 1
        [ -f "$DST/vmlinuz-6.1" ] && grep -q "root=UUID=$XU1" "$DST/loader/entries/debian-6.1.conf" ||
                fail "after the cut the alternate's own entry or kernel is gone: $(ls -R "$DST")"
        echo "rsync's rename 3 (swap_ids)" >>"$W/cuts"
        clear_markers
        run_tool -s
        expect_status 0
        [ "$(which_set "$DST")" = new ] || fail "not completed: $DST holds $(which_set "$DST")"
        grep -q "root=UUID=$XU1" "$DST/loader/entries/debian-6.2.conf" || fail "the new entry was not swapped"
        [ -f "$DST/vmlinuz-6.2" ] && [ -f "$DST/initrd.img-6.2" ] || fail "the new kernel is missing"
        # what only the old entry named goes at the next sync (§5b)
        run_tool -s
        expect_status 0
        [ ! -e "$DST/vmlinuz-6.1" ] || fail "the old kernel outlived its entry by two syncs"
}

# boot_trees = [] says the /boot tree is none: one rsync run with --delete, as every
# sync-list item was before §5c.
plain_tree_is_one_rsync_run() {
        use_xbootldr
        write_conf 'boot_trees = []
'
        mkdir -p "$R/srv/data" "$R/mnt/root1/srv-data"
        echo hello >"$R/srv/data/a"
        install_set old
        run_tool -s -t
        expect_status 0
        expect_stdout_lacks "a boot tree"
        expect_stdout_lacks "--delay-updates"
        expect_stdout_has "copy: create vmlinuz-6.1"
        expect_stdout_has "copy: delete vmlinuz-6.2"
        expect_stdout_has " --delete "
        # auto: a data tree is no boot tree
        printf 'dualroot = false\nsync = [["/srv/data/", "/mnt/root1/srv-data/"], ["/boot/", "/mnt/root1/boot/"]]\n' >"$CONF"
        run_tool -s -t
        expect_status 0
        expect_stdout_has "tested /srv/data/ -> /mnt/root1/srv-data/"
        expect_stdout_lacks "tested /srv/data/ -> /mnt/root1/srv-data/: nothing was changed; a boot tree"
        expect_stdout_has "copy: create a"
        expect_stdout_has "; a boot tree ('/boot' holds loader/entries)"
        # explicit on: a tree holding nothing of a boot loader's, copied in order all the same
        printf 'dualroot = false\nsync = [["/srv/data/", "/mnt/root1/srv-data/"]]\nboot_trees = ["/srv/data"]\n' >"$CONF"
        run_tool -s -t
        expect_status 0
        expect_stdout_has "tested /srv/data/ -> /mnt/root1/srv-data/: nothing was changed; a boot tree (boot_trees lists it)"
        expect_stdout_has "pass 1 (files): create a"
        run_tool -s
        expect_status 0
        [ "$(cat "$R/mnt/root1/srv-data/a")" = hello ] || fail "not copied"
}

# A /boot directory holding only kernels, named by the booted ESP's entries: a boot tree.
kernels_named_by_an_esp_entry_make_a_boot_tree() {
        while mountpoint -q "$R/boot"; do umount "$R/boot"; done
        mkdir -p "$R/srv/k" "$R/mnt/root1/k" "$R/efi0/loader/entries"
        head -c 4096 /dev/urandom >"$R/srv/k/vmlinuz-9.9"
        printf 'title x\nlinux /vmlinuz-9.9\n' >"$R/efi0/loader/entries/x.conf"
        printf 'dualroot = false\nsync = [["/srv/k/", "/mnt/root1/k/"]]\n' >"$CONF"
        run_tool -s -t
        rm -f "$R/efi0/loader/entries/x.conf"
        expect_status 0
        expect_stdout_has "tested /srv/k/ -> /mnt/root1/k/: nothing was changed; a boot tree ('/srv/k' holds '/vmlinuz-9.9' (named by the booted ESP's entry x.conf))"
}

config_key_and_its_errors() {
        printf 'dualroot = false\nsync = [["/srv/data/", "/mnt/root1/srv-data/"]]\nboot_trees = ["/srv/data/"]\n' >"$CONF"
        mkdir -p "$R/srv/data" "$R/mnt/root1/srv-data"
        run_tool --check-config
        expect_status 0
        expect_stdout_has "boot_trees:"
        expect_stdout_has "/srv/data"
        printf 'dualroot = false\nboot_trees = "auto"\n' >"$CONF"
        run_tool --check-config
        expect_status 0
        expect_stdout_has "auto (a sync tree holding loader/entries"
        printf 'dualroot = false\nboot_trees = []\n' >"$CONF"
        run_tool --check-config
        expect_status 0
        expect_stdout_has "(none)"
        printf 'dualroot = false\nsync = [["/srv/data/", "/mnt/root1/srv-data/"]]\nboot_trees = ["/boot/"]\n' >"$CONF"
        run_tool --check-config
        expect_status 2
        expect_stderr_has "/etc/dual-root/sync-daemon.conf:3:15: boot_trees entry '/boot' is no sync item's source, expected the source of an item of the sync list"
        printf 'dualroot = false\nboot_trees = "on"\n' >"$CONF"
        run_tool --check-config
        expect_status 2
        expect_stderr_has "/etc/dual-root/sync-daemon.conf:2:14: boot_trees = 'on' is not a mode, expected \"auto\" or an array of sync sources"
        printf 'dualroot = false\nboot_trees = ["boot"]\n' >"$CONF"
        run_tool --check-config
        expect_status 2
        expect_stderr_has "boot_trees entry 'boot' is not an absolute path"
        printf 'dualroot = false\nboot_trees = true\n' >"$CONF"
        run_tool --check-config
        expect_status 2
        expect_stderr_has "boot_trees must be \"auto\" or an array of sync sources"
        # a boot tree whose rsync_opts would break the order: listed, a config error (T4)
        printf 'dualroot = false\nrsync_opts = "-axHAX --inplace"\nsync = [["/srv/data/", "/mnt/root1/srv-data/"]]\nboot_trees = ["/srv/data"]\n' >"$CONF"
        run_tool --check-config
        expect_status 2
        expect_stderr_has "rsync_opts holds '--inplace', which breaks the order a boot tree is copied in (boot_trees lists '/srv/data'"
        run_tool -s
        expect_status 2
        expect_stderr_has "rsync_opts holds '--inplace', which breaks the order a boot tree is copied in (boot_trees lists '/srv/data'"
        # judged one by what it holds: that job refused, the others run
        mkdir -p "$R/srv/data/loader/entries" "$R/srv/other" "$R/mnt/root1/other"
        echo x >"$R/srv/other/f"
        printf 'dualroot = false\nrsync_opts = "-axHAX --delete-after"\nsync = [["/srv/data/", "/mnt/root1/srv-data/"], ["/srv/other/", "/mnt/root1/other/"]]\n' >"$CONF"
        run_tool -s
        expect_status 1
        expect_stderr_has "refused /srv/data/ -> /mnt/root1/srv-data/: '/srv/data' is a boot tree ('/srv/data' holds loader/entries), and rsync_opts holds '--delete-after'"
        expect_stdout_has "synced /srv/other/ -> /mnt/root1/other/"
        rmdir "$R/srv/data/loader/entries" "$R/srv/data/loader"
}

rm -f "$W/cuts"
run_case "an XBOOTLDR tree's kernel update cut at each rename and flush and at moments: the alternate holds a complete set; a plain sync completes it" xbootldr_kernel_update_survives_every_cut
run_case "a /boot directory on the root, the same cuts: the same" boot_directory_kernel_update_survives_every_cut
run_case "a source without a trailing slash: ordered in the tree below the destination, made by a first sync" directory_form_is_ordered_in_the_tree_below
run_case "copied by the tool alone: the same cuts; a filesystem inside the source not entered" in_process_cuts_and_a_mount_inside_the_source
run_case "ENOSPC: fails before deleting, names the MiB missing, the old kernel and entry intact" enospc_fails_before_deleting
run_case "a tree that is no boot tree is one rsync run; boot_trees says so either way" plain_tree_is_one_rsync_run
run_case "kernels named by the booted ESP's entries make a boot tree" kernels_named_by_an_esp_entry_make_a_boot_tree
run_case "the boot_trees key, its values and its errors (--check-config), and a breaking rsync_opts" config_key_and_its_errors
run_case "swap_ids in a boot tree: entries swapped, written after the deletions, a cut leaves the alternate's own" swapped_entries_in_a_boot_tree
echo "# cut points tested: $(wc -l <"$W/cuts" 2>/dev/null || echo 0)"
finish

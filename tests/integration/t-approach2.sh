#!/bin/bash
# SPDX-License-Identifier: MIT
# Approach 2 with swap_ids (DESIGN.md §5b) on real ext4 filesystems on loop devices: fstab and
# loader entries copied with the source disk's identifiers swapped for the alternate's, the
# map and the changed lines shown by -t and --check-config, errors naming file:line:identifier
# with nothing written, no rewrite (and no guard refusal, no daemon resync) when nothing
# changed, entries added and removed like any file, crash leftovers cleaned.
#
# The machine: ESP 0 (/efi0, booted) and ESP 1 (/efi1) as in every test; "root 0" (an ext4
# mounted on /a, standing in for the booted disk's root: the fake root itself is a tmpfs with
# no identifiers) and "root 1" on /mnt/root1; a "foreign" filesystem on neither disk.
. "$(dirname "$0")/lib.sh"
: "${NOTIFY_LISTEN:=}"

make_two_disk_machine
CONF="$R/etc/dual-root/sync-daemon.conf"
LOG="$W/daemon.log"

R0=a2a2a2a2-0000-4000-8000-0000000000a0
R1=a2a2a2a2-1111-4000-8000-0000000000a1
FOREIGN=a2a2a2a2-ffff-4000-8000-0000000000ff
make_disk root0 40 32 a2a2a2a2-0000-4000-8000-00000000aa00
make_disk root1 40 32 a2a2a2a2-1111-4000-8000-00000000aa11
make_disk foreign 40 32 a2a2a2a2-ffff-4000-8000-00000000aaff
DEV_R0=$(attach_part root0 1 32)
DEV_R1=$(attach_part root1 1 32)
DEV_F=$(attach_part foreign 1 32)
mkfs.ext4 -q -F -U "$R0" -L root0 "$DEV_R0"
mkfs.ext4 -q -F -U "$R1" -L root1 "$DEV_R1"
mkfs.ext4 -q -F -U "$FOREIGN" "$DEV_F"
mkdir -p "$R/a" "$R/mnt/root1"
mount "$DEV_R0" "$R/a"
mount "$DEV_R1" "$R/mnt/root1"

FSTAB0="# disk 0's fstab
UUID=$R0 / ext4 errors=remount-ro 0 1
PARTUUID=$PU0 /efi0 ext4 defaults 0 2
UUID=$R1 /mnt/root1 ext4 nofail 0 2
UUID=$FS1 /mnt/root1/efi ext4 nofail 0 2
LABEL=root0 /x ext4 noauto 0 0
UUID=$FOREIGN /srv ext4 defaults 0 2
tmpfs /tmp tmpfs defaults 0 0"
# What disk 1's copy must say: every identifier of one disk swapped for the other's.
FSTAB1="# disk 0's fstab
UUID=$R1 / ext4 errors=remount-ro 0 1
PARTUUID=$PU1 /efi0 ext4 defaults 0 2
UUID=$R0 /mnt/root1 ext4 nofail 0 2
UUID=$FS0 /mnt/root1/efi ext4 nofail 0 2
LABEL=root1 /x ext4 noauto 0 0
UUID=$FOREIGN /srv ext4 defaults 0 2
tmpfs /tmp tmpfs defaults 0 0"
ENTRY0="title Debian 6.1.0-13
linux /vmlinuz-6.1.0-13-amd64
options root=\"UUID=$R0\" rw quiet"
ENTRY1="title Debian 6.1.0-13
linux /vmlinuz-6.1.0-13-amd64
options root=\"UUID=$R1\" rw quiet"

# Partitions no sync item copies, for pairing by place: two swaps, a swap and an ext4 (placed
# on the disks by fake_layout: loop devices are no partitions).
SW0=a2a2a2a2-0000-4000-8000-0000000005a0
SW1=a2a2a2a2-1111-4000-8000-0000000005a1
SWX0=a2a2a2a2-0000-4000-8000-0000000005b0
X1=a2a2a2a2-1111-4000-8000-0000000005b1
make_disk parts 20 4 a2a2a2a2-5555-4000-8000-00000000bb01 a2a2a2a2-5555-4000-8000-00000000bb02 \
        a2a2a2a2-5555-4000-8000-00000000bb03 a2a2a2a2-5555-4000-8000-00000000bb04
DEV_SW0=$(attach_part parts 1 4)
DEV_SW1=$(attach_part parts 2 4)
DEV_SWX0=$(attach_part parts 3 4)
DEV_X1=$(attach_part parts 4 4)
mkswap -q -U "$SW0" "$DEV_SW0" >/dev/null
mkswap -q -U "$SW1" "$DEV_SW1" >/dev/null
mkswap -q -U "$SWX0" "$DEV_SWX0" >/dev/null
mkfs.ext4 -q -F -U "$X1" "$DEV_X1" >/dev/null 2>&1

SWAP_CONF='swap_ids = ["/a/etc/fstab", "/efi0/loader/entries/"]
sync = [["/a/etc/", "/mnt/root1/etc/"]]'

case_cleanup() {
        if [ -n "${DAEMON:-}" ]; then
                kill -TERM "$DAEMON" 2>/dev/null || true
                wait "$DAEMON" 2>/dev/null || true
        fi
        return 0
}

reset_a2() {
        reset_machine
        for d in "$R/efi0" "$R/efi1" "$R/a" "$R/mnt/root1"; do
                find "$d" -mindepth 1 -maxdepth 1 ! -name lost+found -exec rm -rf {} +
        done
        mkdir -p "$R/efi0/EFI/systemd" "$R/efi0/loader/entries" "$R/a/etc/default"
        loader_file efi 16384 "$R/efi0/EFI/systemd/systemd-bootx64.efi"
        loader_file kernel 16384 "$R/efi0/vmlinuz-6.1.0-13-amd64"
        printf '%s\n' "$ENTRY0" >"$R/efi0/loader/entries/debian-13.conf"
        printf '%s\n' "$FSTAB0" >"$R/a/etc/fstab"
        chmod 0640 "$R/a/etc/fstab"
        touch -d '2024-01-02 03:04:05' "$R/a/etc/fstab"
        echo 'GRUB_TIMEOUT=0' >"$R/a/etc/default/grub"
        mkdir -p "$R/mnt/root1/etc"
        booted_by_loader "$PU0"
        printf '%s\n' "$SWAP_CONF" >"$CONF"
}

# same_text FILE TEXT WHAT: FILE holds TEXT (and a final newline)
same_text() {
        [ "$(cat "$1")" = "$2" ] && [ "$(tail -c 1 "$1" | od -An -c | tr -d ' ')" = '\n' ] ||
                fail "$3: $1 holds
$(cat "$1" 2>&1)
expected
$2"
}

swapped_copies_name_the_alternates_filesystems() {
        reset_a2
        run_tool -s
        expect_status 0
        expect_stdout_has "2 synced, 0 skipped, 0 failed"
        same_text "$R/mnt/root1/etc/fstab" "$FSTAB1" "fstab copy"
        same_text "$R/efi1/loader/entries/debian-13.conf" "$ENTRY1" "loader entry copy"
        # the source untouched, the rest copied as rsync does
        same_text "$R/a/etc/fstab" "$FSTAB0" "source fstab"
        [ "$(cat "$R/mnt/root1/etc/default/grub")" = GRUB_TIMEOUT=0 ] || fail "/etc/default/grub not copied"
        cmp -s "$R/efi0/vmlinuz-6.1.0-13-amd64" "$R/efi1/vmlinuz-6.1.0-13-amd64" || fail "the kernel not copied"
        # mode, owner and time of the source
        [ "$(stat -c '%a %u:%g %Y' "$R/mnt/root1/etc/fstab")" = "$(stat -c '%a %u:%g %Y' "$R/a/etc/fstab")" ] ||
                fail "fstab copy has $(stat -c '%a %u:%g %Y' "$R/mnt/root1/etc/fstab"), source $(stat -c '%a %u:%g %Y' "$R/a/etc/fstab")"
        [ -z "$(find "$R/mnt/root1/etc" "$R/efi1" -name '.dual-root-swap.tmp')" ] || fail "a temporary file was left"
}

a_second_sync_rewrites_nothing_and_the_guard_agrees() {
        reset_a2
        run_tool -s
        expect_status 0
        before=$(stat -c '%i %z' "$R/mnt/root1/etc/fstab" "$R/efi1/loader/entries/debian-13.conf")
        state=$(stat -c '%i %Y' "$R/efi1/.dual-root-state")
        run_tool -s
        expect_status 0
        expect_stdout_has "2 synced, 0 skipped, 0 failed"
        after=$(stat -c '%i %z' "$R/mnt/root1/etc/fstab" "$R/efi1/loader/entries/debian-13.conf")
        [ "$before" = "$after" ] || fail "unchanged swapped files were rewritten: '$before' then '$after'"
        [ "$state" = "$(stat -c '%i %Y' "$R/efi1/.dual-root-state")" ] ||
                fail "the guard's record was rewritten: the swapped copies looked like a change"
        # Booted from disk 1 now: syncing back gives disk 0 its own identifiers again, and
        # the guard sees the swapped files as what it recorded, not as a change.
        booted_by_loader "$PU1"
        cat >"$CONF" <<EOF
swap_ids = ["/mnt/root1/etc/fstab", "/efi1/loader/entries/"]
sync = [["/mnt/root1/etc/", "/a/etc/"]]
EOF
        run_tool -s
        expect_status 0
        same_text "$R/a/etc/fstab" "$FSTAB0" "fstab synced back"
        same_text "$R/efi0/loader/entries/debian-13.conf" "$ENTRY0" "entry synced back"
}

test_mode_shows_the_map_and_the_lines_and_changes_nothing() {
        reset_a2
        run_tool -s -t
        expect_status 0
        expect_stdout_has "swap_ids map: UUID $R0 <-> $R1  ($DEV_R0 (/a/etc/) <-> $DEV_R1 (/mnt/root1/etc/))"
        expect_stdout_has "swap_ids map: LABEL root0 <-> root1"
        expect_stdout_has "swap_ids map: UUID $FS0 <-> $FS1"
        expect_stdout_has "swap_ids: would write /mnt/root1/etc/fstab from /a/etc/fstab (5 lines swapped)"
        expect_stdout_has "swap_ids:   2: -UUID=$R0 / ext4 errors=remount-ro 0 1"
        expect_stdout_has "swap_ids:   2: +UUID=$R1 / ext4 errors=remount-ro 0 1"
        expect_stdout_has "swap_ids: would write /efi1/loader/entries/debian-13.conf from /efi0/loader/entries/debian-13.conf (1 line swapped)"
        expect_stdout_lacks "UUID=$FOREIGN"
        [ ! -e "$R/mnt/root1/etc/fstab" ] || fail "-t wrote the fstab copy"
        [ ! -e "$R/efi1/loader/entries/debian-13.conf" ] || fail "-t wrote the entry"
        # the copies leave the swapped files to the swap: rsync told so, the ESP's own copy
        # not copying the entry
        expect_stdout_has "--exclude=/fstab"
        expect_stdout_has "pass 2 (entries): create loader/entries/"
        expect_stdout_lacks "pass 2 (entries): create loader/entries/debian-13.conf"
}

check_config_prints_the_map_and_the_lines() {
        reset_a2
        run_tool --check-config
        expect_status 0
        expect_stdout_has "swap_ids:      /a/etc/fstab, /efi0/loader/entries/"
        expect_stdout_has "sync[0] /a/etc/ -> /mnt/root1/etc/:"
        expect_stdout_has "  swap_ids:   4: -UUID=$R1 /mnt/root1 ext4 nofail 0 2"
        expect_stdout_has "  swap_ids:   4: +UUID=$R0 /mnt/root1 ext4 nofail 0 2"
        expect_stdout_has "ESP /efi0/ -> /efi1/:"
        [ ! -e "$R/mnt/root1/etc/fstab" ] || fail "--check-config wrote a file"
}

an_identifier_without_counterpart_refuses_with_nothing_written() {
        reset_a2
        e2label "$DEV_R1" "" # root 1 loses its label: LABEL=root0 has no counterpart
        echo "old" >"$R/mnt/root1/etc/fstab"
        run_tool -s
        e2label "$DEV_R1" root1
        expect_status 1
        expect_stderr_has "refused /a/etc/ -> /mnt/root1/etc/: swap_ids: /a/etc/fstab:6: LABEL=root0 names $DEV_R0 (/a/etc/) on the source disk, which has no counterpart on the alternate one"
        [ "$(cat "$R/mnt/root1/etc/fstab")" = old ] || fail "the destination's fstab was changed"
        [ ! -e "$R/mnt/root1/etc/default/grub" ] || fail "rsync ran although the job was refused"
        # the other item (the ESP) is not affected
        expect_stdout_has "synced /efi0/ -> /efi1/"
}

entries_added_and_removed_follow_the_source() {
        reset_a2
        run_tool -s
        expect_status 0
        # a kernel update: a new entry, the old one removed
        sed 's/6.1.0-13/6.1.0-14/g' "$R/efi0/loader/entries/debian-13.conf" >"$R/efi0/loader/entries/debian-14.conf"
        rm "$R/efi0/loader/entries/debian-13.conf"
        run_tool -s
        expect_status 0
        same_text "$R/efi1/loader/entries/debian-14.conf" "$(sed 's/6.1.0-13/6.1.0-14/g' <<<"$ENTRY1")" "new entry"
        [ ! -e "$R/efi1/loader/entries/debian-13.conf" ] || fail "the removed entry is still on the alternate"
        # fstab removed from the source: removed from the destination too
        rm "$R/a/etc/fstab"
        run_tool -s
        expect_status 0
        [ ! -e "$R/mnt/root1/etc/fstab" ] || fail "fstab removed from the source is still on the destination"
}

a_cut_write_leaves_nothing_behind() {
        reset_a2
        run_tool -s
        expect_status 0
        # what a power cut between create and rename leaves
        echo "torn" >"$R/efi1/loader/entries/.dual-root-swap.tmp"
        echo "torn" >"$R/mnt/root1/etc/.dual-root-swap.tmp"
        run_tool -s
        expect_status 0
        [ ! -e "$R/efi1/loader/entries/.dual-root-swap.tmp" ] || fail "the torn temporary entry is left"
        [ ! -e "$R/mnt/root1/etc/.dual-root-swap.tmp" ] || fail "the torn temporary fstab is left"
        same_text "$R/efi1/loader/entries/debian-13.conf" "$ENTRY1" "entry after a cut"
}

a_symlink_or_non_text_is_refused() {
        reset_a2
        mv "$R/a/etc/fstab" "$R/a/etc/fstab.real"
        ln -s fstab.real "$R/a/etc/fstab"
        run_tool -s
        expect_status 1
        expect_stderr_has "swap_ids: '/a/etc/fstab' is a symbolic link: swap_ids takes regular files"
        rm "$R/a/etc/fstab"
        printf 'UUID=x\0y\n' >"$R/a/etc/fstab"
        run_tool -s
        expect_status 1
        expect_stderr_has "swap_ids: /a/etc/fstab holds a NUL byte: not a text file"
        # a FIFO in its place (on either side) is refused, not waited on
        rm "$R/a/etc/fstab"
        mkfifo "$R/a/etc/fstab"
        timeout 20 chroot "$R" /usr/bin/env DUAL_ROOT_EFIVARS=/efivars "$TOOL" -s >"$OUT" 2>"$ERR" && STATUS=0 || STATUS=$?
        expect_status 1
        expect_stderr_has "swap_ids: '/a/etc/fstab' is not a regular file"
}

config_errors_are_precise() {
        reset_a2
        printf 'swap_ids = ["etc/fstab"]\n' >"$CONF"
        run_tool --check-config
        expect_status 2
        expect_stderr_has "sync-daemon.conf:1:13: swap_ids entry 'etc/fstab' is not an absolute path"
        printf 'swap_ids = ["/etc/*.conf"]\n' >"$CONF"
        run_tool --check-config
        expect_status 2
        expect_stderr_has "swap_ids entry '/etc/*.conf' holds a wildcard or backslash"
        printf 'dualroot = false\nswap_ids = ["/etc/fstab"]\nsync = [["/a/etc/", "/mnt/root1/etc/"]]\n' >"$CONF"
        run_tool --check-config
        expect_status 2
        expect_stderr_has "sync-daemon.conf:2:13: swap_ids entry '/etc/fstab' is under no sync item's source, expected a path that a sync copies"
        printf 'swap_ids = ["/a/etc/fstab", "/a//etc/fstab"]\nsync = [["/a/etc/", "/mnt/root1/etc/"]]\n' >"$CONF"
        run_tool --check-config
        expect_status 2
        expect_stderr_has "swap_ids entry"
}

daemon_writes_swapped_copies_once() {
        reset_a2
        printf 'settle_time = 0.2\nsync_delay = 0\n%s\n' "$SWAP_CONF" >"$CONF"
        : >"$LOG"
        chroot "$R" /usr/bin/env DUAL_ROOT_EFIVARS=/efivars "$TOOL" -d >"$LOG" 2>&1 &
        DAEMON=$!
        wait_for 10 grep -q "initial sync done" "$LOG" || fail "no initial sync: $(cat "$LOG")"
        same_text "$R/mnt/root1/etc/fstab" "$FSTAB1" "fstab after the initial sync"
        n0=$(grep -c "synced /a/etc/ -> /mnt/root1/etc/" "$LOG")
        # an edit of the source fstab is synced, swapped, once
        sed -i 's/noauto 0 0/noauto,ro 0 0/' "$R/a/etc/fstab"
        wait_for 10 grep -q "noauto,ro" "$R/mnt/root1/etc/fstab" || fail "the edit was not synced: $(cat "$LOG")"
        grep -q "^LABEL=root1 /x ext4 noauto,ro 0 0$" "$R/mnt/root1/etc/fstab" || fail "the edit's copy is not swapped: $(cat "$R/mnt/root1/etc/fstab")"
        wait_for 10 eval '[ "$(grep -c "synced /a/etc/ -> /mnt/root1/etc/" "$LOG")" -gt "$n0" ]' ||
                fail "no log line for the second sync"
        n1=$(grep -c "synced /a/etc/ -> /mnt/root1/etc/" "$LOG")
        # our own writes into the destination never start another sync: nothing within 3
        # settle times (an absence has no marker to wait on)
        sleep 0.6
        [ "$(grep -c "synced /a/etc/ -> /mnt/root1/etc/" "$LOG")" = "$n1" ] || fail "the daemon synced again without a change: $(cat "$LOG")"
        kill -TERM "$DAEMON"
        wait "$DAEMON" || fail "daemon exit status $?"
        DAEMON=
}

status_checks_the_alternates_copies() {
        reset_a2
        # what else --status wants of a machine that can lose either disk (see t-status)
        efivar bootentry 0001 "Linux Boot Manager" --hd 1 "$PU0"
        efivar bootentry 0002 "Linux Boot Manager (disk 1)" --hd 1 "$PU1"
        efivar bootorder 0001,0002
        printf 'timeout 3\ndefault debian-*\n' >"$R/efi0/loader/loader.conf"
        run_tool -b
        run_tool -s
        expect_status 0
        TOOL_ENV="DUAL_ROOT_ESP_FSTYPE=ext4" # the ESPs here are ext4 stand-ins
        run_tool --status
        expect_status 0
        expect_stdout_has "  OK swap_ids: 1 swapped file on /mnt/root1/etc/ names the alternate's own filesystems"
        expect_stdout_has "  OK swap_ids: 1 swapped file on /efi1/ names the alternate's own filesystems"
        # changed on the source, not synced yet: a warning
        sed -i 's/noauto 0 0/noauto,ro 0 0/' "$R/a/etc/fstab"
        run_tool --status
        expect_status 1
        expect_stdout_has "  WARNING swap_ids: /mnt/root1/etc/fstab differs from what a sync would write from /a/etc/fstab"
        # a copy that mounts the other disk's root on /, or an entry booting it: critical,
        # naming file and line
        run_tool -s
        sed -i "s|^UUID=$R1 / |UUID=$R0 / |" "$R/mnt/root1/etc/fstab"
        sed -i "s|UUID=$R1|UUID=$R0|" "$R/efi1/loader/entries/debian-13.conf"
        run_tool --status
        expect_status 2
        expect_stdout_has "  CRITICAL swap_ids: /mnt/root1/etc/fstab:2 names the root UUID=$R0, which is on the source disk ($DEV_R0 (/a/etc/)): booted alone, the alternate would not find its own root"
        expect_stdout_has "  CRITICAL swap_ids: /efi1/loader/entries/debian-13.conf:3 names the root UUID=$R0"
        expect_stdout_has "/efi1: $DEV1, PARTUUID $PU1: would NOT boot alone"
        TOOL_ENV=
}

a_backup_off_the_disks_gets_the_file_as_it_is() {
        reset_a2
        mkdir -p "$R/srv/backup"
        find "$R/srv/backup" -mindepth 1 -delete
        cat >"$CONF" <<EOF
swap_ids = ["/a/etc/fstab"]
sync = [["/a/etc/", ["/mnt/root1/etc/", "/srv/backup/"]]]
EOF
        run_tool -s
        expect_status 0
        same_text "$R/mnt/root1/etc/fstab" "$FSTAB1" "the alternate's copy"
        # the fake root is a tmpfs: no block device, not the alternate disk
        same_text "$R/srv/backup/fstab" "$FSTAB0" "the backup's copy"
}

# fake_layout DISK:N:DEV...: a sysfs under $R/fakesys (DUAL_ROOT_SYSFS) in which DEV is
# partition N of DISK (disk0 or disk1), as the kernel shows a real disk's partitions.
fake_layout() {
        local spec disk n dev majmin d
        rm -rf "$R/fakesys"
        mkdir -p "$R/fakesys/dev/block"
        for disk in disk0 disk1; do
                d="$R/fakesys/devices/virtual/block/$disk"
                mkdir -p "$d"
                echo "259:25${disk#disk}" >"$d/dev"
                ln -sfn "../../devices/virtual/block/$disk" "$R/fakesys/dev/block/259:25${disk#disk}"
        done
        for spec in "$@"; do
                IFS=: read -r disk n dev <<<"$spec"
                majmin=$(printf '%d:%d' "0x$(stat -L -c %t "$dev")" "0x$(stat -L -c %T "$dev")")
                d="$R/fakesys/devices/virtual/block/$disk/$(basename "$dev")"
                mkdir -p "$d"
                echo "$n" >"$d/partition"
                echo "$majmin" >"$d/dev"
                ln -sfn "../../devices/virtual/block/$disk/$(basename "$dev")" "$R/fakesys/dev/block/$majmin"
        done
}

# fake_dm DEV NAME SLAVE: in the fake sysfs fake_layout made, DEV is the device-mapper device
# NAME over SLAVE (placed there already), as a LUKS container's plaintext is.
fake_dm() {
        local majmin d slave
        majmin=$(printf '%d:%d' "0x$(stat -L -c %t "$1")" "0x$(stat -L -c %T "$1")")
        d="$R/fakesys/devices/virtual/block/$2"
        mkdir -p "$d/slaves"
        echo "$majmin" >"$d/dev"
        slave=$(readlink "$R/fakesys/dev/block/$(printf '%d:%d' "0x$(stat -L -c %t "$3")" "0x$(stat -L -c %T "$3")")")
        ln -sfn "../../${slave#../../devices/virtual/block/}" "$d/slaves/$(basename "$3")"
        ln -sfn "../../devices/virtual/block/$2" "$R/fakesys/dev/block/$majmin"
}

# sync_pair_only A B: -t's map pairs UUID A with B as the sync list does, not by place
sync_pair_only() {
        expect_stdout_has "swap_ids map: UUID $1 <-> $2  ($DEV_R0 (/a/etc/) <-> "
        ! grep -F "swap_ids map: UUID $1 <-> $2 " "$OUT" | grep -qF "(same partition number)" ||
                fail "the sync list's pair $1 <-> $2 is shown as paired by place"
}

partitions_no_item_copies_pair_by_number_and_type() {
        reset_a2
        fake_layout disk0:1:"$DEV0" disk0:2:"$DEV_R0" disk0:3:"$DEV_SW0" disk0:4:"$DEV_SWX0" \
                disk1:1:"$DEV1" disk1:2:"$DEV_R1" disk1:3:"$DEV_SW1" disk1:4:"$DEV_X1"
        TOOL_ENV="DUAL_ROOT_SYSFS=/fakesys"
        printf '%s\nUUID=%s none swap sw 0 0\n' "$FSTAB0" "$SW0" >"$R/a/etc/fstab"
        # -t shows the pair by place as such, the sync list's pairs as before
        run_tool -s -t
        expect_status 0
        expect_stdout_has "swap_ids map: UUID $SW0 <-> $SW1  ($DEV_SW0 <-> $DEV_SW1)  (same partition number)"
        sync_pair_only "$R0" "$R1"
        expect_stdout_has "swap_ids map: UUID $SWX0  ($DEV_SWX0, source disk): no counterpart"
        expect_stdout_has "swap_ids map: UUID $X1  ($DEV_X1, alternate disk): no counterpart"
        # the swap partition at the same number on both disks is swapped in the copy
        run_tool -s
        expect_status 0
        same_text "$R/mnt/root1/etc/fstab" "$(printf '%s\nUUID=%s none swap sw 0 0' "$FSTAB1" "$SW1")" "fstab copy"
        # a swap whose namesake on the alternate is an ext4: an error naming both
        echo "old" >"$R/mnt/root1/etc/fstab"
        printf '%s\nUUID=%s none swap sw 0 0\n' "$FSTAB0" "$SWX0" >"$R/a/etc/fstab"
        run_tool -s
        expect_status 1
        expect_stderr_has "refused /a/etc/ -> /mnt/root1/etc/: swap_ids: /a/etc/fstab:9: UUID=$SWX0 names $DEV_SWX0 on the source disk, which has no counterpart on the alternate one: no sync item copies it and partition 4 of the alternate disk ($DEV_X1) holds ext4, not swap"
        [ "$(cat "$R/mnt/root1/etc/fstab")" = old ] || fail "the destination's fstab was changed"
        # a partition the sync list pairs is never paired again by its number: root 1 is
        # partition 5 now, the foreign filesystem disk 0's partition 5, the ext4 disk 1's 2
        fake_layout disk0:1:"$DEV0" disk0:2:"$DEV_R0" disk0:5:"$DEV_F" \
                disk1:1:"$DEV1" disk1:5:"$DEV_R1" disk1:2:"$DEV_X1"
        grep -v "^UUID=$FOREIGN " <<<"$FSTAB0" >"$R/a/etc/fstab"
        run_tool -s -t
        expect_status 0
        sync_pair_only "$R0" "$R1"
        expect_stdout_has "swap_ids map: UUID $FOREIGN  ($DEV_F, source disk): no counterpart"
        expect_stdout_has "swap_ids map: UUID $X1  ($DEV_X1, alternate disk): no counterpart"
        printf '%s\n' "$FSTAB0" >"$R/a/etc/fstab"
        run_tool -s
        expect_status 1
        expect_stderr_has "/a/etc/fstab:7: UUID=$FOREIGN names $DEV_F on the source disk, which has no counterpart on the alternate one: no sync item copies it and partition 5 of the alternate disk ($DEV_R1 (/mnt/root1/etc/)) is paired by the sync list"
        TOOL_ENV=
}

# W8: LUKS containers (a LUKS1 header blkid reads, TYPE=crypto_LUKS: cryptsetup needs
# device-mapper, which this host lacks, and blkid reads only the header) at partition 6 of
# each disk, paired by place; every file the initrd reads names them in its own form.
L0=d1d1d1d1-aaaa-4aaa-8aaa-aaaaaaaaaaaa
L1=e2e2e2e2-bbbb-4bbb-8bbb-bbbbbbbbbbbb
luks_header() { # DEV UUID
        {
                printf 'LUKS\272\276\000\001'
                printf 'aes%29s' '' | tr ' ' '\0'
                printf 'xts-plain64%21s' '' | tr ' ' '\0'
                printf 'sha256%26s' '' | tr ' ' '\0'
                printf '\000\000\020\000\000\000\000\100'
                head -c 56 /dev/zero
                printf '%s' "$2"
                head -c 4 /dev/zero
        } | dd of="$1" conv=notrunc status=none
}

luks_and_extra_mounts_are_swapped_in_every_file_the_initrd_reads() {
        local l0 l1 cmd0 cmd1 ct0 ct1 e0 e1
        reset_a2
        make_disk luks 20 4 a2a2a2a2-6666-4000-8000-00000000cc01 a2a2a2a2-6666-4000-8000-00000000cc02
        l0=$(attach_part luks 1 4)
        l1=$(attach_part luks 2 4)
        luks_header "$l0" "$L0"
        luks_header "$l1" "$L1"
        [ "$(blkid -p -o value -s TYPE "$l0")" = crypto_LUKS ] || fail "blkid does not see the LUKS header"
        # each root inside its disk's LUKS container: dm-0 over partition 6 of disk 0, dm-1
        # over disk 1's
        fake_layout disk0:1:"$DEV0" disk0:6:"$l0" disk1:1:"$DEV1" disk1:6:"$l1"
        fake_dm "$DEV_R0" dm-0 "$l0"
        fake_dm "$DEV_R1" dm-1 "$l1"
        TOOL_ENV="DUAL_ROOT_SYSFS=/fakesys"
        printf '%s\n' 'swap_ids = ["/a/etc/fstab", "/a/etc/crypttab", "/a/etc/kernel/cmdline",' \
                '            "/a/etc/initramfs-tools/conf.d/resume", "/efi0/loader/entries/"]' \
                'sync = [["/a/etc/", "/mnt/root1/etc/"]]' >"$CONF"
        mkdir -p "$R/a/etc/kernel" "$R/a/etc/initramfs-tools/conf.d"
        cmd0="root=/dev/mapper/luks-$L0 rd.luks.uuid=luks-$L0 rd.luks.options=$L0=discard resume=UUID=$R0 resume_offset=34816 systemd.mount-extra=UUID=$R1:/mnt/root1:ext4:nofail rd.md.uuid=0a1b2c3d:4e5f6071:8293a4b5:c6d7e8f9"
        cmd1="root=/dev/mapper/luks-$L1 rd.luks.uuid=luks-$L1 rd.luks.options=$L1=discard resume=UUID=$R1 resume_offset=34816 systemd.mount-extra=UUID=$R0:/mnt/root1:ext4:nofail rd.md.uuid=0a1b2c3d:4e5f6071:8293a4b5:c6d7e8f9"
        ct0="luks-$L0 UUID=$L0 none luks,discard
cryptdata /dev/disk/by-uuid/$L0 /etc/keys/data.key luks"
        ct1="luks-$L1 UUID=$L1 none luks,discard
cryptdata /dev/disk/by-uuid/$L1 /etc/keys/data.key luks"
        e0="title Arch
linux /vmlinuz-6.1.0-13-amd64
options cryptdevice=UUID=$L0:cryptroot:allow-discards root=/dev/mapper/cryptroot rd.luks.name=$L0=cryptroot luks.uuid=$L0"
        e1="title Arch
linux /vmlinuz-6.1.0-13-amd64
options cryptdevice=UUID=$L1:cryptroot:allow-discards root=/dev/mapper/cryptroot rd.luks.name=$L1=cryptroot luks.uuid=$L1"
        printf '%s\n' "$cmd0" >"$R/a/etc/kernel/cmdline"
        printf '%s\n' "$ct0" >"$R/a/etc/crypttab"
        printf 'RESUME=UUID=%s\n' "$R0" >"$R/a/etc/initramfs-tools/conf.d/resume"
        printf '%s\n' "$e0" >"$R/efi0/loader/entries/arch.conf"
        run_tool -s -t
        expect_status 0
        expect_stdout_has "swap_ids map: UUID $L0 <-> $L1  ($l0 <-> $l1)  (same partition number)"
        # the disks found through the roots' device-mapper devices alone (the ESPs on no disk
        # sysfs knows): their containers still pair
        fake_layout disk0:6:"$l0" disk1:6:"$l1"
        fake_dm "$DEV_R0" dm-0 "$l0"
        fake_dm "$DEV_R1" dm-1 "$l1"
        run_tool -s -t
        expect_status 0
        expect_stdout_has "swap_ids map: UUID $L0 <-> $L1  ($l0 <-> $l1)  (same partition number)"
        run_tool -s
        expect_status 0
        same_text "$R/mnt/root1/etc/kernel/cmdline" "$cmd1" "/etc/kernel/cmdline copy"
        same_text "$R/mnt/root1/etc/crypttab" "$ct1" "crypttab copy"
        same_text "$R/mnt/root1/etc/initramfs-tools/conf.d/resume" "RESUME=UUID=$R1" "conf.d/resume copy"
        same_text "$R/efi1/loader/entries/arch.conf" "$e1" "loader entry copy"
        same_text "$R/mnt/root1/etc/fstab" "$FSTAB1" "fstab copy"
        # a form swap_ids cannot pair: refused, file:line:form, nothing written
        printf '%s\n%s\n' "$ct0" "cryptswap /dev/disk/by-id/ata-QEMU_HARDDISK_QM00001-part3 /dev/urandom swap" \
                >"$R/a/etc/crypttab"
        echo "root=/dev/sda2 $cmd0" >"$R/a/etc/kernel/cmdline"
        run_tool -s
        expect_status 1
        expect_stderr_has "swap_ids: /a/etc/crypttab:3: /dev/disk/by-id/ata-QEMU_HARDDISK_QM00001-part3: a device named by hardware or by place"
        same_text "$R/mnt/root1/etc/crypttab" "$ct1" "crypttab copy after the refusal"
        same_text "$R/mnt/root1/etc/kernel/cmdline" "$cmd1" "cmdline copy after the refusal"
        printf '%s\n' "$ct0" >"$R/a/etc/crypttab"
        run_tool -s
        expect_status 1
        expect_stderr_has "swap_ids: /a/etc/kernel/cmdline:1: /dev/sda2: a disk named by its kernel name"
        same_text "$R/mnt/root1/etc/kernel/cmdline" "$cmd1" "cmdline copy after the refusal"
        # the containers' pairing is what swaps them: without it, naming L0 is an error
        fake_layout disk0:1:"$DEV0" disk0:6:"$l0" disk1:1:"$DEV1"
        fake_dm "$DEV_R0" dm-0 "$l0"
        printf '%s\n' "$cmd0" >"$R/a/etc/kernel/cmdline"
        run_tool -s
        expect_status 1
        expect_stderr_has "/a/etc/crypttab:1: luks-$L0 names $l0 on the source disk, which has no counterpart on the alternate one"
        rm -f "$R/efi0/loader/entries/arch.conf" "$R/efi1/loader/entries/arch.conf"
        TOOL_ENV=
}

valgrind_swap_paths_are_clean() {
        if ! command -v valgrind >/dev/null || ldd "$TOOL" | grep -q libasan; then
                echo "  (no valgrind, or an ASan build: skipped)"
                return 0
        fi
        local vg="valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect,possible
--errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 --track-fds=no" args
        reset_a2
        for args in "-s" "-st" "--check-config" "--status" "-s"; do
                set +e
                # shellcheck disable=SC2086
                chroot "$R" /usr/bin/env DUAL_ROOT_EFIVARS=/efivars $vg "$TOOL" $args >"$OUT" 2>"$ERR"
                STATUS=$?
                set -e
                [ "$STATUS" != 99 ] || fail "valgrind dual-root-tool $args: errors"
                [ "$args" = --status ] || [ "$STATUS" = 0 ] || fail "valgrind dual-root-tool $args: exit $STATUS"
        done
        # the refusal's path too
        echo "UUID=$FOREIGN-x LABEL=root0 / ext4" >>"$R/a/etc/fstab"
        e2label "$DEV_R1" ""
        set +e
        chroot "$R" /usr/bin/env DUAL_ROOT_EFIVARS=/efivars $vg "$TOOL" -s >"$OUT" 2>"$ERR"
        STATUS=$?
        set -e
        e2label "$DEV_R1" root1
        expect_status 1
}

# entries_name_present_files DIR: every loader entry on DIR names only files present (the
# alternate boots: DESIGN.md §5 rule 9). Prints what is missing and fails.
entries_name_present_files() {
        n=0
        for e in "$1"/loader/entries/*.conf; do
                [ -f "$e" ] || continue
                n=$((n + 1))
                for k in $(awk '$1 == "linux" || $1 == "initrd" || $1 == "efi" || $1 == "devicetree" { print $2 }' "$e"); do
                        [ -f "$1$k" ] || { echo "entry ${e#"$1"/} names $k, which is missing"; return 1; }
                done
        done
        [ "$n" -ge 1 ] || { echo "no loader entry at all"; return 1; }
}

# DESIGN.md §5b: the swapped entries are written after the deletions pass, so that pass must
# keep what the alternate's own (old) entries name: a cut right after it leaves them booting.
a_cut_after_the_deletions_pass_leaves_the_old_entries_booting() {
        reset_a2
        printf '%s\n' "$SWAP_CONF" >"$CONF"
        run_tool -s
        expect_status 0
        # a kernel update: the new kernel and entry in, the old ones out
        loader_file kernel 20480 "$R/efi0/vmlinuz-6.1.0-14-amd64"
        sed 's/6.1.0-13/6.1.0-14/g' "$R/efi0/loader/entries/debian-13.conf" >"$R/efi0/loader/entries/debian-14.conf"
        rm "$R/efi0/loader/entries/debian-13.conf" "$R/efi0/vmlinuz-6.1.0-13-amd64"
        # Cut once the runner's passes (3, the deletions, last) are done, as the tool renames
        # the first swapped file into place: its second rename (the first is the intent). Only
        # the tool is traced (no -f): rsync's and the runner's renames are not counted.
        set +e
        chroot "$R" /usr/bin/env DUAL_ROOT_EFIVARS=/efivars \
                ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
                strace -qq -o /dev/null -e trace=renameat \
                -e inject=renameat:error=EIO:signal=KILL:when=2 "$TOOL" -s >"$W/cut.out" 2>&1
        set -e
        [ -f "$R/efi1/vmlinuz-6.1.0-14-amd64" ] || fail "the cut came before pass 1 ended: $(cat "$W/cut.out")"
        [ -f "$R/efi1/vmlinuz-6.1.0-13-amd64" ] || fail "pass 3 deleted the kernel the old entry names"
        grep -q '^intent=' "$R/efi1/.dual-root-state" || fail "the cut came after the sync was recorded"
        same_text "$R/efi1/loader/entries/debian-13.conf" "$ENTRY1" "the old entry after the cut"
        problem=$(entries_name_present_files "$R/efi1") || fail "cut after the deletions pass: $problem"
        # The next plain sync writes the new entry and removes the old one; the kernel only
        # the old entry named goes at the sync after (pass 3 keeps it while that entry boots).
        run_tool -s
        expect_status 0
        same_text "$R/efi1/loader/entries/debian-14.conf" "$(sed 's/6.1.0-13/6.1.0-14/g' <<<"$ENTRY1")" "new entry"
        [ ! -e "$R/efi1/loader/entries/debian-13.conf" ] || fail "the removed entry is still on the alternate"
        problem=$(entries_name_present_files "$R/efi1") || fail "after the next sync: $problem"
        run_tool -s
        expect_status 0
        [ ! -e "$R/efi1/vmlinuz-6.1.0-13-amd64" ] || fail "the kernel no entry names any more is still on the alternate"
        [ -f "$R/efi1/vmlinuz-6.1.0-14-amd64" ] || fail "the new kernel is missing on the alternate"
        # Then stable: the guard sees nothing to do, its record is not rewritten.
        state=$(stat -c '%i %Y' "$R/efi1/.dual-root-state")
        run_tool -s
        expect_status 0
        [ "$state" = "$(stat -c '%i %Y' "$R/efi1/.dual-root-state")" ] ||
                fail "the guard's record was rewritten: a converged mirror looked like a change"
}

wait_for() {
        local deadline=$(($(date +%s%N) + $1 * 1000000000))
        shift
        until "$@"; do
                [ "$(date +%s%N)" -lt "$deadline" ] || return 1
                sleep 0.05
        done
}

run_case swapped_copies_name_the_alternates_filesystems swapped_copies_name_the_alternates_filesystems
run_case a_second_sync_rewrites_nothing_and_the_guard_agrees a_second_sync_rewrites_nothing_and_the_guard_agrees
run_case test_mode_shows_the_map_and_the_lines_and_changes_nothing test_mode_shows_the_map_and_the_lines_and_changes_nothing
run_case check_config_prints_the_map_and_the_lines check_config_prints_the_map_and_the_lines
run_case an_identifier_without_counterpart_refuses_with_nothing_written an_identifier_without_counterpart_refuses_with_nothing_written
run_case entries_added_and_removed_follow_the_source entries_added_and_removed_follow_the_source
run_case a_cut_write_leaves_nothing_behind a_cut_write_leaves_nothing_behind
run_case a_cut_after_the_deletions_pass_leaves_the_old_entries_booting a_cut_after_the_deletions_pass_leaves_the_old_entries_booting
run_case a_symlink_or_non_text_is_refused a_symlink_or_non_text_is_refused
run_case config_errors_are_precise config_errors_are_precise
run_case daemon_writes_swapped_copies_once daemon_writes_swapped_copies_once
run_case status_checks_the_alternates_copies status_checks_the_alternates_copies
run_case a_backup_off_the_disks_gets_the_file_as_it_is a_backup_off_the_disks_gets_the_file_as_it_is
run_case partitions_no_item_copies_pair_by_number_and_type partitions_no_item_copies_pair_by_number_and_type
run_case luks_and_extra_mounts_are_swapped_in_every_file_the_initrd_reads luks_and_extra_mounts_are_swapped_in_every_file_the_initrd_reads
run_case valgrind_swap_paths_are_clean valgrind_swap_paths_are_clean
finish

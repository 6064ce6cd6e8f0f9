# SPDX-License-Identifier: MIT
# Sourced by every integration test and by scripts/demo. It builds a simulated machine:
#
#   - a private mount namespace (the test re-executes itself under `unshare -m`), so no
#     mount is ever visible to the host;
#   - a tmpfs work area $W holding GPT disk images made with sgdisk, one loop device per
#     partition (losetup --offset --sizelimit: this kernel makes no partition devices);
#   - a fake root $R (tmpfs) with the host's /usr bound read-only, /proc, /sys, /dev, a
#     tmpfs over /dev/disk holding udev-style by-partuuid links, /efi0 /efi1 /boot, its own
#     /etc, and an efivarfs-format directory /efivars (DUAL_ROOT_EFIVARS);
#   - the tool runs chrooted in $R, so it sees /efi0, /boot and /etc/dual-root exactly as on
#     a real machine and can never touch the host's.
#
# Clean-up (trap on EXIT/INT/TERM/HUP) unmounts everything and detaches the loop devices
# this script attached (every one backed by a file under $W, stacked ones first), even on
# failure. Nothing is ever removed with rm -r: $W is a tmpfs
# that is unmounted.
#
# Environment: TOOL (dual-root-tool binary), MKEFIVAR (tests/tools/mkefivar binary).

set -eu

if [ "${DR_IN_NAMESPACE:-}" != 1 ]; then
        if [ "$(id -u)" != 0 ]; then
                echo "SKIP: integration tests need root (loop devices, mounts)"
                exit 77
        fi
        export DR_IN_NAMESPACE=1
        exec unshare --mount --propagation private -- "$0" "$@"
fi

: "${TOOL:?TOOL must name the dual-root-tool binary}"
: "${MKEFIVAR:?MKEFIVAR must name the mkefivar test tool}"
TOOL=$(realpath "$TOOL")
MKEFIVAR=$(realpath "$MKEFIVAR")

# The work area: a tmpfs on WM, the files in its subdirectory W named after the run
# (DR_TEST_RUN, set by scripts/check): a loop device's backing file keeps that name even after
# this namespace is gone ("/RUN/disk.img"), so the run can find what its tests left attached.
WM=$(mktemp -d /tmp/dual-root-test.XXXXXX)
mount -t tmpfs -o mode=0700,size=2g dual-root-work "$WM"
W="$WM/${DR_TEST_RUN:-work}"
mkdir -m 0700 "$W"
R="$W/root"
CASE_FAILED=0
CASES_RUN=0

# our_loops: every loop device backed by a file under $W, and every one stacked on those (a
# partition stand-in over a whole-disk loop device), the most deeply stacked first, one a
# line. Found from the kernel's list, so a device a test attached without recording it is
# found too, and one it detached (maybe given to another test since) is not.
our_loops() {
        losetup -l -n -O NAME,BACK-FILE 2>/dev/null | awk -v w="$W/" '
                { name[NR] = $1; $1 = ""; back[NR] = substr($0, 2); n = NR }
                END {
                        for (i = 1; i <= n; i++)
                                if (index(back[i], w) == 1) depth[name[i]] = 1
                        do {
                                more = 0
                                for (i = 1; i <= n; i++)
                                        if (!(name[i] in depth) && (back[i] in depth)) {
                                                depth[name[i]] = depth[back[i]] + 1
                                                more = 1
                                        }
                        } while (more)
                        for (d in depth) print depth[d], d
                }' | sort -rn | cut -d' ' -f2
}

# detach_our_loops: detaches them, stacked devices first (one still held, by a lazily
# unmounted filesystem, goes when it is released: losetup -d sets autoclear).
detach_our_loops() {
        for l in $(our_loops); do
                losetup -d "$l" 2>/dev/null
        done
}

cleanup() {
        set +e
        trap - EXIT INT TERM HUP
        cd /
        # Stop anything we started inside the fake root (daemons in later tests).
        for pid in ${BG_PIDS:-}; do
                kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
        done
        if mountpoint -q "$R" 2>/dev/null; then
                umount -R "$R" 2>/dev/null || umount -R -l "$R"
        fi
        detach_our_loops
        umount -l "$WM" 2>/dev/null
        rmdir "$WM" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# --- the fake root --------------------------------------------------------------------------

# ROOT_DEVICE (optional): a block device (e.g. a btrfs) mounted as the fake root instead of a
# tmpfs, with ROOT_OPTIONS; populate_root fills a root mounted that way.
make_root() {
        mkdir "$R"
        if [ -n "${ROOT_DEVICE:-}" ]; then
                mount -o "${ROOT_OPTIONS:-defaults}" "$ROOT_DEVICE" "$R"
        else
                mount -t tmpfs -o mode=0755 dual-root-fake-root "$R"
        fi
        populate_root
}

populate_root() {
        mkdir -p "$R/usr" "$R/proc" "$R/sys" "$R/dev" "$R/etc/dual-root" "$R/tmp" "$R/run" \
                "$R/boot" "$R/efivars" "$R/mnt"
        chmod 1777 "$R/tmp"
        mount --bind /usr "$R/usr"
        mount -o remount,bind,ro "$R/usr"
        for d in bin sbin lib lib32 lib64 libx32; do
                if [ -L "/$d" ]; then
                        ln -sfn "$(readlink "/$d")" "$R/$d"
                elif [ -d "/$d" ]; then
                        mkdir "$R/$d"
                        mount --bind "/$d" "$R/$d"
                        mount -o remount,bind,ro "$R/$d"
                fi
        done
        mount --bind /proc "$R/proc"
        mount --rbind /sys "$R/sys"
        mount --rbind /dev "$R/dev"
        mkdir -p "$R/dev/disk"
        mount -t tmpfs -o mode=0755 dual-root-dev-disk "$R/dev/disk"
        mkdir "$R/dev/disk/by-partuuid"
        for f in ld.so.cache passwd group nsswitch.conf localtime; do
                [ -e "/etc/$f" ] && cp -L "/etc/$f" "$R/etc/$f"
        done
        # The binaries under test live in the build tree: make it visible at the same path.
        for b in "$TOOL" "$MKEFIVAR"; do
                d=$(dirname "$b")
                if [ ! -d "$R$d" ] || ! mountpoint -q "$R$d"; then
                        mkdir -p "$R$d"
                        mount --bind "$d" "$R$d"
                        mount -o remount,bind,ro "$R$d"
                fi
        done
}

# --- disks ----------------------------------------------------------------------------------

# make_disk NAME SIZE_MIB PART_MIB PARTUUID...: a GPT image with one ESP-typed partition per
# PARTUUID, each PART_MIB long, laid out from sector 2048. Prints nothing.
make_disk() {
        name=$1 size=$2 part=$3
        shift 3
        img="$W/dual-root-test-$name.img"
        truncate -s "${size}M" "$img"
        sgdisk -Z "$img" >/dev/null 2>&1 || true
        i=1
        start=2048
        for pu in "$@"; do
                end=$((start + part * 2048 - 1))
                sgdisk -n "$i:$start:$end" -t "$i:ef00" -u "$i:$pu" -c "$i:ESP$i" "$img" >/dev/null
                i=$((i + 1))
                start=$((end + 1))
        done
}

# attach_part NAME N PART_MIB: attaches partition N of disk NAME as a loop device (clean-up
# detaches it), prints the device.
attach_part() {
        img="$W/dual-root-test-$1.img"
        off=$(( (2048 + ($2 - 1) * $3 * 2048) * 512 ))
        dev=$(losetup --find --show --offset "$off" --sizelimit "$(($3 * 1024 * 1024))" "$img")
        echo "$dev"
}

# link_partuuid PARTUUID DEV: the udev link /dev/disk/by-partuuid/PARTUUID -> DEV.
link_partuuid() {
        ln -sf "../../$(basename "$2")" "$R/dev/disk/by-partuuid/$1"
}

# mkfs_esp DEV UUID LABEL: an ext4 stand-in for a FAT ESP (this kernel cannot mount vfat).
mkfs_esp() {
        mkfs.ext4 -q -F -U "$2" -L "$3" "$1" >/dev/null
}

# A two-disk machine: disk0 partition 1 = ESP 0, disk1 partition 1 = ESP 1, both ext4,
# linked by PARTUUID, mounted on /efi0 and /efi1. Sets DEV0 DEV1.
PU0=6a1e0c5b-0000-4a4a-8000-00000000e0e0
PU1=6a1e0c5b-1111-4a4a-8000-00000000e1e1
FS0=0e5f0000-aaaa-4bbb-8ccc-000000000000
FS1=0e5f1111-aaaa-4bbb-8ccc-111111111111
make_two_disk_machine() {
        make_root
        make_disk disk0 40 32 "$PU0"
        make_disk disk1 40 32 "$PU1"
        DEV0=$(attach_part disk0 1 32)
        DEV1=$(attach_part disk1 1 32)
        mkfs_esp "$DEV0" "$FS0" ESP0
        mkfs_esp "$DEV1" "$FS1" ESP1
        link_partuuid "$PU0" "$DEV0"
        link_partuuid "$PU1" "$DEV1"
        mkdir -p "$R/efi0" "$R/efi1"
        mount "$DEV0" "$R/efi0"
        mount "$DEV1" "$R/efi1"
}

# fake_partition DEV DISK NUMBER START SIZE: $R/fakesys/dev/block/MAJ:MIN as the kernel shows
# partition NUMBER of DISK (START and SIZE in sectors), for DUAL_ROOT_SYSFS=/fakesys: loop
# devices are no partitions, and --fix-boot-entries needs a partition's number and extent.
fake_partition() {
        local majmin part d
        majmin=$(printf '%d:%d' "0x$(stat -L -c %t "$1")" "0x$(stat -L -c %T "$1")")
        part=$(basename "$1")
        d="$R/fakesys/devices/virtual/block/$2/$part"
        mkdir -p "$d" "$R/fakesys/dev/block"
        echo "$3" >"$d/partition"
        echo "$4" >"$d/start"
        echo "$5" >"$d/size"
        ln -sfn "../../devices/virtual/block/$2/$part" "$R/fakesys/dev/block/$majmin"
}

# --- EFI variables --------------------------------------------------------------------------

efivars_clear() {
        find "$R/efivars" -mindepth 1 -maxdepth 1 -type f -delete
}

# efivar ARGS...: mkefivar on the fake root's efivars directory.
efivar() {
        "$MKEFIVAR" "$R/efivars" "$@"
}

# booted_by_loader PARTUUID: systemd-boot style.
booted_by_loader() {
        efivars_clear
        efivar loader "$1" --upper
}

# --- running the tool -----------------------------------------------------------------------

# run_tool ARGS...: the tool chrooted into $R; output in $OUT/$ERR, status in $STATUS.
# TOOL_ENV: more VAR=VALUE words for its environment (e.g. DUAL_ROOT_ESP_FSTYPE=ext4).
OUT="$W/stdout"
ERR="$W/stderr"
TOOL_ENV=${TOOL_ENV:-}
run_tool() {
        set +e
        # shellcheck disable=SC2086 # TOOL_ENV is a list of words
        chroot "$R" /usr/bin/env DUAL_ROOT_EFIVARS=/efivars $TOOL_ENV "$TOOL" "$@" >"$OUT" 2>"$ERR"
        STATUS=$?
        set -e
}

# --- assertions: each failure says what differed -----------------------------------------

CURRENT_CASE=""
fail() {
        printf 'not ok - %s: %s\n' "$CURRENT_CASE" "$*"
        printf '  --- stdout ---\n'
        sed 's/^/  | /' "$OUT" 2>/dev/null || true
        printf '  --- stderr ---\n'
        sed 's/^/  | /' "$ERR" 2>/dev/null || true
        CASE_FAILED=1
        return 1
}

expect_status() {
        [ "$STATUS" = "$1" ] || fail "exit status $STATUS, expected $1"
}

expect_stdout_has() {
        grep -qF -- "$1" "$OUT" || fail "stdout lacks: $1"
}

expect_stderr_has() {
        grep -qF -- "$1" "$ERR" || fail "stderr lacks: $1"
}

expect_stdout_lacks() {
        ! grep -qF -- "$1" "$OUT" || fail "stdout unexpectedly has: $1"
}

expect_stderr_empty() {
        [ ! -s "$ERR" ] || fail "stderr is not empty"
}

# expect_json FILTER EXPECTED: jq -r FILTER on stdout equals EXPECTED.
expect_json() {
        got=$(jq -r "$1" "$OUT" 2>&1) || fail "stdout is not valid JSON for $1: $got"
        [ "$got" = "$2" ] || fail "JSON $1 is '$got', expected '$2'"
}

# --- waiting on markers: a file, a log line, the kernel's state; never a bare sleep ---------

# wait_for SECONDS CMD...: polls CMD every 0.05 s until it succeeds; returns 1 after SECONDS
# (which may be fractional) without it.
wait_for() {
        local deadline
        # In milliseconds first: mawk's printf %d stops at 2^31.
        deadline=$(($(date +%s%N) + $(awk -v s="$1" 'BEGIN { printf "%d", s * 1000 }') * 1000000))
        shift
        until "$@"; do
                [ "$(date +%s%N)" -lt "$deadline" ] || return 1
                sleep 0.05
        done
}

# stays_false SECONDS CMD...: CMD does not succeed for SECONDS. The one wait on time alone:
# for "this must not happen", there is no marker to wait for.
stays_false() { ! wait_for "$@"; }

# has_line FILE TEXT: FILE has a line holding TEXT (a fixed string).
has_line() { grep -qF -- "$2" "$1"; }

# case_cleanup: run when a case's subshell exits, however it exits; tests that start
# processes in a case redefine it to stop them.
case_cleanup() { :; }

# run_case NAME FUNCTION: runs one case in a subshell so a failure stops only that case.
# The subshell runs outside any `if`/`||` so that `set -e` really applies inside it.
run_case() {
        CURRENT_CASE=$1
        CASES_RUN=$((CASES_RUN + 1))
        set +e
        ( set -e; CURRENT_CASE=$1; trap case_cleanup EXIT; "$2" )
        st=$?
        set -e
        if [ "$st" = 0 ]; then
                printf 'ok - %s\n' "$1"
        else
                CASE_FAILED=1
                printf 'not ok - %s (exit %s)\n' "$1" "$st"
        fi
}

# finish: the test's exit status.
finish() {
        if [ "$CASE_FAILED" != 0 ]; then
                echo "FAILED ($CASES_RUN cases run)"
                exit 1
        fi
        echo "PASS ($CASES_RUN cases)"
        exit 0
}

# reset_machine: back to the state make_two_disk_machine left: both ESPs mounted on /efi0 and
# /efi1 only, /boot an empty unmounted directory, no EFI variables, no config file.
reset_machine() {
        efivars_clear
        while mountpoint -q "$R/boot"; do umount "$R/boot"; done
        find "$R/boot" -mindepth 1 -delete
        for n in 0 1; do
                d="$R/efi$n"
                mkdir -p "$d"
                eval "dev=\$DEV$n"
                if ! mountpoint -q "$d"; then
                        mount "$dev" "$d"
                fi
        done
        rm -f "$R/etc/dual-root/sync-daemon.conf"
}

# --- cutting a run short --------------------------------------------------------------------

# descendants PID: every process below PID, one a line.
descendants() {
        for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
                echo "$c"
                descendants "$c"
        done
}

# cut_tree PID: what a power cut or the OOM killer does to PID and everything it started
# (in any process group): all stopped first (SIGSTOP, until no new one appears), so none can
# fork, exit or write meanwhile, then all SIGKILLed at once. Only processes we started.
cut_tree() {
        all=$1 prev=
        while [ "$all" != "$prev" ]; do
                prev=$all
                # shellcheck disable=SC2086
                kill -STOP $all 2>/dev/null || true
                all=$(printf '%s\n' "$1" $(descendants "$1") | sort -u | tr '\n' ' ')
        done
        # shellcheck disable=SC2086
        kill -KILL $all 2>/dev/null || true
}

# wait_for_file PATH [SECONDS]: until PATH exists (a marker), at most SECONDS (default 20).
wait_for_file() {
        n=$(( ${2:-20} * 20 ))
        while [ ! -e "$1" ]; do
                n=$((n - 1))
                [ "$n" -gt 0 ] || return 1
                sleep 0.05
        done
}

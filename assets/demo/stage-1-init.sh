#!/bin/busybox sh
# Stage 1 of the demo system: the least a NixOS stage 1 does for a netboot
# system (load modules, mount the tmpfs root and /nix of the netboot module),
# then netboot.nix's postMountCommands, verbatim (or the systemd-stage-1
# path's loading script: default.nix's stage1), then switch into stage 2.
# default.nix fills in where the real root is mounted: /mnt-root as in
# NixOS's scripted stage 1, /sysroot as in systemd's.
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev @root@
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null

echo "stage 1: Netboot Composer demo system @label@"

fail() {
  echo "NETBOOT-COMPOSER-DEMO: FAILED in stage 1: $*"
  poweroff -f
  sleep 60
}

for module in /lib/modules/*.ko; do
  [ -e "$module" ] || continue # none: the kernel has them built in
  insmod "$module" || fail "cannot load the kernel module $module"
done

# fileSystems."/" and fileSystems."/nix" of the netboot module: both tmpfs.
mount -t tmpfs -o mode=0755 tmpfs @root@ || fail "cannot mount the root tmpfs"
mkdir -p @root@/nix
mount -t tmpfs -o mode=0755 tmpfs @root@/nix || fail "cannot mount the /nix tmpfs"

# Load the store: boot.initrd.postMountCommands of netboot.nix
# (assets/nix/quickly.nix), verbatim, or assets/nix/load-squashes.sh:
@loadStore@
[ $? -eq 0 ] || fail "the Nix store could not be loaded from the squashfs images"

init=
for option in $(cat /proc/cmdline); do
  case "$option" in
    init=*) init="${option#init=}" ;;
  esac
done
[ -n "$init" ] || fail "the kernel command line has no init="
[ -x "@root@$init" ] || fail "stage 2 ($init) is not in the loaded store"

mkdir -p @root@/proc @root@/sys @root@/dev
umount /proc /sys
mount --move /dev @root@/dev
exec switch_root @root@ "$init"

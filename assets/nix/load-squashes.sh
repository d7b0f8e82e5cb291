# Loads the Nix store from the netboot initrds into ROOT/nix/store: what
# netboot.nix's postMountCommands (./quickly.nix) does, for NixOS's
# systemd stage 1, which refuses postMountCommands. ./netboot.nix runs it
# from an initrd service as `SHELL load-squashes.sh /sysroot`; the demo
# system (assets/demo, stage1 = "systemd-script") runs this same file the
# same way, with busybox.
#
# Reads /nix-store-squashes/squashes (one squashfs per line, with a space
# after the first 20 characters so that Nix sees no store reference in it),
# mounts each image, copies the store path it holds into ROOT/nix/store and
# unmounts it; unpacks /nix-store-squashes/registration.gz to
# ROOT/nix/registration, which stage 2 loads with nix-store --load-db.
# ROOT/nix must be mounted (the netboot module's /nix tmpfs).
#
# POSIX sh with mkdir, mount (squashfs, -o loop), umount, cp, rm, rmdir and
# gzip only: the tools a systemd initrd has in /bin (./netboot.nix adds gzip).
#
# Usage: sh load-squashes.sh ROOT
set -eu

squashes=/nix-store-squashes/squashes
registration=/nix-store-squashes/registration.gz

fail() {
  echo "load-squashes: $*" >&2
  exit 1
}

[ $# -eq 1 ] && [ -n "$1" ] || fail "give the root to fill, e.g. /sysroot (usage: load-squashes.sh ROOT)"
root=$1
[ -d "$root/nix" ] || fail "$root/nix does not exist: mount the /nix tmpfs first"
[ -r "$squashes" ] || fail "$squashes is missing: the manifest initrd was not loaded"
[ -r "$registration" ] || fail "$registration is missing: the manifest initrd was not loaded"

echo "load-squashes: loading the Nix store into $root/nix/store"
mkdir -p "$root/nix/.squash" "$root/nix/store"
gzip -dc < "$registration" > "$root/nix/registration" || fail "cannot unpack $registration"

count=0
while IFS= read -r line || [ -n "$line" ]; do
  [ -n "$line" ] || continue
  # Remove the first space, as the seed's `sed 's/ //'` does.
  case $line in
    *" "*) f="${line%% *}${line#* }" ;;
    *) f=$line ;;
  esac
  # The store path's base name is the last two components joined.
  dir=${f%/*}
  dest=${dir##*/}${f##*/}
  [ -f "$f" ] || fail "$f (listed in $squashes) is not in the initrds"
  mkdir "$root/nix/.squash/$dest"
  mount -t squashfs -o loop,ro "$f" "$root/nix/.squash/$dest" || fail "cannot mount $f (are the loop and squashfs modules loaded?)"
  # Copied, not left mounted: systemd would try to unmount every image at
  # shutdown and hang (netboot.nix's reason); costs RAM, not time.
  cp -a "$root/nix/.squash/$dest/$dest" "$root/nix/store/$dest" || fail "cannot copy $dest into $root/nix/store (out of RAM?)"
  umount "$root/nix/.squash/$dest"
  rmdir "$root/nix/.squash/$dest"
  # The image is in the initramfs, in RAM: free it.
  rm -f "$f"
  count=$((count + 1))
done < "$squashes"
rmdir "$root/nix/.squash"
[ "$count" -gt 0 ] || fail "$squashes lists no squashfs images"
echo "load-squashes: $count store paths loaded into $root/nix/store"

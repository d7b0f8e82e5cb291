#!@busybox@/bin/sh
# Stage 2 of the demo system (the toplevel's `init`): prove that stage 1 put
# the whole closure into /nix/store, intact, then print the marker and power
# off. The marker is what `npm run demo` and the boot tests wait for.
export PATH=@busybox@/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
[ -e /dev/null ] || mount -t devtmpfs devtmpfs /dev
mkdir -p /tmp

echo "stage 2: @label@, NixOS-shaped, version @nixosVersion@"
# What the boot loader handed the kernel, verbatim (the hostile-input tests read it).
echo "stage 2: kernel command line: $(cat /proc/cmdline)"
problems=0
problem() {
  echo "stage 2: $*"
  problems=$((problems + 1))
}

# Every path of the registration (stage 1 unpacked it to /nix/registration) is
# in the store. The registration is `nix-store --dump-db`: the path, its hash,
# its size, its deriver, a count of references, then the references.
paths=$(awk '
  state == 0 { print; state = 1; next }
  state == 1 { state = 2; next }
  state == 2 { state = 3; next }
  state == 3 { state = 4; next }
  state == 4 { left = $1; state = left > 0 ? 5 : 0; next }
  state == 5 { left--; if (left == 0) state = 0 }
' /nix/registration)
count=0
for path in $paths; do
  count=$((count + 1))
  [ -e "$path" ] || [ -L "$path" ] || problem "missing from the store: $path"
done
[ "$count" -gt 0 ] || problem "the registration lists no store paths"
in_store=$(ls -A /nix/store | wc -l)
[ "$in_store" -eq "$count" ] || problem "/nix/store holds $in_store entries, the registration $count"

# Every file, symlink and mode is as Nix built it, and every byte.
sh @verify@ list $(cat @checks@/paths) > /tmp/listing
cmp -s /tmp/listing @checks@/listing || {
  problem "the store differs from what Nix built:"
  diff @checks@/listing /tmp/listing | head -n 20
}
sha256sum -c -s @checks@/sha256sums || problem "some files' contents differ from what Nix built"
first=$(stat -c %i "@hardlinks@/share/hardlinks/original")
second=$(stat -c %i "@hardlinks@/share/hardlinks/hardlink")
[ "$first" = "$second" ] || problem "hard links were not kept"

if [ "$problems" -eq 0 ]; then
  echo "NETBOOT-COMPOSER-DEMO: OK, $count store paths present and verified after $(cut -d' ' -f1 /proc/uptime) s"
else
  echo "NETBOOT-COMPOSER-DEMO: FAILED, $problems problems"
fi
sync
poweroff -f

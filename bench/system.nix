# The benchmark's system: a NixOS-shaped toplevel whose closure has the size
# spread of a real one. Its packages are installed Debian packages, one store
# path each (imported by bench/closure.ts with nix-store --add); its kernel,
# initrd and init come from the demo system, whose closure it includes.
#
# `generation` changes one leaf path and the toplevel that refers to it: the
# benchmark's "one store path changed" rebuild.
{
  # A folder holding bin/busybox (the demo's bootstrap): the builder.
  bootstrap,
  # The demo system's toplevel, a store path.
  demo,
  # A JSON file: the list of the imported package store paths.
  packages,
  generation ? "0",
}:
let
  inherit (import ../assets/nix/busybox-run.nix { inherit bootstrap; }) run;
  demoSystem = builtins.storePath demo;
  packagePaths = map builtins.storePath (builtins.fromJSON (builtins.readFile packages));

  # One symlink per package, as NixOS's system-path has.
  systemPath = run "system-path" ''
    mkdir -p $out/packages
    for p in $paths; do ln -s $p $out/packages/; done
  '' { paths = packagePaths; };

  # A small leaf that changes with each generation (a NixOS /etc file, say).
  leaf = builtins.toFile "bench-generation" "generation ${generation}\n";
in
run "nixos-system-bench-${generation}" ''
  mkdir $out
  ln -s ${demoSystem}/kernel $out/kernel
  ln -s ${demoSystem}/initrd $out/initrd
  ln -s ${demoSystem} $out/demo
  ln -s ${systemPath} $out/sw
  ln -s ${leaf} $out/generation
  cp ${demoSystem}/init $out/init
  cp ${demoSystem}/kernel-params ${demoSystem}/system ${demoSystem}/nixos-version $out/
'' { }

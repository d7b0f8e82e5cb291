# Derivations without nixpkgs: each is a busybox shell script, built by a
# static busybox imported from this machine. Busybox prefers its own applets,
# so scripts need no PATH. Used by the demo system (assets/demo), the test
# fixtures and the benchmark's closure.
{
  # A folder holding bin/busybox, statically linked.
  bootstrap,
  system ? builtins.currentSystem,
}:
rec {
  busybox = builtins.path {
    path = bootstrap;
    name = "busybox-bootstrap";
  };

  # run NAME SCRIPT ATTRS: the derivation NAME that runs SCRIPT (sh -eu),
  # with ATTRS as its environment.
  run =
    name: script: attrs:
    derivation (
      {
        inherit name system;
        builder = "${busybox}/bin/busybox";
        args = [
          "sh"
          "-euc"
          script
        ];
      }
      // attrs
    );
}

# Lists store paths the same way at build time and in stage 2, so that stage 2
# can prove the netboot store is exactly what Nix built: one line per entry
# with its type, mode, size (files) or target (symlinks), then its name.
# Sizes of directories are left out: they differ between filesystems.
# Usage: sh verify.sh list PATH...
#        sh verify.sh sums PATH...   (sha256 of every regular file)
set -eu
export LC_ALL=C
what=$1
shift
case "$what" in
  list)
    find "$@" | sort | while IFS= read -r f; do
      if [ -L "$f" ]; then
        echo "l $(readlink "$f") :: $f"
      elif [ -d "$f" ]; then
        echo "d $(stat -c %a "$f") :: $f"
      else
        echo "f $(stat -c '%a %s' "$f") :: $f"
      fi
    done
    ;;
  sums)
    find "$@" -type f | sort | while IFS= read -r f; do
      sha256sum "$f"
    done
    ;;
  *)
    echo "verify.sh: unknown command $what" >&2
    exit 2
    ;;
esac

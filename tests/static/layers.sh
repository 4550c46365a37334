#!/bin/sh
# The dependency rule between the source folders (README, "Layout"):
#
#   format < sandbox < verifier < exporter < control < ops < service < cli
#
# A file may include headers of its own folder and of folders to its
# left, never of a folder to its right. A quoted include resolves to the
# including file's own folder first (as the compiler does), then to the
# first folder of the list that has the header.
set -u
cd "$(dirname "$0")/../.."
order="format sandbox verifier exporter control ops service cli"
rank() {
	i=0
	for d in $order; do
		[ "$d" = "$1" ] && { echo $i; return; }
		i=$((i + 1))
	done
	echo -1
}
bad=0
# One name per header: with one flat include path, two headers of the
# same name would make an include mean whichever folder comes first.
dups=$(for d in $order; do ls "$d"/*.h 2>/dev/null; done | xargs -n1 basename |
    sort | uniq -d)
for h in $dups; do
	echo "layers: \"$h\" exists in more than one folder:" $(ls */"$h")
	bad=1
done
for dir in $order; do
	mine=$(rank "$dir")
	for f in "$dir"/*.c "$dir"/*.h; do
		[ -e "$f" ] || continue
		for h in $(sed -n 's/^#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
			[ -e "$dir/$h" ] && continue
			owner=""
			for d in $order; do
				[ -e "$d/$h" ] && { owner=$d; break; }
			done
			if [ -z "$owner" ]; then
				echo "layers: $f includes \"$h\", which no source folder has"
				bad=1
			elif [ "$(rank "$owner")" -gt "$mine" ]; then
				echo "layers: $f ($dir) includes $owner/$h: $owner is above $dir"
				bad=1
			fi
		done
	done
done
[ "$bad" -eq 0 ] && echo "layers: ok ($order)"
exit "$bad"

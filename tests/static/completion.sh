#!/bin/sh
# The bash completion (completion/tenant-export.bash) offers each
# program's commands, and each command's options as its --help lists
# them (so also every option tests/static/options.sh checks), for both
# tenant-export and tenant-verify.
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${TEXP_BUILD:-$top/build}
command -v bash >/dev/null || { echo "completion: bash missing, skipped"; exit 0; }
exec bash -c '
. "$1/completion/tenant-export.bash"
fail=0
complete_line() {	# words...: what completing the last word offers
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_texp_complete "${COMP_WORDS[0]}"
	printf "%s\n" "${COMPREPLY[@]}"
}
want() {	# want DESCRIPTION WORD -- words...
	desc=$1 w=$2
	shift 3
	if complete_line "$@" | grep -qx -- "$w"; then
		echo "ok - $desc"
	else
		echo "not ok - $desc (no \"$w\" for: $*)"; fail=1
	fi
}
E=$2/tenant-export V=$2/tenant-verify
want "tenant-export commands" request -- "$E" re
want "tenant-export commands (late ones)" report -- "$E" rep
want "tenant-verify commands" extract -- "$V" ex
want "request options" --idempotency-key -- "$E" request --idem
want "run options include the request options" --since -- "$E" run --si
want "run options" --passphrase-out -- "$E" run --tenant x --passphrase-
want "keygen --cost" 3 -- "$E" keygen --cost ""
want "extract --format" csv -- "$V" extract --format c
want "verify options" --signers -- "$V" verify --signe
want "options after a value" --json -- "$E" lint --config x.conf --js
# every command of both programs completes at least --help
for p in "$E" "$V"; do
	for c in $(_texp_commands "$p"); do
		want "$(basename "$p") $c has options" --help -- "$p" "$c" --he
	done
done
[ "$fail" -eq 0 ] && echo "completion: ok" || { echo "completion: failed"; exit 1; }
' sh "$top" "$build"

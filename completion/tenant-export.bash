# bash completion for tenant-export and tenant-verify.
#
# The commands and their options are read from the programs' own --help
# (the "Commands:" list, then COMMAND --help), so completion never
# disagrees with what the installed version accepts. File arguments
# complete as files, --format as jsonl|csv|cbor, --cost as 1-4; nothing
# else is guessed (no job ids, tenants or keys are looked up).
# Installed as /usr/share/bash-completion/completions/tenant-export and,
# linked, .../tenant-verify.

_texp_commands()
{
	"$1" --help 2>/dev/null | awk '
		tolower($0) ~ /^commands:/ { on = 1; next }
		on && /^  [a-z]/ { print $1; next }
		on { exit }'
}

_texp_options()
{
	{ "$1" "$2" --help 2>/dev/null | grep -o -- '--[a-z][a-z0-9-]*'
	  echo --help; echo --version; } | sort -u
}

_texp_complete()
{
	local prog=$1 cur prev cmd i
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD-1]}
	cmd=
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-*) ;;
		*) cmd=${COMP_WORDS[i]}; break ;;
		esac
	done
	if [ -z "$cmd" ]; then
		COMPREPLY=($(compgen -W "$(_texp_commands "$prog") --help --version" -- "$cur"))
		return
	fi
	case $prev in
	--format)
		COMPREPLY=($(compgen -W "jsonl csv cbor" -- "$cur"))
		return ;;
	--cost)
		COMPREPLY=($(compgen -W "1 2 3 4" -- "$cur"))
		return ;;
	--config|--as|--passphrase-file|--identity|--signer|--signers|\
	--foreign-ids|--pubkey|--passphrase-out|--out|--html|--key|\
	--checkpoint|--checkpoint-key|--socket|--sign-only)
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	--to)
		COMPREPLY=($(compgen -d -- "$cur"))
		return ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(_texp_options "$prog" "$cmd")" -- "$cur"))
	else
		COMPREPLY=($(compgen -f -- "$cur"))
	fi
}

_tenant_export() { _texp_complete "${COMP_WORDS[0]}"; }
_tenant_verify() { _texp_complete "${COMP_WORDS[0]}"; }
complete -F _tenant_export tenant-export
complete -F _tenant_verify tenant-verify

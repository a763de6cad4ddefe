# bash completion for vgmo. The commands and options come from the
# program's own --help, so they never fall behind it.
#
# Installed by `make install` as share/bash-completion/completions/vgmo; or
# by hand: source completions/vgmo.bash

_vgmo_presets() { # _vgmo_presets VGMO COMMAND TITLE: "Title: a, b, c"
	"$1" "$2" --help 2>/dev/null | sed -n "s/^$3: //p" | tr -d ',' | tr ' ' '\n'
}

_vgmo() {
	local cur prev vgmo cmd words
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	vgmo=${COMP_WORDS[0]}
	if [[ $COMP_CWORD -eq 1 ]]; then
		words=$("$vgmo" --help 2>/dev/null |
			sed -n '/^Commands:/,/^$/s/^  \([a-z-]*\) .*/\1/p')
		mapfile -t COMPREPLY < <(compgen -W "$words help --help --version" -- "$cur")
		return
	fi
	cmd=${COMP_WORDS[1]}
	if [[ $cmd == help ]]; then
		words=$("$vgmo" --help 2>/dev/null |
			sed -n '/^Commands:/,/^$/s/^  \([a-z-]*\) .*/\1/p')
		mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
		return
	fi
	case $prev in
	--config | --token-file | --cacert | --tls-cert | --tls-key | \
		--auth-token-file | --nvml-library | --output | --markdown | \
		--plot | --trace | --check)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return
		;;
	--state-dir)
		mapfile -t COMPREPLY < <(compgen -d -- "$cur")
		return
		;;
	--backend) words="auto nvml sim" ;;
	--strategy) words="conservative balanced aggressive adaptive" ;;
	--format) words="table json csv" ;;
	--log-level) words="debug info warn error" ;;
	--enabled) words="true false" ;;
	--unit) words="tokens items" ;;
	--dtype) words="bf16 fp16 fp8" ;;
	--sim-workload) words="vlm none" ;;
	--sim-preset) words=$(_vgmo_presets "$vgmo" status "Simulated GPU presets") ;;
	--gpu) words=$(_vgmo_presets "$vgmo" plan "GPU presets") ;;
	--model) words=$(_vgmo_presets "$vgmo" plan "Model presets") ;;
	--fields)
		# a comma-separated list: complete the part after the last comma
		words=$("$vgmo" "$cmd" --fields help 2>/dev/null | cut -d' ' -f1)
		local done=""
		[[ $cur == *,* ]] && done=${cur%,*},
		compopt -o nospace 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -P "$done" -W "$words" -- "${cur##*,}")
		return
		;;
	*)
		words=""
		if [[ $cur == -* ]]; then
			words=$("$vgmo" "$cmd" --help 2>/dev/null |
				sed -n 's/^  \(-h, \)\{0,1\}\(--[a-z0-9-]*\).*/\2/p')
		fi
		;;
	esac
	mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
}

complete -F _vgmo vgmo

# bash completion for julierctl(8)                           -*- shell-script -*-
# Commands and options as julierctl has them (a test compares them with
# `julierctl --help`); service and backend names from a running julierd, asked
# with a one-second timeout, and nothing when it does not answer.

_julierctl_commands="status services backends drain undrain weight maint ready reload teardown flows which purge top"
_julierctl_global_options="-h --help --version --socket --json"

# The options of a command (its own, then --socket and --json, which may follow it).
_julierctl_command_options() {
    case $1 in
        flows) echo "-h --help --list --limit --after --socket --json" ;;
        teardown) echo "-h --help -y --yes --grace --socket --json" ;;
        top) echo "-h --help --interval --service -n --iterations --sort --socket --json" ;;
        reload) echo "-h --help --dry-run --socket --json" ;;
        *) echo "-h --help --socket --json" ;;
    esac
}

# julierd's answer to `julierctl --json ARGS...`, or nothing after one second.
_julierctl_ask() {
    local -a socket=()
    [[ -n $_julierctl_socket ]] && socket=(--socket "$_julierctl_socket")
    timeout 1 "${_julierctl_program:-julierctl}" "${socket[@]}" --json "$@" 2>/dev/null </dev/null
}

# The values of one key of the JSON julierctl printed ("key": "value" lines).
_julierctl_values() {
    sed -n 's/^ *"'"$1"'": "\([^"]*\)",\{0,1\}$/\1/p'
}

_julierctl() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=""
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
    COMPREPLY=()

    # Arguments of options that take one.
    case $prev in
        --socket)
            COMPREPLY=($(compgen -f -- "$cur"))
            return
            ;;
        --limit | --after | -n | --iterations) return ;;
        --grace)
            COMPREPLY=($(compgen -W "0s 5s 10s 30s 1m" -- "$cur"))
            return
            ;;
        --interval)
            COMPREPLY=($(compgen -W "500ms 1s 2s 5s" -- "$cur"))
            return
            ;;
        --sort)
            COMPREPLY=($(compgen -W "rate catalogue" -- "$cur"))
            return
            ;;
    esac

    # The command, its positional arguments and the --socket given so far.
    local command="" _julierctl_socket="" _julierctl_program=${COMP_WORDS[0]} i word
    local -a args=()
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        case $word in
            --socket)
                _julierctl_socket=${COMP_WORDS[i + 1]}
                ((i++))
                ;;
            --limit | --after | --grace | --interval | --service | --sort | -n | --iterations) ((i++)) ;;
            -*) ;;
            *)
                if [[ -z $command ]]; then command=$word; else args+=("$word"); fi
                ;;
        esac
    done
    # julierctl as the user typed it, when it can be run.
    type -P -- "$_julierctl_program" >/dev/null 2>&1 || _julierctl_program=julierctl

    if [[ -z $command ]]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "$_julierctl_global_options" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$_julierctl_commands" -- "$cur"))
        fi
        return
    fi
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$(_julierctl_command_options "$command")" -- "$cur"))
        return
    fi

    local words=""
    if [[ $command == top && $prev == --service ]]; then
        words=$(_julierctl_ask services | _julierctl_values name)
        [[ -n $words ]] && COMPREPLY=($(compgen -W "$words" -- "$cur"))
        return
    fi
    case $command:${#args[@]} in
        backends:0 | drain:0 | undrain:0 | weight:0 | maint:0 | ready:0 | flows:0 | purge:0)
            words=$(_julierctl_ask services | _julierctl_values name)
            ;;
        drain:1 | undrain:1 | weight:1 | maint:1 | ready:1 | flows:1 | purge:1)
            words=$(_julierctl_ask backends "${args[0]}" | _julierctl_values address)
            ;;
        which:0) words="tcp udp" ;;
    esac
    [[ -n $words ]] && COMPREPLY=($(compgen -W "$words" -- "$cur"))
}

complete -F _julierctl julierctl

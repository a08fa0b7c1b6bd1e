# bash completion for julierd(8)                             -*- shell-script -*-
# Options as julierd has them (a test compares them with `julierd --help`).

_julierd_options="-h --help --version -c --config --check --against-running --socket --log-level --pin-dir --foreground"

_julierd() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=""
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
    COMPREPLY=()
    case $prev in
        -c | --config | --check)
            # Catalogues, and directories to find them in.
            COMPREPLY=($(compgen -f -X '!*.y*ml' -- "$cur") $(compgen -d -- "$cur"))
            return
            ;;
        --log-level)
            COMPREPLY=($(compgen -W "trace debug info warning error critical off" -- "$cur"))
            return
            ;;
        --pin-dir)
            COMPREPLY=($(compgen -d -- "$cur"))
            return
            ;;
        --socket)
            COMPREPLY=($(compgen -f -- "$cur"))
            return
            ;;
    esac
    COMPREPLY=($(compgen -W "$_julierd_options" -- "$cur"))
}

complete -F _julierd julierd

# zsh_complete.zsh DIR LINE: the matches zsh's completion system offers for LINE
# (TAB at its end) with the completion functions of DIR first in fpath, one per
# line, sorted. An interactive zsh -f runs in a pseudo-terminal (zsh/zpty);
# compadd is wrapped to print what it is given.
zmodload zsh/zpty
dir=$1 line=$2
zpty z zsh -f -i
zpty -w z "PS1=''; fpath=($dir \$fpath); autoload -U compinit; compinit -u -D"
zpty -w z "zstyle ':completion:*' list-prompt ''; zstyle ':completion:*' menu no; LISTMAX=100000"
zpty -w z "compadd() { builtin compadd -O __hits \"\$@\"; print -l -- '' '<<' \$__hits '>>' >/dev/tty; builtin compadd \"\$@\" }"
zpty -w z "print RE''ADY"
out=""
while zpty -r z chunk; do out+=$chunk; [[ $out == *READY* ]] && break; done
zpty -n -w z "$line"$'\t'
out=""
for i in {1..40}; do  # until compadd printed something and nothing more comes
  sleep 0.1
  while zpty -rt z chunk; do out+=$chunk; done
  [[ $out == *'>>'* && $i -ge 15 ]] && break
done
zpty -d z
print -r -- "$out" | tr -d '\r' | sed -n '/^<</,/^>>/p' | grep -v '^<<$\|^>>$' | sort -u

#!/usr/bin/env bash
# Build the Debian package, inspect it, install it on this machine, validate the
# shipped catalogue with the installed julierd, then remove and purge it cleanly.
set -euo pipefail
build=$1
work=$(mktemp -d)
installed=0
cleanup() {
  [ $installed -eq 1 ] && dpkg -P julier >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

if dpkg-query -W -f='${Status}' julier 2>/dev/null | grep -q 'ok installed'; then
  echo "SKIP: a julier package is installed on this machine; not touching it"
  exit 0
fi

(cd "$build" && cpack -G DEB -B "$work" >/dev/null)
deb=$(ls "$work"/julier_*.deb)
echo "built $(basename "$deb")"

fail() { echo "FAIL: $*"; exit 1; }
info=$(dpkg-deb -I "$deb")
grep -q '^ Package: julier$' <<<"$info" || fail "package name"
grep -q '^ Depends:.*libbpf1' <<<"$info" || fail "Depends lacks libbpf1 (shlibdeps): $info"
grep -q '^ Depends:.*libyaml-cpp' <<<"$info" || fail "Depends lacks libyaml-cpp"
# julierd's HTTP server is its own: prometheus-cpp's core only, no civetweb.
grep -q '^ Depends:.*libprometheus-cpp-core' <<<"$info" || fail "Depends lacks libprometheus-cpp-core"
! grep -Eq '^ Depends:.*(libprometheus-cpp-pull|civetweb)' <<<"$info" || fail "Depends names the pull server: $info"
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | grep -qx /etc/julier/julier.yaml || fail "conffile"

contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/sbin/julierd ./usr/bin/julierctl ./etc/julier/julier.yaml \
         ./usr/lib/systemd/system/julierd.service ./usr/share/julier/julier.json \
         ./usr/share/man/man8/julierd.8 ./usr/share/man/man8/julierctl.8 \
         ./usr/share/man/man5/julier.yaml.5 ./usr/sbin/julier-decap ./usr/share/man/man8/julier-decap.8 \
         ./usr/share/doc/julier/examples/decap.yaml ./usr/lib/systemd/system/julier-decap.service \
         ./usr/share/bash-completion/completions/julierctl ./usr/share/bash-completion/completions/julierd \
         ./usr/share/zsh/vendor-completions/_julierctl ./usr/share/zsh/vendor-completions/_julierd; do
  grep -qx "$f" <<<"$contents" || fail "$f missing from the package"
done

dpkg -i "$deb" >/dev/null
installed=1
getent group julier >/dev/null || fail "the julier group was not created"
/usr/sbin/julierd --check /etc/julier/julier.yaml || fail "installed julierd rejects the shipped catalogue"
systemd-analyze verify /usr/lib/systemd/system/julierd.service || fail "installed unit does not verify"
# The installed bash completion completes the installed julierctl.
got=$(bash -c 'source /usr/share/bash-completion/completions/julierctl
  COMP_WORDS=(julierctl fl) COMP_CWORD=1; _julierctl; echo "${COMPREPLY[*]}"')
[ "$got" = flows ] || fail "installed bash completion: julierctl fl<TAB> gives '$got'"
systemd-analyze verify /usr/lib/systemd/system/julier-decap.service || fail "installed decapsulator unit does not verify"
/usr/sbin/julier-decap check -c /usr/share/doc/julier/examples/decap.yaml >/dev/null ||
  fail "installed julier-decap rejects the shipped example"

dpkg -r julier >/dev/null
left=$(dpkg -L julier 2>/dev/null | while read -r f; do [ -f "$f" ] && echo "$f"; done || true)
[ "$left" = /etc/julier/julier.yaml ] || fail "after remove, files left: '$left' (want only the conffile)"
dpkg -P julier >/dev/null
installed=0
[ ! -e /etc/julier/julier.yaml ] || fail "the conffile survived purge"
[ ! -e /usr/sbin/julierd ] || fail "julierd survived purge"
echo "package ok"

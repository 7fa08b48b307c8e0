#!/bin/sh
# The fidelity suite (fidelity.py) in a network namespace of its own.
# FID_PART (v4, v6, name) picks the address form; see fidelity.py.
# Skips (exit 77, with the reason) where it cannot run: not root, no
# unshare/iptables/ip6tables/ip, or a client program missing -- except on CI
# (CI set in the environment), where a missing client fails the test: the
# clients come from ci/bootstrap, and a suite that silently shrank would
# prove nothing.
set -u
: "${INJ_SHIM:?}"
FID_DIR=$(cd "$(dirname "$0")" && pwd)
export FID_DIR
skip() { echo "SKIP: fidelity: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (unshare -n, iptables inside the namespace)"
for c in unshare ip iptables ip6tables timeout; do
  command -v $c >/dev/null 2>&1 || skip "$c not installed"
done
missing=
for c in curl wget python3 node openssl nc ncat socat git ssh psql redis-cli perl; do
  command -v $c >/dev/null 2>&1 || missing="$missing $c"
done
if [ -n "$missing" ]; then
  [ -n "${CI:-}" ] && { echo "FAIL: fidelity: clients missing on CI:$missing (ci/bootstrap installs them)"; exit 1; }
  skip "clients not installed:$missing (ci/bootstrap installs them)"
fi
unshare -n true 2>/dev/null || skip "unshare -n is not permitted here"
# Everything below runs in the new namespaces: iptables rules,
# tcp_syn_retries and the private resolv.conf / hosts (bind-mounted by
# fidelity.py after making every mount private) never touch the host's; the
# namespaces die with the run.  Without a mount namespace (or mount) the DNS
# and name events are skipped with the reason and the others still run.
if command -v mount >/dev/null 2>&1 && unshare -n -m sh -c 'mount --make-rprivate /' 2>/dev/null; then
  exec unshare -n -m python3 "$FID_DIR/fidelity.py"
fi
FID_NO_DNS="unshare -m / mount --make-rprivate is not permitted here (or no mount)" \
  exec unshare -n python3 "$FID_DIR/fidelity.py"

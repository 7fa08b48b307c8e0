#!/bin/sh
# The fidelity suite (fidelity.py) in a network namespace of its own.
# Skips (exit 77, with the reason) where it cannot run: not root, no
# unshare/iptables/ip6tables/ip, or a client program missing.
set -u
: "${INJ_SHIM:?}"
FID_DIR=$(cd "$(dirname "$0")" && pwd)
export FID_DIR
skip() { echo "SKIP: fidelity: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (unshare -n, iptables inside the namespace)"
for c in unshare ip iptables ip6tables curl wget python3 node; do
  command -v $c >/dev/null 2>&1 || skip "$c not installed"
done
unshare -n true 2>/dev/null || skip "unshare -n is not permitted here"
# Everything below runs in the new namespaces: iptables rules,
# tcp_syn_retries and the private resolv.conf (bind-mounted by fidelity.py
# after making every mount private) never touch the host's; the namespaces
# die with the run.  Without a mount namespace (or mount) the DNS events
# are skipped with the reason and the connect events still run.
if command -v mount >/dev/null 2>&1 && unshare -n -m sh -c 'mount --make-rprivate /' 2>/dev/null; then
  exec unshare -n -m python3 "$FID_DIR/fidelity.py"
fi
FID_NO_DNS="unshare -m / mount --make-rprivate is not permitted here (or no mount)" \
  exec unshare -n python3 "$FID_DIR/fidelity.py"

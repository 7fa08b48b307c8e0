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
# Everything below runs in the new namespace: iptables rules and
# tcp_syn_retries never touch the host's; the namespace dies with the run.
exec unshare -n python3 "$FID_DIR/fidelity.py"

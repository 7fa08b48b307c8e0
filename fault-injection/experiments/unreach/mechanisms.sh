#!/bin/sh
# Issue 22 item 1: which mechanisms reproduce the real event's poll sequence
# for a non-blocking IPv4 connect answered by an ICMP net/host unreachable.
# Needs root (unshare -n, iptables); every case runs in a network namespace
# it makes, so nothing is left behind.  Usage: mechanisms.sh [shim.so]
set -u
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cc -O1 -Wall -o "$work/probe" "$here/probe.c" || exit 2
chmod 755 "$work" "$work/probe"
P="$work/probe"
ns() { unshare -n sh -c "ip link set lo up; echo 1 >/proc/sys/net/ipv4/tcp_syn_retries; $1"; }
# Unprivileged (nobody) in a user + network namespace of its own.
userns() { setpriv --reuid=65534 --regid=65534 --clear-groups unshare -r -n sh -c "$1"; }
# A veth pair whose far end forwards the SYN into a table that cannot route
# it: the kernel's forwarding path answers with ICMP net unreachable (throw)
# or host unreachable (unreachable route).  No netfilter.
veth() {
  printf "%s\n" "ip link set lo up; ip link add va type veth peer name vb && ip link set va up && ip link set vb up
ip addr add 10.77.0.1/24 dev va; echo 1 >/proc/sys/net/ipv4/ip_forward
echo 0 >/proc/sys/net/ipv4/conf/all/rp_filter; echo 0 >/proc/sys/net/ipv4/conf/vb/rp_filter
echo 1 >/proc/sys/net/ipv4/conf/vb/accept_local; echo 1 >/proc/sys/net/ipv4/tcp_syn_retries
ip neigh add 10.77.0.9 lladdr \$(ip -o link show vb | sed -n 's/.*link\\/ether \\([0-9a-f:]*\\).*/\\1/p') dev va nud permanent
ip rule add iif lo lookup 200 pref 90; ip route add 198.18.0.0/24 via 10.77.0.9 dev va table 200
ip rule add iif vb lookup 100 pref 100; ip route add $1 198.18.0.0/24 table 100"
}
echo "== A real event (fidelity suite): iptables OUTPUT REJECT icmp-net-unreachable, 127.0.0.1:7001"
ns "iptables -A OUTPUT -o lo -p tcp --dport 7001 --syn -j REJECT --reject-with icmp-net-unreachable; $P 127.0.0.1 7001 early"
echo "== A' the same, icmp-host-unreachable, one reserved address 127.254.0.1:7002"
ns "iptables -A OUTPUT -o lo -d 127.254.0.1 -p tcp --dport 7002 --syn -j REJECT --reject-with icmp-host-unreachable; $P 127.254.0.1 7002 early"
echo "== A'' REJECT in INPUT on lo instead of OUTPUT"
ns "iptables -A INPUT -i lo -p tcp --dport 7003 --syn -j REJECT --reject-with icmp-host-unreachable; $P 127.0.0.1 7003 early"
for t in unreachable prohibit blackhole throw; do
  echo "== B route of type $t"
  ns "ip route add $t 192.0.2.1/32; $P 192.0.2.1 80 early"
done
echo "== C veth + policy routing, throw (net), unprivileged user+net namespace"
userns "$(veth throw); $P 198.18.0.5 80 early"
echo "== C' veth + policy routing, unreachable (host), unprivileged user+net namespace"
userns "$(veth unreachable); $P 198.18.0.5 80 early"
echo "== C'' socket made in C's namespace, passed by SCM_RIGHTS to a process outside it"
printf '%s\n' "$(veth throw)" >"$work/net.sh"; printf '%s\n' "$(veth unreachable)" >"$work/host.sh"
python3 "$here/pass_fd.py" "$work/net.sh"; python3 "$here/pass_fd.py" "$work/host.sh"
if [ -n "${1:-}" ]; then
  for k in net host; do
    echo "== S the shim today: unreachable($k)"
    ns "FDSOAK_INJECT='connect:port=7009:do=unreachable($k)' LD_PRELOAD=$1 $P 127.0.0.1 7009 early"
  done
fi

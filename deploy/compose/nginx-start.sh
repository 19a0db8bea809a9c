#!/bin/sh
# Why: nginx needs the DNS server's address to re-resolve the ingress replicas, and it differs
# between Docker (127.0.0.11) and podman (the network's gateway): take it from the container's
# own /etc/resolv.conf, then run nginx in the foreground.
set -eu
ns=$(awk '$1 == "nameserver" && $2 !~ /:/ { print $2; exit }' /etc/resolv.conf)
[ -n "$ns" ] || { echo "nginx-start: no IPv4 nameserver in /etc/resolv.conf" >&2; exit 1; }
echo "resolver $ns valid=5s ipv6=off;" >/tmp/nginx-resolver.conf
exec nginx -e stderr -c /etc/nginx/singularity/nginx.conf -g 'daemon off;'

#!/usr/bin/env bash
# Why: both Dockerfiles start FROM docker.io/library/debian:bookworm-slim, and this machine (and CI)
# reaches no container registry, only Debian's package mirror. So the base image is made here the
# way Debian's own images are made (debootstrap --variant=minbase, then the slim trimming), imported
# under the same name, and its tarball cached so a second run in the same tree takes seconds.
# It also writes the containers.conf that podman needs on this kind of machine (runc, cgroupfs, no
# default ulimits), only when running as root and only when no such file exists yet.
#
#   scripts/image-base.sh            make sure the base image exists (build or import it)
#   SG_IMAGE_CACHE=DIR               where the tarball is cached (default: .cache/images)
#   SG_DEBIAN_MIRROR=URL             mirror for debootstrap (default: the machine's own apt mirror)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BASE_IMAGE=docker.io/library/debian:bookworm-slim
CACHE=${SG_IMAGE_CACHE:-$ROOT/.cache/images}
TARBALL=$CACHE/debian-bookworm-slim.tar

log() { printf '[image-base] %s\n' "$*" >&2; }

# podman/buildah on a machine without systemd and with a VM kernel: runc, cgroupfs, and no
# default ulimits (the stock nofile ulimit cannot be raised here). Idempotent; never overwrites.
containers_conf() {
  local f=/etc/containers/containers.conf
  [ "$(id -u)" -eq 0 ] || return 0
  [ -e "$f" ] && return 0
  mkdir -p /etc/containers
  cat >"$f" <<'EOF'
# Written by singularity scripts/image-base.sh: podman on a root VM without systemd.
[containers]
default_ulimits = []

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
  log "wrote $f"
}

# The machine's own Debian mirror (first URIs: line of its deb822 sources, else sources.list).
host_mirror() {
  local m=""
  if compgen -G "/etc/apt/sources.list.d/*.sources" >/dev/null; then
    m=$(awk '/^URIs:/ && $2 ~ /debian\/?$/ {print $2; exit}' /etc/apt/sources.list.d/*.sources)
  fi
  if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
    m=$(awk '$1=="deb" && $2 !~ /^\[/ && $3=="bookworm" {print $2; exit}' /etc/apt/sources.list)
  fi
  echo "${m:-http://deb.debian.org/debian}"
}

containers_conf
if podman image exists "$BASE_IMAGE" 2>/dev/null; then
  exit 0
fi
mkdir -p "$CACHE"
if [ ! -s "$TARBALL" ]; then
  command -v debootstrap >/dev/null || { log "debootstrap missing: SG_DEPS=deploy scripts/deps.sh"; exit 2; }
  mirror=${SG_DEBIAN_MIRROR:-$(host_mirror)}
  rootfs=$(mktemp -d "$CACHE/rootfs.XXXXXX")
  trap 'rm -rf "$rootfs"' EXIT
  log "debootstrap --variant=minbase bookworm from $mirror (a few minutes)"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$CACHE/debootstrap.log" 2>&1 ||
    { tail -20 "$CACHE/debootstrap.log" >&2; exit 1; }
  # The slim trimming Debian's images do: no docs, man pages or locales now or in later installs.
  mkdir -p "$rootfs/etc/dpkg/dpkg.cfg.d" "$rootfs/etc/apt/apt.conf.d"
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
EOF
  cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
    >"$rootfs/etc/apt/apt.conf.d/docker-no-recommends"
  # Image builds use this machine's apt mirror as it is configured here (sources and options such
  # as a pinned snapshot's Check-Valid-Until), so they install exactly what the host would.
  rm -f "$rootfs/etc/apt/sources.list"
  if compgen -G "/etc/apt/sources.list.d/*.sources" >/dev/null; then
    cp /etc/apt/sources.list.d/*.sources "$rootfs/etc/apt/sources.list.d/"
  else
    printf 'deb %s bookworm main\n' "$mirror" >"$rootfs/etc/apt/sources.list"
  fi
  for f in /etc/apt/apt.conf.d/*; do
    case "$(basename "$f")" in
      99*) cp "$f" "$rootfs/etc/apt/apt.conf.d/" ;;
    esac
  done
  rm -rf "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
    "$rootfs"/usr/share/locale/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
    "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log "$rootfs"/var/log/apt/* "$rootfs"/tmp/* \
    "$rootfs"/dev/* 2>/dev/null || true
  tar --numeric-owner -C "$rootfs" -cf "$TARBALL.part" .
  mv "$TARBALL.part" "$TARBALL"
  rm -rf "$rootfs"
  trap - EXIT
  log "cached $TARBALL ($(du -h "$TARBALL" | cut -f1))"
fi
podman import --change 'CMD ["bash"]' "$TARBALL" "$BASE_IMAGE" >/dev/null
log "imported $BASE_IMAGE"

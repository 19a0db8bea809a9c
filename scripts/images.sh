#!/usr/bin/env bash
# Why: builds the two images (Dockerfile.ingress, Dockerfile.worker) for real with buildah, on a
# machine with no Docker engine and no registry: the base image comes from scripts/image-base.sh,
# apt inside the builds uses this machine's mirror, and --layers lets the identical builder stage
# of both Dockerfiles compile once. Prints each image's size.
#
#   scripts/images.sh                 build both: localhost/singularity-{ingress,worker}:VERSION and :latest
#   scripts/images.sh ingress         only one of them
#   SG_IMAGE_PREFIX=localhost/        repository prefix (e.g. ghcr.io/singularity-app/)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PREFIX=${SG_IMAGE_PREFIX:-localhost/}
VERSION=$(sed -n 's/^project(singularity VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
REVISION=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)
WHICH=("$@")
[ ${#WHICH[@]} -gt 0 ] || WHICH=(ingress worker)

log() { printf '[images] %s\n' "$*" >&2; }

command -v buildah >/dev/null || { log "buildah missing: SG_DEPS=deploy scripts/deps.sh"; exit 2; }
scripts/image-base.sh

for name in "${WHICH[@]}"; do
  case "$name" in ingress|worker) ;; *) log "unknown image $name (ingress|worker)"; exit 2 ;; esac
  image="${PREFIX}singularity-$name"
  log "building $image:$VERSION (revision $REVISION)"
  start=$(date +%s)
  # chroot isolation: no nested container runtime needed; the host network reaches the apt mirror.
  buildah bud --isolation chroot --format docker --layers --pull=never \
    --build-arg SG_VERSION="$VERSION" --build-arg SG_REVISION="$REVISION" --build-arg SG_CREATED="$CREATED" \
    -f "Dockerfile.$name" -t "$image:$VERSION" -t "$image:latest" "$ROOT" >"${SG_IMAGE_LOG_DIR:-/tmp}/sg-image-$name.log" 2>&1 ||
    { tail -40 "${SG_IMAGE_LOG_DIR:-/tmp}/sg-image-$name.log" >&2; log "build of $image failed"; exit 1; }
  size=$(podman image inspect --format '{{.Size}}' "$image:$VERSION")
  log "built $image:$VERSION in $(( $(date +%s) - start ))s: $(( size / 1000 / 1000 )) MB ($size bytes)"
done

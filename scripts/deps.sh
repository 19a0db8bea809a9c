#!/usr/bin/env bash
# Why: a fresh Debian 12 machine has none of our libraries or servers; the two README commands
# call this first so they work there as root with nothing but this repository.
# Installs only what is missing; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PKGS=(build-essential cmake ninja-build pkg-config git ca-certificates curl python3
  libevent-dev libhiredis-dev libjson-c-dev libssl-dev libcurl4-openssl-dev libpq-dev
  libcmocka-dev libyaml-dev zlib1g-dev libisal-dev
  redis-server redis-tools postgresql-15 postgresql-client-15)
APT_PKGS+=(redis-sentinel)  # tests/integration/redis_failover.sh: the sentinels (redis-server --sentinel)
APT_PKGS+=(pgbouncer)  # worker tests: PgBouncer in transaction mode
APT_PKGS+=(clang-format-14)  # scripts/check-style.sh (ctest check_style)
APT_PKGS+=(libhyperscan-dev libpcre2-dev)  # the secret rules: Hyperscan prefilter, PCRE2 regexes
command -v npm >/dev/null || APT_PKGS+=(nodejs npm)
# Optional groups: fuzz (clang + libFuzzer), bench (wrk, nginx), deploy (buildah, podman, ...)
case " ${SG_DEPS:-} " in *" fuzz "*) APT_PKGS+=(clang-14 libclang-rt-14-dev llvm-14) ;; esac
case " ${SG_DEPS:-} " in *" bench "*) APT_PKGS+=(wrk nginx-light hyperfine time) ;; esac
case " ${SG_DEPS:-} " in *" bench "*) APT_PKGS+=(cloc xz-utils linux-source-6.1 glibc-source) ;; esac  # analysis
case " ${SG_DEPS:-} " in *" deploy "*) APT_PKGS+=(buildah podman podman-compose runc debootstrap golang-go golang-github-containernetworking-plugin-dnsname) ;; esac

missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing packages: ${missing[*]} (run as root to install them)" >&2
    exit 2
  fi
  echo "deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's redis-server and postgresql packages start machine-wide services; ours start their own.

# gitleaks, the oracle the secret rules are tested against (tests/integration/an_secrets_oracle.sh),
# built with the Go toolchain when there is one; the test says so when either is missing.
if command -v go >/dev/null && ! command -v gitleaks >/dev/null &&
  [ ! -x "$(go env GOPATH)/bin/gitleaks" ]; then
  echo "deps: go install gitleaks" >&2
  go install github.com/zricethezav/gitleaks/v8@v8.30.1
fi

# npm packages the tests use (GitHub's webhook examples, its reference signing code, its OpenAPI
# description, Kubernetes schemas): tests/package.json, installed into tests/node_modules.
if [ -z "${SG_NO_NPM:-}" ] && [ -f tests/package.json ]; then
  if [ ! -d tests/node_modules ] || [ tests/package.json -nt tests/node_modules/.sg-stamp ]; then
    echo "deps: npm install (tests/package.json)" >&2
    (cd tests && npm install --no-audit --no-fund --loglevel=error >/dev/null && touch node_modules/.sg-stamp)
  fi
fi

# tokei, the line counter the analysis engine's counts are compared with (tests/integration/
# acceptance.sh; scripts/compare-tokei.sh): the version whose language table the engine is
# generated from (worker/analysis/gen_languages.py). Cargo builds it once; afterwards this is a
# version check. A test tool like the npm packages, so SG_NO_NPM (running, not testing) skips it.
TOKEI_VERSION=15
PATH=$PATH:$HOME/.cargo/bin
if [ -z "${SG_NO_NPM:-}" ] && ! tokei --version 2>/dev/null | grep -q "^tokei $TOKEI_VERSION\."; then
  if ! command -v cargo >/dev/null; then
    echo "deps: tokei needs cargo (Rust's package manager), which this machine lacks" >&2
    exit 1
  fi
  echo "deps: cargo install tokei $TOKEI_VERSION (a few minutes, once)" >&2
  cargo install --quiet --locked tokei --version "^$TOKEI_VERSION"
fi

# Deploy-test tools (SG_DEPS=deploy): Helm and actionlint with `go install`, cfn-lint from PyPI in
# a venv of its own, tests/deploy's npm schema packages; the pinned versions and helpers are those
# of tests/deploy/lib.sh, so the tests and this script never disagree.
case " ${SG_DEPS:-} " in *" deploy "*)
  (
    SG_SOURCE_DIR=$(pwd)
    . tests/deploy/lib.sh
    sg_ensure_helm >/dev/null && sg_ensure_actionlint >/dev/null && sg_ensure_cfn_lint >/dev/null &&
      { [ -n "${SG_NO_NPM:-}" ] || sg_ensure_deploy_npm; }
  ) || { echo "deps: deploy-test tools failed to install" >&2; exit 1; }
  ;;
esac

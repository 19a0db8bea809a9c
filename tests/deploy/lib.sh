#!/usr/bin/env bash
# Why: the deploy tests run on a fresh CI machine that has Go, Node and Debian's packages but no
# Helm and no npm schema packages. These helpers install them the first time (Helm with
# `go install`, pinned, cached in ~/go/bin; the npm packages into tests/deploy/node_modules) and
# are no-ops afterwards. Source after tests/lib/servers.sh.

SG_HELM_VERSION=v3.16.4
# Kubernetes version Helm assumes when no cluster is asked (what `make build` stamps into a
# released helm; `go install` alone would leave the ancient v1.20 default).
SG_KUBE_MINOR=31

# A Go toolchain new enough for Helm 3.16 (1.22+): Debian 12's golang-go is 1.19, so the
# machine's own Go in /usr/local/go wins when PATH lists Debian's first. Prints its path.
sg_go() {
  local g v
  for g in "$(command -v go 2>/dev/null)" /usr/local/go/bin/go "$HOME"/sdk/go*/bin/go; do
    [ -n "$g" ] && [ -x "$g" ] || continue
    v=$("$g" env GOVERSION 2>/dev/null | sed -n 's/^go1\.\([0-9]*\).*/\1/p')
    if [ -n "$v" ] && [ "$v" -ge 22 ]; then echo "$g"; return 0; fi
  done
  return 1
}

# Prints the helm binary to use, installing it when missing or of another version.
sg_ensure_helm() {
  local gobin go helm
  go=$(sg_go) || { echo "sg_ensure_helm: no Go 1.22+ toolchain (Helm $SG_HELM_VERSION needs one)" >&2; return 1; }
  gobin=$("$go" env GOBIN 2>/dev/null || true)
  [ -n "$gobin" ] || gobin="$("$go" env GOPATH 2>/dev/null || echo "$HOME/go")/bin"
  helm="$gobin/helm"
  if [ -x "$helm" ] && "$helm" version --template '{{.Version}}' 2>/dev/null | grep -qx "$SG_HELM_VERSION"; then
    echo "$helm"
    return 0
  fi
  echo "installing helm $SG_HELM_VERSION with go install (a few minutes, once)" >&2
  local ld="-X helm.sh/helm/v3/internal/version.version=$SG_HELM_VERSION"
  ld+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$SG_KUBE_MINOR"
  ld+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$SG_KUBE_MINOR"
  (cd / && GOFLAGS=-mod=mod GOBIN="$gobin" timeout 1500 "$go" install -ldflags "$ld" "helm.sh/helm/v3/cmd/helm@$SG_HELM_VERSION") >&2 ||
    { echo "sg_ensure_helm: go install failed" >&2; return 1; }
  echo "$helm"
}

# Installs tests/deploy's npm packages (Kubernetes/KEDA/prometheus-operator models, yaml).
sg_ensure_deploy_npm() {
  local dir="$SG_SOURCE_DIR/tests/deploy"
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package.json" -nt "$dir/node_modules/.sg-stamp" ]; then
    echo "npm install in tests/deploy" >&2
    (cd "$dir" && timeout 600 npm install --no-audit --no-fund --loglevel=error >&2 && touch node_modules/.sg-stamp) ||
      { echo "sg_ensure_deploy_npm: npm install failed" >&2; return 1; }
  fi
}

# sg_expect_fail NAME CMD...: the command must fail (a check that the check can fail).
sg_expect_fail() {
  local name=$1; shift
  if "$@" >"$SG_TMP/expect-fail.out" 2>&1; then
    SG_FAILED=$((SG_FAILED+1)); echo "not ok - $name (succeeded but should have failed)"
  else
    SG_PASSED=$((SG_PASSED+1)); echo "ok - $name"
  fi
}

# The deploy group of scripts/deps.sh (buildah, podman, runc, debootstrap, the CNI dnsname
# plugin) when any of it is missing, so `scripts/test.sh -L deploy` works on a fresh machine too.
sg_ensure_deploy_deps() {
  if ! command -v buildah >/dev/null || ! command -v podman >/dev/null || ! command -v debootstrap >/dev/null ||
     [ ! -e /usr/lib/cni/dnsname ]; then
    SG_DEPS=deploy SG_NO_NPM=1 "$SG_SOURCE_DIR/scripts/deps.sh" >&2
  fi
}

# podman-compose from PyPI, pinned, in its own venv: Debian's 1.0.3 ignores network_mode,
# --scale and depends_on conditions, which the compose test relies on. Prints the binary.
SG_PODMAN_COMPOSE_VERSION=1.6.0
sg_ensure_podman_compose() {
  local venv="${XDG_CACHE_HOME:-$HOME/.cache}/singularity/podman-compose-$SG_PODMAN_COMPOSE_VERSION"
  if [ ! -x "$venv/bin/podman-compose" ]; then
    echo "installing podman-compose $SG_PODMAN_COMPOSE_VERSION (PyPI) into $venv" >&2
    python3 -m venv "$venv" >&2 && timeout 600 "$venv/bin/pip" install -q "podman-compose==$SG_PODMAN_COMPOSE_VERSION" >&2 ||
      { echo "sg_ensure_podman_compose: install failed" >&2; rm -rf "$venv"; return 1; }
  fi
  echo "$venv/bin/podman-compose"
}

# HTTP status of a GET to a loopback URL (000 when nothing answers).
sg_http_status() { curl -s -o /dev/null -m 5 -w '%{http_code}' "$1" || true; }
# sg_http_is URL CODE: true when a GET answers CODE (usable with sg_wait_for).
sg_http_is() { [ "$(sg_http_status "$1")" = "$2" ]; }

# sg_signed_post URL SECRET EVENT DELIVERY BODY: a webhook signed as GitHub signs it (openssl HMAC).
sg_signed_post() {
  local sig
  sig=$(printf '%s' "$5" | openssl dgst -sha256 -hmac "$2" | awk '{print $NF}')
  curl -s -m 10 -w '\n%{http_code}' -H "X-GitHub-Event: $3" -H "X-GitHub-Delivery: $4" \
    -H "X-Hub-Signature-256: sha256=$sig" -H 'Content-Type: application/json' --data-binary "$5" "$1"
}

# cfn-lint (PyPI), pinned, in its own venv, for the ECS template. Prints the binary.
SG_CFN_LINT_VERSION=1.51.0
sg_ensure_cfn_lint() {
  local venv="${XDG_CACHE_HOME:-$HOME/.cache}/singularity/cfn-lint-$SG_CFN_LINT_VERSION"
  if [ ! -x "$venv/bin/cfn-lint" ]; then
    echo "installing cfn-lint $SG_CFN_LINT_VERSION (PyPI) into $venv" >&2
    python3 -m venv "$venv" >&2 && timeout 600 "$venv/bin/pip" install -q "cfn-lint==$SG_CFN_LINT_VERSION" >&2 ||
      { echo "sg_ensure_cfn_lint: install failed" >&2; rm -rf "$venv"; return 1; }
  fi
  echo "$venv/bin/cfn-lint"
}

# actionlint, pinned, with `go install` (cached in Go's bin directory), for .github/workflows.
SG_ACTIONLINT_VERSION=v1.7.12
sg_ensure_actionlint() {
  local go gobin
  go=$(sg_go) || { echo "sg_ensure_actionlint: no Go 1.22+ toolchain" >&2; return 1; }
  gobin=$("$go" env GOBIN 2>/dev/null || true)
  [ -n "$gobin" ] || gobin="$("$go" env GOPATH 2>/dev/null || echo "$HOME/go")/bin"
  if [ -x "$gobin/actionlint" ] && "$gobin/actionlint" -version 2>/dev/null | head -n 1 | grep -qx "$SG_ACTIONLINT_VERSION"; then
    echo "$gobin/actionlint"
    return 0
  fi
  echo "installing actionlint $SG_ACTIONLINT_VERSION with go install" >&2
  (cd / && GOFLAGS=-mod=mod GOBIN="$gobin" timeout 900 "$go" install "github.com/rhysd/actionlint/cmd/actionlint@$SG_ACTIONLINT_VERSION") >&2 ||
    { echo "sg_ensure_actionlint: go install failed" >&2; return 1; }
  echo "$gobin/actionlint"
}

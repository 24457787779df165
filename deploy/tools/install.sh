#!/usr/bin/env bash
# Installs the operations tools into .run/tools/bin, building them with Go from the Go module proxy
# (no prebuilt downloads): helm (chart rendering and lint) and composecheck (Compose validation
# with compose-go). Idempotent: a tool of the wanted version is not rebuilt.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bin="$root/.run/tools/bin"
HELM_VERSION=v3.19.0
mkdir -p "$bin"

if ! command -v go >/dev/null; then
  [ -x /usr/local/go/bin/go ] && export PATH="/usr/local/go/bin:$PATH" || {
    echo "tools: Go is needed to build helm and composecheck" >&2; exit 1; }
fi

stamp="$bin/.helm-$HELM_VERSION"
if [ ! -x "$bin/helm" ] || [ ! -f "$stamp" ]; then
  echo "tools: building helm $HELM_VERSION (a few minutes, once)" >&2
  GOBIN="$bin" GOFLAGS=-mod=mod go install \
    -ldflags "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  rm -f "$bin"/.helm-*; touch "$stamp"
fi

src="$root/deploy/tools/composecheck"
sum="$(cat "$src"/go.mod "$src"/go.sum "$src"/*.go | sha256sum | cut -c1-16)"
if [ ! -x "$bin/composecheck" ] || [ ! -f "$bin/.composecheck-$sum" ]; then
  echo "tools: building composecheck" >&2
  (cd "$src" && go build -o "$bin/composecheck" .)
  rm -f "$bin"/.composecheck-*; touch "$bin/.composecheck-$sum"
fi

#!/usr/bin/env bash
# Installs the validators tests/ops/test_deploy.py uses, when they are missing:
#   promtool             Debian package `prometheus` (apt-get)
#   amtool               Debian package `prometheus-alertmanager` (apt-get)
#   check-jsonschema     compose-spec schema check of docker-compose.yml  } in a separate
#   kubernetes-validate  offline schema check of deploy/k8s               } venv (below)
#   java, mvn            Debian packages default-jre-headless (Java 17+) and maven, to
#                        fetch and run Apache Kafka (deploy/kafka/fetch.sh) for the tests
# Idempotent: a second run changes nothing. Never fails the build: when a tool cannot be
# installed it says why and exits 0, and the tests that need it skip with that reason.
#
# Why a separate venv for the two PyPI tools: check-jsonschema needs click>=8.5 while
# faust-streaming pins click<8.4, so they cannot share the project's venv.
#
# Environment: OPS_TOOLS_DIR (default ~/.cache/gridflow/ops-tools) holds that venv;
# tests look for the tools on PATH first, then in "$OPS_TOOLS_DIR/bin".
set -u

CHECK_JSONSCHEMA_VERSION=0.39.0
KUBERNETES_VALIDATE_VERSION=1.37.0
TOOLS_DIR="${OPS_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gridflow/ops-tools}"

say() { printf 'install-tools: %s\n' "$*"; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo -n "$@"
    else
        return 1
    fi
}

# install_debian TOOL PACKAGE: apt-get install PACKAGE unless TOOL is on PATH already.
install_debian() {
    local tool="$1" package="$2"
    if command -v "$tool" >/dev/null 2>&1; then
        say "$tool present: $("$tool" --version 2>&1 | head -n 1)"
        return 0
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        say "$tool missing and no apt-get here: install $package by hand; $tool tests will skip"
        return 0
    fi
    if ! as_root true; then
        say "$tool missing and not root (no passwordless sudo): run 'apt-get install $package' as root; $tool tests will skip"
        return 0
    fi
    # Package lists are empty on a fresh image: update once, only when needed.
    if ! apt-cache policy "$package" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
        as_root apt-get update -qq || say "apt-get update failed"
    fi
    # Both packages also ship a server (Prometheus, Alertmanager): keep the install from
    # starting it (policy-rc.d is honoured by invoke-rc.d and deb-systemd-invoke), unless
    # the machine already has a policy of its own.
    local guard=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        guard=/usr/sbin/policy-rc.d
        printf '#!/bin/sh\nexit 101\n' | as_root tee "$guard" >/dev/null && as_root chmod +x "$guard"
    fi
    if DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$package" >/dev/null; then
        say "installed $tool: $("$tool" --version 2>&1 | head -n 1)"
    else
        say "apt-get install $package failed; $tool tests will skip"
    fi
    if [ -n "$guard" ]; then
        as_root rm -f "$guard"
    fi
    return 0
}

install_pypi_tools() {
    local py="$TOOLS_DIR/bin/python"
    if [ -x "$TOOLS_DIR/bin/check-jsonschema" ] && [ -x "$TOOLS_DIR/bin/kubernetes-validate" ] \
        && "$py" -m pip show check-jsonschema 2>/dev/null | grep -qx "Version: $CHECK_JSONSCHEMA_VERSION" \
        && "$py" -m pip show kubernetes-validate 2>/dev/null | grep -qx "Version: $KUBERNETES_VALIDATE_VERSION"; then
        say "check-jsonschema $CHECK_JSONSCHEMA_VERSION and kubernetes-validate $KUBERNETES_VALIDATE_VERSION present in $TOOLS_DIR"
        return 0
    fi
    local base
    base="$(command -v python3 || command -v python || true)"
    if [ -z "$base" ]; then
        say "no python3 to build $TOOLS_DIR; compose and k8s schema checks will skip"
        return 0
    fi
    if ! { [ -x "$py" ] || "$base" -m venv "$TOOLS_DIR"; }; then
        say "could not create a venv at $TOOLS_DIR; compose and k8s schema checks will skip"
        return 0
    fi
    if "$py" -m pip install -q --disable-pip-version-check \
        "check-jsonschema==$CHECK_JSONSCHEMA_VERSION" \
        "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"; then
        say "installed check-jsonschema $CHECK_JSONSCHEMA_VERSION and kubernetes-validate $KUBERNETES_VALIDATE_VERSION in $TOOLS_DIR"
    else
        say "pip install into $TOOLS_DIR failed; compose and k8s schema checks will skip"
    fi
    return 0
}

install_apache_kafka() {
    # A JDK's runtime and Maven from Debian when missing (install_debian says why not),
    # then Kafka's jars, cached outside the repo: only a machine's first run downloads them.
    install_debian java default-jre-headless
    install_debian mvn maven
    if ! command -v java >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then
        say "no Java or no Maven: Apache Kafka tests will skip"
        return 0
    fi
    bash "$(dirname "$0")/kafka/fetch.sh" || say "fetching Apache Kafka failed; its tests will skip"
    return 0
}

install_debian promtool prometheus
install_debian amtool prometheus-alertmanager
install_pypi_tools
install_apache_kafka
exit 0

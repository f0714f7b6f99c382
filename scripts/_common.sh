# shellcheck shell=bash
# Shared by the scripts in this folder: where the Python toolchain lives and how to run in it.
#
# Home Assistant 2026.x needs Python >= 3.14.2. Where such a python3.14 is on PATH we make a
# plain virtualenv in .venv. Otherwise we build a small Debian "forky" root (which ships
# python3.14) outside the checkout and run every tool inside it through chroot, with the
# checkout bind-mounted at /project. The mounts live in a private mount namespace
# (unshare -m), so they disappear when the command ends.

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROOT_DIR="${ENVOY_LEGACY_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/enphase_envoy_legacy/forky}"
ROOT_VENV=/opt/venv

host_python314() {
    local py
    py="$(command -v python3.14 2>/dev/null)" || return 1
    "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 14, 2) else 1)' 2>/dev/null \
        || return 1
    echo "$py"
}

# "host" when a suitable python3.14 is on PATH, "root" otherwise.
toolchain_mode() {
    if [ -n "${ENVOY_LEGACY_FORCE_ROOT:-}" ]; then
        echo root
    elif host_python314 >/dev/null; then
        echo host
    else
        echo root
    fi
}

# in_env CMD...: run CMD with the project's virtualenv first on PATH, from the checkout's top.
in_env() {
    if [ "$(toolchain_mode)" = host ]; then
        (cd "$REPO_DIR" && PATH="$REPO_DIR/.venv/bin:$PATH" "$@")
    else
        in_root "PATH=$ROOT_VENV/bin:/usr/bin:/bin" "$@"
    fi
}

# in_root ENV=VALUE... CMD...: run CMD inside the Debian root, in /project.
in_root() {
    local envs=()
    while [ $# -gt 0 ] && [[ "$1" == *=* ]]; do
        envs+=("$1")
        shift
    done
    local passthrough=()
    local name
    for name in CI TERM PYTEST_ADDOPTS; do
        if [ -n "${!name:-}" ]; then
            passthrough+=("$name=${!name}")
        fi
    done
    local all_envs=("${passthrough[@]}" "${envs[@]}")
    unshare -m /bin/bash -c '
        set -e
        root="$1"; repo="$2"; count="$3"; shift 3
        envs=("${@:1:$count}"); shift "$count"
        mount --make-rprivate /
        mount --bind /proc "$root/proc"
        mount --bind /dev "$root/dev"
        mkdir -p "$root/project"
        mount --bind "$repo" "$root/project"
        exec chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 \
            SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
            PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
            PIP_DISABLE_PIP_VERSION_CHECK=1 \
            "${envs[@]}" /bin/bash -c "cd /project && exec \"\$@\"" bash "$@"
    ' bash "$ROOT_DIR" "$REPO_DIR" "${#all_envs[@]}" "${all_envs[@]}" "$@"
}

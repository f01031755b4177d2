# Shared by the README's two commands. Sourced, not run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# Debian packages the build needs: a C toolchain for the -sys crates
# (zstd, lz4, bzip2) and OpenSSL headers for openssl-sys. The resource
# node's micro-VMs need QEMU, a static busybox (the guest's userland) and
# mke2fs (volumes). Custom domains' tests get certificates from Debian's
# pebble, a real ACME server.
PACKAGES=(build-essential pkg-config libssl-dev ca-certificates curl
    qemu-system-x86 busybox-static e2fsprogs pebble)

install_packages() {
    local missing=()
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if ((${#missing[@]})); then
        say "installing Debian packages: ${missing[*]}"
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
    fi
}

ensure_rust() {
    [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
    if ! command -v cargo >/dev/null 2>&1; then
        say "installing the Rust toolchain (rustup, 1.95)"
        curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --default-toolchain 1.95.0
        . "$HOME/.cargo/env"
    fi
}

# One shared target dir outside the clone, so that every clone on this
# machine reuses the same build of the Solana stack (about 7 minutes when
# clean on 2 cores). Set CARGO_TARGET_DIR to put it elsewhere.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/aether/target}"
mkdir -p "$CARGO_TARGET_DIR"

# The Python reference implementation the SDK's tests cross-check against
# (aleph-message, aleph-sdk-python), in a virtualenv outside the clone.
# AETHER_PYTHON names the interpreter the tests run.
python_reference() {
    local venv="$HOME/.cache/aether/pyenv"
    local requirements="$ROOT/sdk/tests/python/requirements.txt"
    local stamp="$venv/.aether-requirements"
    if ! cmp -s "$requirements" "$stamp" 2>/dev/null; then
        command -v python3 >/dev/null 2>&1 && python3 -c "import venv, ensurepip" 2>/dev/null || {
            PACKAGES+=(python3 python3-venv)
            install_packages
        }
        say "preparing the Python reference implementation in $venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
        cp "$requirements" "$stamp"
    fi
    export AETHER_PYTHON="${AETHER_PYTHON:-$venv/bin/python}"
}

# The Debian cloud kernel the micro-VMs boot: downloaded once into the
# cache (not installed on this machine). AETHER_KERNEL_DEB names it for the
# tests and for `aether crn build-runtime --kernel-deb`.
kernel_package() {
    local dir="$HOME/.cache/aether/debs" sudo="" pkg deb
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    mkdir -p "$dir"
    deb=$(ls "$dir"/linux-image-*-cloud-amd64_*.deb 2>/dev/null | tail -n 1 || true)
    if [ -z "$deb" ]; then
        pkg=$(apt-cache depends --important linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}')
        if [ -z "$pkg" ]; then
            $sudo apt-get update -qq
            pkg=$(apt-cache depends --important linux-image-cloud-amd64 | awk '/Depends: linux-image-/ {print $2; exit}')
        fi
        say "downloading the guest kernel package $pkg"
        (cd "$dir" && apt-get download -qq "$pkg" 2>&1 | grep -v "unsandboxed" || true)
        deb=$(ls "$dir"/"$pkg"_*.deb | tail -n 1)
    fi
    export AETHER_KERNEL_DEB="${AETHER_KERNEL_DEB:-$deb}"
}

prepare() {
    install_packages
    ensure_rust
}

# Runs every test binary (and so every process it starts: the Python
# signer, QEMU, the localnet in-process) with its clock moved by $1
# (libfaketime's relative form, e.g. +365d), through cargo's runner. Cargo
# and rustdoc keep the real clock: rustdoc hangs with libfaketime preloaded,
# so doctests (compile checks) run on the real clock. Monotonic clocks are
# left alone so that timeouts and sleeps behave as usual.
shift_clock() {
    local lib
    lib=$(dpkg -L libfaketime 2>/dev/null | grep -m1 '/libfaketimeMT\.so\.1$' || true)
    [ -n "$lib" ] || { echo "libfaketime is not installed (apt-get install faketime)" >&2; exit 1; }
    export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="env LD_PRELOAD=$lib FAKETIME=$1 FAKETIME_DONT_FAKE_MONOTONIC=1 FAKETIME_DONT_RESET=1 NO_FAKE_STAT=1"
    say "test binaries run with the clock shifted by $1: they see $(LD_PRELOAD=$lib FAKETIME=$1 date -u '+%Y-%m-%d %H:%M UTC')"
}

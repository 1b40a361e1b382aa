# SPDX-License-Identifier: Apache-2.0
# Shared by scripts/test and scripts/demo: logging and dependency installation.

ctx_log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
ctx_jobs() { nproc 2>/dev/null || echo 2; }

# Debian packages the build and tests need. Installed only when missing (apt-get update once, first).
CTX_APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libcpp-httplib-dev libspdlog-dev
  libcli11-dev nginx
  docker-compose curl
)

ctx_install_deps() {
  local missing=() p
  for p in "${CTX_APT_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  ctx_log "installing: ${missing[*]}"
  local sudo=""
  [[ $(id -u) == 0 ]] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

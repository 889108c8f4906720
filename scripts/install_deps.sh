#!/usr/bin/env bash
# Installs the Debian packages kvscope builds and tests with (nginx for the test of replicas behind a
# load balancer); skips apt when all are present.
set -euo pipefail

packages=(g++ clang clang-format libclang-rt-14-dev cmake ninja-build pkg-config ccache python3 python3-pip python3-venv python3-dev
          libgtest-dev libgmock-dev libbenchmark-dev libfmt-dev nlohmann-json3-dev libcli11-dev libcpp-httplib-dev libpcre2-dev libutf8proc-dev libssl-dev
          libcairo2-dev libfontconfig-dev libgif-dev fonts-dejavu-core chromium nginx-light)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  sudo_cmd=""
  [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# The server tests drive kvscope serve with the official OpenAI client.
python3 -c 'import openai, pytest' 2>/dev/null ||
  python3 -m pip install --quiet --disable-pip-version-check openai pytest

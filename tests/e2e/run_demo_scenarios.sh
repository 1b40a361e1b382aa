#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/e2e/run_demo_scenarios.sh BIN_DIR LOG_DIR: the scenarios part of scripts/demo (the same
# scripts/lib files), run against the demo binaries in BIN_DIR. Fails when a scenario check fails; stops
# every service it started, whatever happens.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
source "$root/scripts/lib/common.sh"
source "$root/scripts/lib/demo_services.sh"
source "$root/scripts/lib/demo_scenarios.sh"
trap demo_stop_all EXIT
trap 'exit 130' INT TERM
demo_start_all "$1" "$2"
demo_run_scenarios

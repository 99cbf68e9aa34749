#!/usr/bin/env bash
# Install SLURM and MUNGE from Debian's archive, for the single-node test cluster (fer_lib.cluster.local) that the
# cluster tests (tests/cluster/) and `make cluster-up` start.
#
# Idempotent: returns at once when slurmctld, slurmd and munged are on PATH. Installs the binaries only: no
# service is enabled or started (fer_lib.cluster.local starts its own daemons with a generated configuration).
# Exits 0 with a message when it cannot install (no apt-get, not root and no sudo, no network), so `make setup`
# keeps going; the cluster tests then skip with that reason.
set -u

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
if have slurmctld && have slurmd && have munged; then
    echo "install_slurm: slurm and munge already installed"
    exit 0
fi
. "$(dirname "$0")/apt_access.sh"
apt_access install_slurm "run 'sudo apt-get install -y slurm-wlm munge' to run the cluster tests (they skip otherwise)" || exit 0

if ! apt-cache show slurm-wlm >/dev/null 2>&1; then
    $SUDO apt-get update -q || { echo "install_slurm: apt-get update failed; the cluster tests will skip"; exit 0; }
fi
# policy-rc.d: the packages' maintainer scripts must not start the distribution's own daemons.
POLICY=/usr/sbin/policy-rc.d
CREATED_POLICY=0
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null && $SUDO chmod +x "$POLICY" && CREATED_POLICY=1
fi
if $SUDO apt-get install -y -q --no-install-recommends slurm-wlm munge; then
    echo "install_slurm: installed $(/usr/sbin/slurmctld -V 2>/dev/null || echo slurm) and munge"
else
    echo "install_slurm: apt-get install slurm-wlm munge failed; the cluster tests will skip"
fi
[ "$CREATED_POLICY" -eq 1 ] && $SUDO rm -f "$POLICY"
exit 0

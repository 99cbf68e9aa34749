# Sourced by the install_*.sh scripts: how to run apt-get here, or why it cannot run.
#
#   apt_access NAME "what to run by hand"  ->  sets SUDO ("" as root, "sudo -n" with password-less sudo) and
#                                              returns 0; else prints why (prefixed by NAME) and returns 1.
apt_access() {
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "$1: no apt-get on this system; $2"
        return 1
    fi
    if [ "$(id -u)" -eq 0 ]; then
        SUDO=""
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "$1: not root and no password-less sudo; $2"
        return 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    return 0
}

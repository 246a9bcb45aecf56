#!/bin/sh
# The console's browser tests drive Debian's chromium (tests/console); install it with apt-get when it is missing.
# Fonts for Chinese text come along so screenshots show the console as its users see it.
set -eu
CHROMIUM="${KX_CHROMIUM:-/usr/bin/chromium}"
[ -x "$CHROMIUM" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
	echo "ensure_chromium: $CHROMIUM is missing and there is no apt-get: install chromium, or set KX_CHROMIUM" >&2
	exit 1
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "ensure_chromium: installing chromium (apt-get)"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-noto-cjk >/dev/null

#!/bin/sh
# The quarterly report prints Chinese: WeasyPrint needs a CJK font (fonts-noto-cjk, else every character is a box);
# its tests render the PDF to PNG and extract its text with poppler (pdftoppm, pdftotext, pdffonts). Install both
# with apt-get where they are missing (WeasyPrint's pango comes with Debian's base libraries or with chromium).
set -eu
missing=""
fc-list :lang=zh family 2>/dev/null | grep -q . || missing="$missing fonts-noto-cjk"
command -v pdftoppm >/dev/null 2>&1 || missing="$missing poppler-utils"
ldconfig -p 2>/dev/null | grep -q libpango-1.0 || missing="$missing libpango-1.0-0 libpangoft2-1.0-0"
[ -z "$missing" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
	echo "ensure_report_tools: missing$missing and there is no apt-get: install them by hand" >&2
	exit 1
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "ensure_report_tools: installing$missing (apt-get)"
$SUDO apt-get update -qq
# shellcheck disable=SC2086 # the package list is meant to split
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null

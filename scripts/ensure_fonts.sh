#!/usr/bin/env bash
# Make sure a CJK font is installed (the alert charts fall back to it for Chinese, Japanese and Korean
# keywords): Debian's fonts-wqy-microhei (about 5 MB) when no WenQuanYi Micro Hei is present.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
FONT=/usr/share/fonts/truetype/wqy/wqy-microhei.ttc

if [ ! -f "$FONT" ]; then
  echo "[fonts] installing fonts-wqy-microhei (CJK glyphs for the alert charts)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends fonts-wqy-microhei >/dev/null
fi
[ -f "$FONT" ] || { echo "[fonts] $FONT is missing after installing fonts-wqy-microhei"; exit 1; }
echo "[fonts] CJK font present: $FONT"

#!/usr/bin/env bash
# Install emotag with everything it needs (ExifTool included), then tag copies of the sample photos and show
# what it found. Usage: ./install.sh [--no-demo]
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}

need_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v exiftool >/dev/null 2>&1; then
  echo "Installing ExifTool from the system's package manager..."
  if command -v apt-get >/dev/null 2>&1; then
    need_root apt-get update -qq && need_root apt-get install -y -qq libimage-exiftool-perl
  elif command -v brew >/dev/null 2>&1; then
    brew install exiftool
  elif command -v dnf >/dev/null 2>&1; then
    need_root dnf install -y perl-Image-ExifTool
  elif command -v pacman >/dev/null 2>&1; then
    need_root pacman -S --noconfirm perl-image-exiftool
  else
    echo "Please install ExifTool (https://exiftool.org) and run this again." >&2
    exit 1
  fi
fi

echo "Installing emotag and its Python dependencies..."
"$PYTHON" -m pip install --quiet --disable-pip-version-check -e ".[dev]"

if [ "${1:-}" != "--no-demo" ]; then
  demo=$(mktemp -d "${TMPDIR:-/tmp}/emotag-demo.XXXXXX")
  cp samples/*.jpg "$demo"/
  echo "Tagging the sample photos (copies in $demo)..."
  "$PYTHON" -m emotag.cli tag "$demo"
  for photo in "$demo"/*.jpg; do "$PYTHON" -m emotag.cli show "$photo"; done
  echo "Keywords as ExifTool reads them back:"
  exiftool -q -q -T -FileName -XMP-lr:HierarchicalSubject "$demo"
fi

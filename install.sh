#!/usr/bin/env bash
# Install emotag for the user who runs this, then tag copies of the sample photos and show what it found:
#   ExifTool from the system's package manager when it is missing;
#   emotag, with only what tagging needs (no TensorFlow), in its own virtual environment, ~/.local/lib/emotag;
#   the `emotag` command as a link in ~/.local/bin (where pipx puts commands, and where the systemd unit looks).
# Works where the system's pip is refused ("externally-managed-environment": Debian, Ubuntu, Fedora...).
#
# Usage: ./install.sh [--no-demo]   install emotag (run again to update it from this checkout)
#        ./install.sh --dev         a development environment in .venv instead: emotag editable, with TensorFlow,
#                                   Dask, pytest and ruff (./test.sh runs it)
# Environment: PYTHON (default python3), EMOTAG_VENV (default ~/.local/lib/emotag), EMOTAG_BIN (~/.local/bin).
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
VENV=${EMOTAG_VENV:-$HOME/.local/lib/emotag}
BIN=${EMOTAG_BIN:-$HOME/.local/bin}
mode=user
demo=yes
for arg in "$@"; do
  case "$arg" in
    --no-demo) demo=no ;;
    --dev) mode=dev; demo=no; VENV=.venv ;;
    -h | --help) sed -n '2,11p' "$0" | cut -c3-; exit 0 ;;
    *) echo "install.sh: unknown option $arg (try --help)" >&2; exit 2 ;;
  esac
done

need_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else echo "install.sh: '$*' needs root, and there is no sudo: run it as root, then this again" >&2; exit 1
  fi
}

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

if ! command -v "$PYTHON" >/dev/null 2>&1 || ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
  echo "install.sh: emotag needs Python 3.10 or later as '$PYTHON' (set PYTHON=/path/to/python3)" >&2
  exit 1
fi

# The virtual environment: made once, kept on later runs. Debian and Ubuntu ship venv's pip in a package of its
# own (python3-venv): without it `python3 -m venv` fails, so it is installed then.
if [ -e "$VENV" ] && [ ! -f "$VENV/pyvenv.cfg" ]; then
  echo "install.sh: $VENV exists and is not a virtual environment: move it, or set EMOTAG_VENV" >&2
  exit 1
fi
if ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
  echo "Making a virtual environment for emotag in $VENV..."
  if ! "$PYTHON" -m venv --clear "$VENV" >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
      version=$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
      echo "Installing Python's venv module (python3-venv)..."
      need_root apt-get update -qq
      need_root apt-get install -y -qq python3-venv || need_root apt-get install -y -qq "python$version-venv"
    fi
    "$PYTHON" -m venv --clear "$VENV"
  fi
fi
pip=("$VENV/bin/python" -m pip install --quiet --disable-pip-version-check)

if [ "$mode" = dev ]; then
  echo "Installing emotag (editable) with TensorFlow, Dask, pytest and ruff into $VENV..."
  "${pip[@]}" -e ".[dev]"
  exit 0
fi

echo "Installing emotag and what it needs to tag photos into $VENV..."
"${pip[@]}" --upgrade --force-reinstall --no-deps .  # this checkout's emotag, even at the same version number
"${pip[@]}" .                                        # and what it depends on, where missing
mkdir -p "$BIN"
ln -sfn "$VENV/bin/emotag" "$BIN/emotag"
echo "$("$BIN/emotag" --version): the command is $BIN/emotag"
case ":$PATH:" in
  *":$BIN:"*) ;;
  *) echo "Note: $BIN is not on your PATH. Add it (echo 'export PATH=\"$BIN:\$PATH\"' >> ~/.profile, then log in" \
       "again) or run $BIN/emotag. Debian's and Ubuntu's ~/.profile add ~/.local/bin at login once it exists." ;;
esac

if [ "$demo" = yes ]; then
  demo=$(mktemp -d "${TMPDIR:-/tmp}/emotag-demo.XXXXXX")
  cp samples/*.jpg "$demo"/
  cd "$demo"  # the installed command, away from this checkout
  echo "Tagging the sample photos (copies in $demo)..."
  "$BIN/emotag" tag .
  for photo in ./*.jpg; do "$BIN/emotag" show "$photo"; done
  echo "Keywords as ExifTool reads them back:"
  exiftool -q -q -T -FileName -XMP-lr:HierarchicalSubject .
fi

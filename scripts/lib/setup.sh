# Shared set-up for scripts/: a .venv with the dev requirements, and node_modules from the lock.
# Re-running is cheap: each step is skipped when its inputs have not changed.

# pip asks the registry about one package after another (about two minutes for .venv here, four for
# checkov's); uv asks in parallel and installs the same pins in seconds. uv itself comes from pip, pinned;
# if it cannot be installed, pip does the work as before.
UV_VERSION=0.13.9

# install_into VENV ARGS...: `pip install ARGS` into VENV, through uv when .venv has it.
install_into() {
  local venv=$1
  shift
  if [ -x .venv/bin/uv ]; then
    .venv/bin/uv pip install --quiet --python "$venv/bin/python" "$@"
  else
    "$venv/bin/pip" install --quiet --disable-pip-version-check "$@"
  fi
}

setup_python() {
  if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
  fi
  if [ "$(.venv/bin/uv --version 2>/dev/null)" != "uv $UV_VERSION" ]; then
    .venv/bin/pip install --quiet --disable-pip-version-check "uv==$UV_VERSION" 2>/dev/null ||
      echo "(uv $UV_VERSION could not be installed: pip installs the packages instead, more slowly)"
  fi
  local stamp=.venv/.requirements.sha256
  local want
  want=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "== installing Python packages into .venv"
    install_into .venv -r requirements-dev.txt
    # The authoring SDK pins azure-ai-textanalytics 6 (the runtime SDK our users have is 5.x), so it
    # is installed on its own without its dependencies; the emulator is tested against both SDKs.
    install_into .venv --no-deps azure-ai-textanalytics-authoring==1.0.0b1
    echo "$want" > "$stamp"
  fi
}

setup_node() {
  # Keyed on the lock file's content, not its age: a fresh clone's lock is always newer than an
  # installed node_modules, and `npm ci` under a running Azurite pulls it out from under it.
  local stamp=node_modules/.package-lock.sha256
  local want
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ ! -x node_modules/.bin/azurite ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "== installing Azurite (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$want" > "$stamp"
  fi
}

# The status page is tested in a real browser: Debian's chromium (Playwright's own browser download is
# blocked here; its Python package drives this one).
setup_browser() {
  if ! command -v chromium >/dev/null 2>&1; then
    echo "== installing chromium (apt-get)"
    if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
    $SUDO apt-get install -y -q chromium >/dev/null 2>&1 ||
      { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q chromium >/dev/null; }
  fi
}

# checkov scans infra/ offline; its pins conflict with ours, so it lives in its own venv (after
# setup_python: it borrows .venv's uv).
CHECKOV_VERSION=3.3.30
setup_checkov() {
  local stamp=.venv-checkov/.checkov-version
  if [ ! -x .venv-checkov/bin/checkov ] || [ "$(cat "$stamp" 2>/dev/null)" != "$CHECKOV_VERSION" ]; then
    echo "== installing checkov $CHECKOV_VERSION into .venv-checkov"
    python3 -m venv .venv-checkov
    install_into .venv-checkov "checkov==$CHECKOV_VERSION"
    echo "$CHECKOV_VERSION" > "$stamp"
  fi
}

# Everything the test command needs. Azurite's npm install and the browser wait on the network, not on
# Python: they run beside the Python set-up; a failure in any fails the whole.
setup_all() {
  setup_node &
  local node=$!
  setup_browser &
  local browser=$!
  setup_python
  setup_checkov
  wait "$node"
  wait "$browser"
}

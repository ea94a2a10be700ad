# Shared set-up for scripts/: a .venv with the dev requirements, and node_modules from the lock.
# Re-running is cheap: each step is skipped when its inputs have not changed.

setup_python() {
  if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
  fi
  local stamp=.venv/.requirements.sha256
  local want
  want=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "== installing Python packages into .venv"
    .venv/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
    # The authoring SDK pins azure-ai-textanalytics 6 (the runtime SDK our users have is 5.x), so it
    # is installed on its own without its dependencies; the emulator is tested against both SDKs.
    .venv/bin/pip install --quiet --disable-pip-version-check --no-deps azure-ai-textanalytics-authoring==1.0.0b1
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

# checkov scans infra/ offline; its pins conflict with ours, so it lives in its own venv.
CHECKOV_VERSION=3.3.30
setup_checkov() {
  local stamp=.venv-checkov/.checkov-version
  if [ ! -x .venv-checkov/bin/checkov ] || [ "$(cat "$stamp" 2>/dev/null)" != "$CHECKOV_VERSION" ]; then
    echo "== installing checkov $CHECKOV_VERSION into .venv-checkov"
    python3 -m venv .venv-checkov
    .venv-checkov/bin/pip install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION"
    echo "$CHECKOV_VERSION" > "$stamp"
  fi
}

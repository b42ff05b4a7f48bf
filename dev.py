#!/usr/bin/env python3
"""Set-up and entry commands for a fresh machine with only Python.

    python3 dev.py demo    # create .venv, install assay, run the demo (writes assay-report/)
    python3 dev.py test    # create .venv, install assay with its test extra, run the tests

The virtual environment is created once and reinstalled only when pyproject.toml or
constraints.txt change. torch==2.13.0 (CPU) is installed first and pinned through
constraints.txt in every step, so no dependency can pull a CUDA build of torch.
"""
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
CONSTRAINTS = ROOT / "constraints.txt"


def _run(*cmd):
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], cwd=ROOT, check=True)


def _install_fingerprint():
    digest = hashlib.sha256()
    for name in ("pyproject.toml", "constraints.txt"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def ensure_venv():
    stamp = VENV / ".assay-installed"
    fingerprint = _install_fingerprint()
    if stamp.exists() and stamp.read_text() == fingerprint and PY.exists():
        return
    if not PY.exists():
        _run(sys.executable, "-m", "venv", VENV)
    pip = [PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    _run(*pip, "-c", CONSTRAINTS, "torch==2.13.0")
    _run(*pip, "-c", CONSTRAINTS, "-e", ".[test]")
    stamp.write_text(fingerprint)


def ensure_browser():
    """Headless Chromium for the report's browser test (Debian packages), where it can be installed.

    Without it the browser test skips and says why; every other test still runs.
    """
    if shutil.which("chromium") and shutil.which("chromedriver"):
        return
    apt = shutil.which("apt-get")
    if not apt or not hasattr(os, "geteuid") or os.geteuid() != 0:
        print("note: Chromium is not installed and apt-get is not usable as root here; "
              "the browser test of report.html will be skipped.", flush=True)
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        subprocess.run([apt, "update", "-qq"], check=True, env=env)
        subprocess.run([apt, "install", "-y", "-qq", "chromium", "chromium-driver"], check=True, env=env,
                       stdout=subprocess.DEVNULL)
    except (subprocess.CalledProcessError, OSError) as exc:
        print(f"note: installing Chromium failed ({exc}); the browser test will be skipped.", flush=True)


def main(argv):
    if not argv or argv[0] not in {"demo", "test"}:
        print(__doc__)
        return 2
    ensure_venv()
    if argv[0] == "demo":
        return subprocess.run([str(PY), "-m", "assay", "demo", *argv[1:]], cwd=ROOT).returncode
    ensure_browser()
    return subprocess.run([str(PY), "-m", "pytest", *argv[1:]], cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

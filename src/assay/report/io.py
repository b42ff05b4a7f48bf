"""Writing a report directory: report.json (the record), report.html, and figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..core.result import to_jsonable

#: Version of report.json's layout; bumped on any incompatible change.
SCHEMA_VERSION = "0.1"


def write_report(out_dir: str | Path, record: dict[str, Any], html: str,
                 figures: dict[str, bytes] | None = None) -> dict[str, Path]:
    """Write ``report.json``, ``report.html`` and ``<name>.png`` figures into ``out_dir``.

    ``record`` is made JSON-safe (NaN -> null) and gets ``schema_version``. Returns the paths.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "report.json", "html": out / "report.html"}
    payload = {"schema_version": SCHEMA_VERSION, **to_jsonable(record)}
    paths["json"].write_text(json.dumps(payload, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    paths["html"].write_text(html, encoding="utf-8")
    for name, png in (figures or {}).items():
        paths[name] = out / f"{name}.png"
        paths[name].write_bytes(png)
    return paths


#: Names of a Chromium or Chrome binary, tried in this order on the PATH.
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


def html_to_pdf(html_path: str | Path, pdf_path: str | Path | None = None, *, browser: str | None = None,
                timeout: float = 120.0) -> Path:
    """Print ``html_path`` to PDF with a headless Chromium (the report's print stylesheet applies:
    no navigation, each section on a new page). Returns the PDF's path (default: beside the HTML).

    ``browser`` is the binary (default: the first of :data:`BROWSERS` on the PATH). Raises
    :class:`~assay.AssayInputError` when none is installed, naming what to install.
    """
    import shutil
    import subprocess
    import tempfile

    from ..core.errors import AssayInputError

    source = Path(html_path)
    if not source.is_file():
        raise AssayInputError(f"'html_path' must be an HTML file. Got {str(source)!r}, which is not a file.")
    target = source.with_suffix(".pdf") if pdf_path is None else Path(pdf_path)
    binary = browser or next((found for name in BROWSERS if (found := shutil.which(name))), None)
    if binary is None or shutil.which(binary) is None:
        raise AssayInputError("Printing to PDF needs a headless Chromium or Chrome on the PATH "
                              f"(tried {', '.join(BROWSERS) if browser is None else repr(browser)}); install one "
                              "(e.g. the 'chromium' package) or open report.html and use the browser's Save as PDF.")
    with tempfile.TemporaryDirectory() as profile:  # a throwaway profile: no state, no first-run prompts
        command = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
                   "--disable-background-networking", "--disable-component-update", f"--user-data-dir={profile}",
                   "--no-pdf-header-footer", f"--print-to-pdf={target.resolve()}", source.resolve().as_uri()]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise AssayInputError(f"{Path(binary).name} did not finish printing {source} within {timeout:g} s."
                                  ) from exc
    if done.returncode != 0 or not target.is_file() or target.stat().st_size == 0:
        detail = " ".join((done.stderr or "").split())[-300:]
        raise AssayInputError(f"{Path(binary).name} could not print {source} to PDF (exit {done.returncode}): {detail}")
    return target

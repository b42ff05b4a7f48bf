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

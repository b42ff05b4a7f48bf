"""Helpers shared by the loaders: one-line error messages and file checks."""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from ..core.errors import AssayInputError

# Every character that str.splitlines() treats as a line break, plus tabs.
_LINE_BREAKS = re.compile(r"\s*[\r\n\t\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]+\s*")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_MAX_REASON = 300


def one_line(text: str) -> str:
    """``text`` with terminal colour codes removed and line breaks turned into single spaces."""
    return _LINE_BREAKS.sub(" ", _ANSI.sub("", str(text))).strip()


def input_error(arg: str, message: str) -> AssayInputError:
    """An :class:`AssayInputError` whose one-line message starts with the argument's name."""
    return AssayInputError(one_line(f"{arg}: {message}"))


def reason(exc: BaseException, *, text: str | None = None, limit: int = _MAX_REASON) -> str:
    """A short one-line account of an exception: ``"TypeName: message"``, cut at ``limit``.

    ``text`` replaces the exception's own message (e.g. a shortened one).
    """
    if text is None:
        text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    text = one_line(text).rstrip(" .") or "(no message)"
    name = type(exc).__name__
    if name.islower():  # e.g. struct.error, zlib.error
        name = f"{type(exc).__module__}.{name}"
    text = f"{name}: {text}"
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def quoted(path: str | os.PathLike) -> str:
    """A path for a message: in single quotes, escaped (``repr``) if it holds odd characters."""
    text = str(path)
    if text.isprintable() and "'" not in text:
        return f"'{text}'"
    return repr(text)


def check_readable_file(path: str | os.PathLike, *, arg: str, expected: str) -> Path:
    """Return ``path`` as a Path if it names a readable regular file, else raise naming ``arg``.

    ``expected`` says what the file should be (e.g. "a CSV or Parquet file"), for the message.
    """
    p = Path(path).expanduser()
    if not p.exists():
        where = "" if p.is_absolute() else f" (relative to the current directory {quoted(Path.cwd())})"
        raise input_error(arg, f"file {quoted(p)} does not exist{where}.")
    if p.is_dir():
        raise input_error(arg, f"{quoted(p)} is a directory; expected {expected}.")
    try:
        with open(p, "rb"):
            pass
    except OSError as exc:
        raise input_error(arg, f"cannot read {quoted(p)} ({reason(exc)}); expected {expected}.") from exc
    return p


@contextlib.contextmanager
def on_sys_path(*directories: str | os.PathLike) -> Iterator[None]:
    """Put ``directories`` first on ``sys.path`` for the duration of the block (if not there).

    A console script (``assay ...``) does not have the current directory on ``sys.path``, unlike
    ``python -m``; user code named as ``module:function`` and classes referred to by a trusted
    pickle are looked up there, as a user expects.
    """
    added = []
    for directory in directories:
        text = os.fspath(Path(directory).resolve())
        if text not in sys.path:
            sys.path.insert(0, text)
            added.append(text)
    try:
        yield
    finally:
        for text in added:
            with contextlib.suppress(ValueError):
                sys.path.remove(text)

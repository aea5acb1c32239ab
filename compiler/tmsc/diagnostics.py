"""Spec errors as users read them: file, line, key path, what is wrong, how to fix it."""

from __future__ import annotations

from collections.abc import Sequence

import attrs


@attrs.frozen
class Diagnostic:
    file: str
    line: int | None
    path: str
    message: str
    hint: str | None = None
    severity: str = "error"  # or "warning": printed, and the command still succeeds

    def render(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        subject = f"{self.path}: " if self.path else ""
        text = f"{where}: {self.severity}: {subject}{self.message}"
        if self.hint:
            text += f"\n    fix: {self.hint}"
        return text


class SpecError(Exception):
    """A spec the compiler refuses. Carries every diagnostic found, not only the first."""

    def __init__(self, diagnostics: Sequence[Diagnostic]):
        self.diagnostics = tuple(diagnostics)
        super().__init__("\n".join(d.render() for d in self.diagnostics))

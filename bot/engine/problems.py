"""Problems found in flow files, reported as ``file:line: message``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class FlowProblem:
    """One problem in a flow file, at a line (1-based; 0 when no line applies)."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class FlowError(Exception):
    """Raised when flow files have problems; carries all of them, not just the first."""

    def __init__(self, problems: Iterable[FlowProblem]) -> None:
        self.problems: list[FlowProblem] = sorted(set(problems))
        super().__init__("\n".join(str(problem) for problem in self.problems))

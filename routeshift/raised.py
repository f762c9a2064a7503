"""An exception one of the apps raised, as routeshift shows it: its type, its message and
the last frames of its traceback (where in the app it went wrong), in a contract result,
a shadow observation or a log line. Pure: it keeps text, never the exception itself.
"""

from __future__ import annotations

import sysconfig
import traceback
from dataclasses import dataclass

__all__ = ["FRAMES", "Raised"]

#: frames of the traceback kept, the innermost last
FRAMES = 4


@dataclass(frozen=True, slots=True)
class Raised:
    """What an app raised: `type` (qualified when not a builtin), `message`, `frames`
    ("file:line in function: source line"), innermost last; when the innermost frames
    are all a library's, the first shown is the app's own innermost one."""

    type: str
    message: str
    frames: tuple[str, ...] = ()

    @classmethod
    def of(cls, exc: BaseException, frames: int = FRAMES) -> Raised:
        kind = type(exc)
        name = kind.__qualname__
        if kind.__module__ not in ("builtins", "__main__"):
            name = f"{kind.__module__}.{name}"
        stack = list(traceback.extract_tb(exc.__traceback__))
        shown = stack[-frames:] if frames else []
        # where the app's own code was, when the innermost frames are all a library's
        own = [frame for frame in stack if _is_app_code(frame.filename)]
        if frames and own and own[-1] not in shown:
            shown = [own[-1], *shown[1:]]
        return cls(name, str(exc), tuple(_frame_text(frame) for frame in shown))

    @property
    def headline(self) -> str:
        return f"{self.type}: {self.message}" if self.message else self.type

    def __str__(self) -> str:
        return "\n".join([self.headline, *(f"  at {frame}" for frame in self.frames)])

    def as_dict(self) -> dict[str, object]:
        return {"type": self.type, "message": self.message, "traceback": list(self.frames)}


#: where installed libraries and the standard library live: not the app's own code
_LIBRARIES = tuple(
    {sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")}
)


def _is_app_code(filename: str) -> bool:
    return not filename.startswith(_LIBRARIES) and not filename.startswith("<")


def _frame_text(frame: traceback.FrameSummary) -> str:
    source = f": {frame.line.strip()}" if frame.line else ""
    return f"{frame.filename}:{frame.lineno} in {frame.name}{source}"

"""Exceptions raised by the engine.

Every message is meant to be shown to a shop admin as is: it says what is wrong and,
where there is something to do, what to do. The Django side decides from the class
whether a failure is permanent (DecodeError, ParameterError) or may be retried.
"""

from __future__ import annotations

__all__ = [
    "EngineError",
    "DecodeError",
    "ImageTooLargeError",
    "ParameterError",
    "ProcessorError",
]


class EngineError(Exception):
    """Base class of every error the engine raises on purpose."""


class DecodeError(EngineError):
    """The input file is not a usable image. Permanent: retrying will not help."""


class ImageTooLargeError(DecodeError):
    """The image is above the pixel or byte limits (possibly a decompression bomb)."""


class ParameterError(EngineError):
    """Bad processor parameters or a bad reference file (LUT, reference image)."""


class ProcessorError(EngineError):
    """A processor failed while working on a valid image."""

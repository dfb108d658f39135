"""imagegen's image engine: pure Python/torch, no Django.

Public API:
    Image, decode, encode      -- safe I/O (io.py)
    render                     -- run a processor with the generic options (pipeline.py)
    prepare_batch, BatchItem, can_batch -- run several renders (of one source or many)
                                  through a network at once (batch.py)
    check_thresholds, QualityError -- a shop's quality thresholds on the figures (restyle.py)
    get_processor, processor_names
    EngineError, DecodeError, ParameterError, ProcessorError (and ImageTooLargeError)
    ENGINE_VERSION             -- bump when outputs for the same inputs change
"""

from __future__ import annotations

from .errors import DecodeError, EngineError, ImageTooLargeError, ParameterError, ProcessorError
from .io import Image, decode, encode, resize_to_fit, supported_formats
from .pipeline import render, validate
from .batch import BatchItem, can_batch, prepare_batch
from .restyle import QualityError, check_thresholds
from .processors import get_processor, processor_names, register
from .runtime import get_device

ENGINE_VERSION = "2"  # 2: wide Gaussian blurs (sketch) computed at reduced resolution

__all__ = [
    "ENGINE_VERSION",
    "Image",
    "decode",
    "encode",
    "render",
    "prepare_batch",
    "BatchItem",
    "can_batch",
    "check_thresholds",
    "QualityError",
    "validate",
    "resize_to_fit",
    "supported_formats",
    "get_processor",
    "processor_names",
    "register",
    "get_device",
    "EngineError",
    "DecodeError",
    "ImageTooLargeError",
    "ParameterError",
    "ProcessorError",
]

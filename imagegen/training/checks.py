"""System checks for the training settings."""
from __future__ import annotations

from django.core.checks import Error, Tags, register

from ..conf import conf


@register(Tags.compatibility)
def check_training_settings(app_configs=None, **kwargs) -> list:
    errors = []
    label = conf.TRAINING_LABEL
    if label is not None and (not isinstance(label, str) or not label or any(not part.isidentifier() for part in label.split("."))):
        errors.append(Error(
            f"IMAGEGEN['TRAINING_LABEL'] = {label!r} must be None or an attribute path such as 'product.category.slug'.",
            id="imagegen.E040",
        ))
    threshold = conf.MEMORISATION_THRESHOLD
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 <= threshold < 1:
        errors.append(Error(
            f"IMAGEGEN['MEMORISATION_THRESHOLD'] = {threshold!r} must be a number in [0, 1) (RMS distance of 32x32 thumbnails).",
            hint="0.02 rejects samples closer to a training image than any two different demo products are to each other.",
            id="imagegen.E041",
        ))
    timeout = conf.TRAINING_JOB_TIMEOUT
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout <= 0:
        errors.append(Error(f"IMAGEGEN['TRAINING_JOB_TIMEOUT'] must be a positive number of seconds, not {timeout!r}.", id="imagegen.E042"))
    if not isinstance(conf.TRAINING_UPLOAD_TO, str) or not conf.TRAINING_UPLOAD_TO.strip("/"):
        errors.append(Error("IMAGEGEN['TRAINING_UPLOAD_TO'] must be a folder name such as 'imagegen/training'.", id="imagegen.E043"))
    return errors

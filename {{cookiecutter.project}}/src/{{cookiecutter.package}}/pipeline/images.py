"""containers/images.yaml: the SageMaker images this project's code runs in, and what each ships.

The pipeline takes the image tags from here, the locks are resolved against the pins, and the
contract tests rebuild each image's Python environment from them.
"""

from __future__ import annotations

from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from pydantic import Field, field_validator

from ..errors import ProjectError
from ..settings import Strict, read_mapping, validate

IMAGES_FILE = Path("containers/images.yaml")


class Image(Strict):
    framework: str  # sagemaker.core.image_uris' name for it
    version: str  # the image tag
    source: str
    python: str | None = Field(None, pattern=r"^3\.\d+$")  # only for images that run project code
    platform: str | None = Field(None, pattern=r"^(x86_64|aarch64)-manylinux_2_\d+$")
    pins: dict[str, str] = Field(default_factory=dict)  # package -> PEP 440 specifier
    job_overrides: dict[str, str] = Field(default_factory=dict)  # package -> why a job needs another version

    @field_validator("pins")
    @classmethod
    def _pins_are_specifiers(cls, pins: dict[str, str]) -> dict[str, str]:
        for name, spec in pins.items():
            try:
                Requirement(name), SpecifierSet(spec)
            except (InvalidRequirement, InvalidSpecifier):
                raise ValueError(f'{name}: {spec!r} is not a version specifier, e.g. "==1.2.3" or "<81"') from None
        return pins

    def pinned(self) -> dict[str, Requirement]:
        """Each pin as a requirement, by canonical package name (extras dropped from the key)."""
        requirements = (Requirement(f"{name}{spec}") for name, spec in self.pins.items())
        return {canonicalize_name(requirement.name): requirement for requirement in requirements}

    def constraints(self, overridden: bool = False) -> str:
        """A pip/uv constraints file of the pins (less the job overrides when `overridden`)."""
        skip = {canonicalize_name(name) for name in self.job_overrides} if overridden else set()
        return "".join(
            f"{requirement.name}{requirement.specifier}\n"
            for name, requirement in sorted(self.pinned().items())
            if name not in skip
        )


def load_images(root: Path = Path()) -> dict[str, Image]:
    raw = read_mapping(
        root / IMAGES_FILE, "missing: run from the project's root folder (it records the SageMaker images)", "a mapping"
    )
    images = {name: validate(Image, value or {}, f"{root / IMAGES_FILE}: {name}") for name, value in raw.items()}
    if "xgboost" not in images or images["xgboost"].python is None or images["xgboost"].platform is None:
        raise ProjectError(
            f"{root / IMAGES_FILE}: needs an 'xgboost' image with python and platform: the jobs and the "
            "endpoint run in it"
        )
    return images

"""containers/images.yaml: the SageMaker images this project's code runs in, and what each ships.

The pipeline takes the image tags from here, the locks are resolved against the pins, and the
contract tests rebuild each image's Python environment from them.
"""

from __future__ import annotations

from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from pydantic import Field

from ..settings import Strict, read_mapping, validate

IMAGES_FILE = Path("containers/images.yaml")


class Image(Strict):
    framework: str  # sagemaker.core.image_uris' name for it
    version: str  # the image tag
    source: str
    python: str | None = None  # only for images that run project code
    platform: str | None = None
    pins: dict[str, str] = Field(default_factory=dict)  # package -> PEP 440 specifier
    job_overrides: dict[str, str] = Field(default_factory=dict)  # package -> why a job needs another version

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
    raw = read_mapping(root / IMAGES_FILE, "missing: it records the SageMaker images the pipeline uses", "a mapping")
    return {name: validate(Image, value or {}, f"{root / IMAGES_FILE}: {name}") for name, value in raw.items()}

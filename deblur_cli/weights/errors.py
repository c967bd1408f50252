"""Why weights could not be used. Each message names the file or variant and says what to do next."""

from __future__ import annotations

from ..errors import DeblurError


class WeightsError(DeblurError):
    """Base class for every weights failure below."""


class WeightsUnavailableError(WeightsError):
    """No weights exist for a variant (or its fallback) anywhere the resolver looks."""


class WeightsIntegrityError(WeightsError):
    """A file's sha256 differs from the one the manifest records: it is not loaded."""


class WeightsFormatError(WeightsError):
    """Not a safetensors file (a pickle is refused), or its tensors do not fit the variant's network."""


class ManifestError(WeightsError):
    """weights_manifest.json is missing, not JSON, or has the wrong shape."""

"""Weights: where a variant's trained parameters are, how they are checked, and how they are loaded.

- ``io``: safetensors save/load with sha256 verification; pickle checkpoints are refused.
- ``manifest``: ``weights_manifest.json`` (which variants have weights, recipe, metrics) and its updates.
- ``resolve``: ``--weights`` > bundled > local cache > Hugging Face Hub, with the ``-compact`` fallback.
- ``hub``: downloads through ``huggingface_hub`` into its cache, verified before use.
- ``loader``: ``load_generator(name)``, the one door from a name to a ready network.

Nothing here is imported by ``import deblur_cli``; torch loads only in ``io``/``loader`` functions.
"""

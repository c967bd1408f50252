"""deblur: remove motion blur from photos with the generators of published GAN deblurring papers.

Importing this package does not import torch; the heavy parts load when they are used.

Library use::

    from deblur_cli import restore_file
    restore_file("photo.jpg", "photo_sharp.jpg", model="bag")
"""

__version__ = "0.1.0"

__all__ = ["__version__", "restore_file", "load_model"]


def __getattr__(name: str):
    # Lazy re-exports keep `import deblur_cli` (and so `deblur --help`) free of torch.
    if name == "restore_file":
        from .inference.api import restore_file

        return restore_file
    if name == "load_model":
        from .inference.api import load_model

        return load_model
    raise AttributeError(name)

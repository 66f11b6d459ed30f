"""nnx's version, written once: nnx.__version__ reads it and the build reads it into the package metadata
(pyproject.toml: [tool.scikit-build] metadata.version)."""
__version__ = "0.1.0"

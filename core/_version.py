"""The package version, in one place: imported by the face, the CLI, checkpoints, reports and pyproject."""
__version__ = "0.1.0"

"""Readers for the user's own files. Each is a registered dataset source whose ``path`` parameters point at the
files; every failure is a :class:`~core.errors.DataError` that names the file, the place and what to do."""
from core.data.files import arrays, audio, csv_table, graph, idx, images, projector, text  # noqa: F401

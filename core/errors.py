"""The errors core raises on purpose.

Every one of them carries a message a user can act on; the CLI prints it as one sentence and the GUI shows it
in a dialog. Anything else that escapes is a bug and is shown with its traceback.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class ReplearnError(Exception):
    """Base of every error RepLearn Studio raises deliberately."""


class ConfigError(ReplearnError, ValueError):
    """A configuration value is wrong. ``field`` is its dotted path (``training.lr``)."""

    def __init__(self, field: str, message: str, *, value: Any = None, allowed: str | None = None):
        self.field = field
        self.problem = message
        self.value = value
        self.allowed = allowed
        super().__init__(self._format())

    def _format(self) -> str:
        text = f"{self.field}: {self.problem}" if self.field else self.problem
        if self.allowed:
            text += f" (allowed: {self.allowed})"
        return text

    source: str | None = None  # the file the value came from (an experiment TOML), when known

    def in_file(self, source: str) -> ConfigError:
        """The same error, saying which file holds the value (``exp.toml: training.lr: ...``)."""
        if self.source is not None or source in self.args[0]:
            return self
        err = type(self).__new__(type(self))
        err.__dict__.update(self.__dict__)
        err.source = str(source)
        err.args = (f"{source}: {self.args[0]}",)
        return err

    def with_prefix(self, prefix: str) -> ConfigError:
        """The same error, with its field path placed under ``prefix``."""
        err = type(self).__new__(type(self))
        err.__dict__.update(self.__dict__)
        err.field = f"{prefix}.{self.field}" if self.field else prefix
        err.args = (err._format(),)
        return err


class UnknownNameError(ConfigError, KeyError):
    """A name that no registry entry has; suggests the closest ones."""

    def __init__(self, kind: str, name: str, available: Sequence[str], suggestions: Sequence[str], field: str = ""):
        self.kind = kind
        self.name = name
        self.available = tuple(available)
        self.suggestions = tuple(suggestions)
        hint = ""
        if self.suggestions:
            hint = " Did you mean " + " or ".join(repr(s) for s in self.suggestions) + "?"
        # a name from a plugin is unknown until the plugin is imported: say how to import it
        message = (f"unknown {kind} {name!r}.{hint} If it comes from a plugin, load the plugin: --plugin MODULE, "
                   f"or plugins = [\"MODULE\"] in the experiment file")
        super().__init__(field, message, value=name, allowed=", ".join(self.available) or "none registered")

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.args[0]


class SchemaVersionError(ConfigError):
    """A file written by a newer (or unknown) schema version."""


class DataError(ReplearnError):
    """Data cannot be loaded or does not fit the experiment."""


class CheckpointError(ReplearnError):
    """A checkpoint is missing, torn, or does not match the model."""


class ExportError(ReplearnError):
    """A model cannot be exported in the format asked for (it cannot be traced, or the graph is not faithful)."""


class PluginError(ReplearnError):
    """A plugin named by the user cannot be found or fails while it is imported."""


class InitWeightsError(ConfigError, CheckpointError):
    """``training.init_weights`` names weights that cannot start this encoder (a setting, and a checkpoint)."""


class RunDirectoryError(ReplearnError):
    """A run directory is missing, unreadable, or not writable."""


class NonFiniteLossError(ReplearnError):
    """Training produced a NaN or infinite loss; the step was not applied."""

    def __init__(self, epoch: int, step: int, terms: dict[str, float], last_checkpoint: str | None):
        self.epoch = epoch
        self.step = step
        self.terms = dict(terms)
        self.last_checkpoint = last_checkpoint
        bad = ", ".join(f"{k}={v}" for k, v in terms.items()) or "loss"
        keep = f" The last good checkpoint is {last_checkpoint}." if last_checkpoint else ""
        super().__init__(
            f"The loss became non-finite at epoch {epoch}, step {step} ({bad}); training stopped before "
            f"applying that step. Try a lower learning rate or gradient clipping.{keep}"
        )


class DeviceError(ConfigError):
    """The requested device does not exist on this machine."""

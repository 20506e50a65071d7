"""The public surface of ``core``: everything the GUI, the CLI and notebooks use.

The face is lazy (PEP 562): a name is imported from the module that defines it the first time it is read, so
``import core`` loads no torch, scikit-learn or numba and the GUI can import core's names at the top of its
modules. Registries load their built-in entries the first time they are read (see :class:`core.registry.Registry`).

To export a new name, add it to its module's tuple below (``tests/core/test_api.py`` checks every one resolves).
"""
from __future__ import annotations

import importlib
from typing import Any

# module -> the public names it defines
_EXPORTS: dict[str, tuple[str, ...]] = {
    "core.errors": (
        "CheckpointError", "ConfigError", "DataError", "DeviceError", "NonFiniteLossError", "ReplearnError",
        "RunDirectoryError", "SchemaVersionError", "UnknownNameError", "ExportError", "PluginError",
    ),
    "core.plugins": ("load_plugins", "loaded_plugins", "plugin_entry_points", "PluginInfo"),
    "core.params": ("BaseParams", "FieldSpec", "Params", "field_specs", "from_mapping", "param", "to_mapping"),
    "core.fileio": ("atomic_write_bytes",),
    "core.registry": ("Entry", "Registry"),
    "core.data.base": ("DATA_KINDS", "DATASETS", "MASK_ID", "PAD_ID", "Dataset", "DatasetSource", "DataSpec"),
    "core.data.files": ("file_patterns", "reader_for"),
    "core.data.files.arrow": ("load_arrow",),
    "core.data.files.csv_table": ("sniff_delimiter", "text_columns"),
    "core.data.preview": ("Preview", "preview", "to_uint8"),
    "core.data.splits": ("Normalizer", "PreparedData", "Splits", "make_splits", "prepare"),
    "core.data.views": ("AUGMENTATIONS", "DEFAULT_VIEWS", "Augmentation", "ViewPipeline", "make_views"),
    "core.projection.methods": ("PROJECTIONS", "Projection", "ProjectionProgress", "umap_is_warm",
                                "umap_warm_up_progress", "warm_up_umap"),
    "core.projection.neighbors": ("ExactIndex", "Neighbours", "knn", "layout_neighbours", "neighbour_churn"),
    "core.projection.project": (
        "ProjectionCache", "ProjectionResult", "aligned_sequence", "embedding_hash", "procrustes", "project",
    ),
    "core.diagnostics.collapse": ("Diagnostics", "compute_diagnostics", "effective_rank", "mean_pairwise_cosine"),
    "core.diagnostics.probes": ("KNNProbe", "LinearProbe"),
    "core.models.encoders": ("ENCODERS", "Encoder"),
    "core.objectives.base": ("OBJECTIVES", "Batch", "LossOutput", "Objective"),
    "core.config.schema": (
        "SCHEMA_VERSION", "AugmentationConfig", "DataConfig", "EncoderConfig", "Experiment", "ObjectiveConfig",
        "OutputConfig", "SplitConfig", "TrainingConfig",
    ),
    "core.config.io": (
        "dumps_experiment", "experiment_from_dict", "experiment_to_dict", "load_experiment", "loads_experiment",
        "save_experiment",
    ),
    "core.compatibility": ("encoders_for", "objectives_for"),
    "core.presets": ("DEFAULT_PRESET", "load_preset", "preset_names", "preset_path"),
    "core.training.events": (
        "CheckpointSaved", "EpochEnded", "LearningRateChanged", "RequestSnapshot", "RunFinished", "RunStarted",
        "SaveCheckpoint", "SetLearningRate", "SnapshotReady", "StepEnded", "Stop", "event_from_record", "to_record",
    ),
    "core.training.outcome": ("collapse_advice",),
    "core.user_settings": ("config_dir", "runs_folder", "set_runs_folder"),
    "core.training.checkpoint": ("load_checkpoint",),
    "core.training.seeding": ("GLOBAL_RNG_LOCK", "global_rng"),
    "core.training.rundir": ("RunDirectory",),
    "core.training.loop": (
        "TrainResult", "build_model", "data_spec", "load_dataset", "resume", "run_to_end", "train", "warm_up_engine",
    ),
    "core.training.inference": ("ModelOnData", "initialised", "load_trained", "prepare_data"),
    "core.evaluation.metrics": ("Metric", "faithfulness", "mean_metric"),
    "core.evaluation.results": ("Evaluation", "EvaluationProgress", "RepresentationResult"),
    "core.evaluation.methods.base": ("EVALUATIONS", "EvaluationContext", "EvaluationMethod", "evaluation_names"),
    "core.evaluation.suite": ("BASELINES", "BASELINE_HELP", "evaluate"),
    "core.evaluation.similarity": ("Similarity", "compare_runs", "layer_similarity", "linear_cka"),
    "core.evaluation.stored": ("StoredCheck", "check_stored", "evaluate_run", "evaluation_from_record",
                               "evaluation_stamp", "stored_staleness"),
    "core.evaluation.tables": ("ResultRow", "comparison_rows", "load_evaluation", "result_rows", "save_evaluation",
                               "load_transfer", "save_transfer"),
    "core.evaluation.transfer": ("TransferResult", "TransferTarget", "parse_budgets", "transfer", "transfer_targets"),
    "core.exploration": (
        "CheckpointInfo", "EmbeddingSpace", "SelectionSummary", "SnapshotSeries", "baseline_space", "encoder_layers",
        "file_space", "label_agreement", "newest_checkpoint", "run_space", "search", "selection_summary",
        "snapshot_series",
    ),
    "core.report.build": ("ReportData", "build_report", "write_report"),
    "core.report.export": ("write_csv", "write_embeddings_csv", "write_npy", "write_projector", "write_selection_csv",
                           "write_embeddings_parquet", "write_embeddings_file", "sample_columns"),
    "core.report.embed": ("EmbedResult", "embed_data"),
    "core.training.export": ("ExportResult", "export_encoder"),
    "core.glossary": ("define", "explain_metric"),
    "core.lessons": ("Answer", "Lesson", "RunFacts", "check_run", "lesson_ids", "load_lesson"),
}
# public name -> (module, the name there), for names exported under another name
_ALIASES: dict[str, tuple[str, str]] = {
    "decode_text": ("core.data.files.csv_table", "decode"),
    "REPORT_FORMATS": ("core.report.build", "FORMATS"),
    "REPORT_SECTIONS": ("core.report.build", "SECTIONS"),
    "EXPORT_FORMATS": ("core.training.export", "FORMATS"),
    "all_lessons": ("core.lessons", "lessons"),
    "glossary_entries": ("core.glossary", "glossary"),
}

_WHERE: dict[str, tuple[str, str]] = {name: (module, name) for module, names in _EXPORTS.items() for name in names}
_WHERE.update(_ALIASES)

__all__ = sorted([*_WHERE, "REGISTRIES"])


def _registries() -> dict[str, Any]:
    names = {"datasets": "DATASETS", "encoders": "ENCODERS", "objectives": "OBJECTIVES",
             "augmentations": "AUGMENTATIONS", "projections": "PROJECTIONS", "evaluations": "EVALUATIONS"}
    return {key: __getattr__(name) for key, name in names.items()}


def __getattr__(name: str) -> Any:
    if name == "REGISTRIES":
        value: Any = _registries()
    elif name in _WHERE:
        module, attribute = _WHERE[name]
        value = getattr(importlib.import_module(module), attribute)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later reads skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])

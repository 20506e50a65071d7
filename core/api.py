"""The public surface of ``core``: everything the GUI, the CLI and notebooks use.

Importing it registers the built-in datasets, encoders and objectives.
"""
from __future__ import annotations

from core.config.io import (dumps_experiment, experiment_from_dict, experiment_to_dict, load_experiment,
                            loads_experiment, save_experiment)
from core.config.params import FieldSpec, Params, field_specs, from_mapping, param, to_mapping
from core.config.schema import (SCHEMA_VERSION, AugmentationConfig, DataConfig, EncoderConfig, Experiment, ObjectiveConfig,
                                OutputConfig, SplitConfig, TrainingConfig)
from core.data import builtin as _builtin_data  # noqa: F401  (registration)
from core.data import files as _file_readers  # noqa: F401  (registration)
from core.data.files import reader_for
from core.data import synthetic as _synthetic_data  # noqa: F401  (registration)
from core.data.preview import Preview, preview
from core.data.views import AUGMENTATIONS, DEFAULT_VIEWS, Augmentation, ViewPipeline, make_views
from core.data.base import DATA_KINDS, DATASETS, MASK_ID, PAD_ID, Dataset, DatasetSource, DataSpec
from core.data.splits import Normalizer, PreparedData, Splits, make_splits, prepare
from core.diagnostics.collapse import Diagnostics, compute_diagnostics, effective_rank, mean_pairwise_cosine
from core.errors import (CheckpointError, ConfigError, DataError, DeviceError, NonFiniteLossError, ReplearnError,
                         RunDirectoryError, SchemaVersionError, UnknownNameError)
from core.evaluation.metrics import faithfulness
from core.evaluation.probes import KNNProbe, LinearProbe
from core.evaluation.stored import (StoredCheck, check_stored, evaluate_run, evaluation_from_record,
                                    evaluation_stamp)
from core.evaluation.tables import ResultRow, comparison_rows, load_evaluation, result_rows, save_evaluation
from core.evaluation.transfer import TransferResult, transfer
from core.evaluation.suite import BASELINES, EVALUATIONS
from core.report.build import FORMATS as REPORT_FORMATS, SECTIONS as REPORT_SECTIONS
from core.exploration import (EmbeddingSpace, SelectionSummary, SnapshotSeries, baseline_space, label_agreement,
                              run_space, search, selection_summary, snapshot_series)
from core.evaluation.suite import Evaluation, EvaluationProgress, evaluate
from core.models.encoders import ENCODERS, Encoder
from core import objectives as _builtin_objectives  # noqa: F401  (registration)
from core.objectives.base import OBJECTIVES, Batch, LossOutput, Objective
from core.presets import DEFAULT_PRESET, load_preset, preset_names, preset_path
from core.projection.methods import PROJECTIONS, Projection, ProjectionProgress, warm_up_umap
from core.projection.neighbors import ExactIndex, Neighbours, knn, layout_neighbours, neighbour_churn
from core.projection.project import (ProjectionCache, ProjectionResult, aligned_sequence, embedding_hash, procrustes,
                                     project)
from core.registry import Entry, Registry
from core.report.build import ReportData, build_report, write_report
from core.report.export import (write_csv, write_embeddings_csv, write_npy, write_projector, write_selection_csv)
from core.training.checkpoint import load_checkpoint
from core.training.events import (CheckpointSaved, EpochEnded, LearningRateChanged, RequestSnapshot, RunFinished,
                                  RunStarted, SaveCheckpoint, SetLearningRate, SnapshotReady, StepEnded, Stop,
                                  to_record)
from core.training.loop import (TrainResult, build_model, data_spec, load_dataset, resume, run_to_end, train,
                                warm_up_engine)
from core.training.inference import ModelOnData, initialised, load_trained, prepare_data
from core.training.rundir import RunDirectory

REGISTRIES: dict[str, Registry] = {"datasets": DATASETS, "encoders": ENCODERS, "objectives": OBJECTIVES,
                                   "augmentations": AUGMENTATIONS, "projections": PROJECTIONS}

__all__ = [
    "dumps_experiment", "experiment_from_dict", "experiment_to_dict", "load_experiment", "loads_experiment",
    "save_experiment", "FieldSpec", "Params", "field_specs", "from_mapping", "param", "to_mapping",
    "SCHEMA_VERSION", "AugmentationConfig", "DataConfig", "EncoderConfig", "Experiment", "ObjectiveConfig", "OutputConfig",
    "SplitConfig", "TrainingConfig", "DATA_KINDS", "DATASETS", "MASK_ID", "PAD_ID", "Dataset", "DatasetSource", "DataSpec",
    "Preview", "preview", "reader_for", "AUGMENTATIONS", "DEFAULT_VIEWS", "Augmentation", "ViewPipeline", "make_views", "Normalizer",
    "PreparedData", "Splits", "make_splits", "prepare", "Diagnostics", "compute_diagnostics", "effective_rank",
    "mean_pairwise_cosine", "CheckpointError", "ConfigError", "DataError", "DeviceError", "NonFiniteLossError",
    "ReplearnError", "RunDirectoryError", "SchemaVersionError", "UnknownNameError", "LinearProbe", "KNNProbe", "ModelOnData", "initialised", "load_trained", "prepare_data", "ENCODERS",
    "Encoder", "OBJECTIVES", "Batch", "LossOutput", "Objective", "DEFAULT_PRESET", "load_preset",
    "preset_names", "preset_path", "Entry", "Registry", "load_checkpoint", "CheckpointSaved", "EpochEnded",
    "LearningRateChanged", "RequestSnapshot", "RunFinished", "RunStarted", "SaveCheckpoint", "SetLearningRate",
    "SnapshotReady", "StepEnded", "Stop", "to_record", "TrainResult", "build_model", "data_spec", "load_dataset", "resume",
    "run_to_end", "train", "RunDirectory", "REGISTRIES",
    "PROJECTIONS", "Projection", "ProjectionProgress", "warm_up_umap", "ExactIndex", "Neighbours", "knn",
    "layout_neighbours", "neighbour_churn", "ProjectionCache", "ProjectionResult", "aligned_sequence",
    "embedding_hash", "procrustes", "project", "write_csv", "write_embeddings_csv", "write_npy", "write_projector",
    "write_selection_csv", "Evaluation", "EvaluationProgress", "evaluate", "ReportData", "build_report", "write_report",
    "EmbeddingSpace", "SelectionSummary", "SnapshotSeries", "baseline_space", "label_agreement", "run_space", "search",
    "selection_summary", "snapshot_series", "faithfulness", "warm_up_engine",
    "ResultRow", "comparison_rows", "load_evaluation", "result_rows", "save_evaluation", "TransferResult", "transfer",
    "BASELINES", "EVALUATIONS", "REPORT_FORMATS", "REPORT_SECTIONS",
    "StoredCheck", "check_stored", "evaluate_run", "evaluation_from_record", "evaluation_stamp",
]

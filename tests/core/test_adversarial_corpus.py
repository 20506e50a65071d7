"""The adversarial pass (issue 19): every case of ``bench/adversarial.py`` fed to the CLI - malformed files for
every reader and malformed experiment files - answers with exit code 2 and one line naming the file and the
place, no traceback, no run directory left, and nothing from a file ever run.

Every case runs in-process (``core.cli.main``); a few, one per kind of failure, also in a real subprocess."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "adversarial.py"
spec = importlib.util.spec_from_file_location("adversarial", BENCH)
adversarial = importlib.util.module_from_spec(spec)
sys.modules["adversarial"] = adversarial  # its dataclasses look their module up
spec.loader.exec_module(adversarial)

SUBPROCESS = ("csv/multi-line-cell", "npy/pickled-objects", "npz/path-climbs-out", "idx/gzip-bomb",
              "toml/batch-larger-than-data")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return adversarial.build_corpus(tmp_path_factory.mktemp("corpus"))


def test_the_corpus_covers_every_reader_and_experiment_files(corpus):
    import core

    kinds = {c.name.split("/")[0] for c in corpus}
    file_readers = {e.name for e in core.DATASETS if e.info.get("file")}
    readers = {"csv": "csv", "npy": "npy", "npz": "npy", "images": "image_folder", "idx": "idx", "wav": "wav_folder",
               "text": "text", "edges": "edge_list", "projector": "projector", "parquet": "parquet", "hf": "hf_arrow"}
    assert file_readers <= {readers[k] for k in kinds if k in readers}, file_readers
    assert "toml" in kinds and len(corpus) >= 60
    assert sum(1 for c in corpus if c.marker) >= 3


def test_every_malformed_input_is_answered_as_required(corpus):
    outcomes = [adversarial.run_in_process(case, case.experiment.parent.parent / "runs") for case in corpus]
    failures = {o.case.name: (o.problems, o.stderr) for o in outcomes if o.problems}
    assert not failures, failures


@pytest.mark.parametrize("name", SUBPROCESS)
def test_in_a_real_process_too(corpus, name):
    (case,) = [c for c in corpus if c.name == name]
    outcome = adversarial.run_in_subprocess(case, case.experiment.parent.parent / "runs")
    assert not outcome.problems, (outcome.problems, outcome.stderr)

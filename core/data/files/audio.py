"""A folder of WAV files, one sub-folder per class, read with the standard library's ``wave``."""
from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.data.base import DATASETS, Dataset, DatasetSource
from core.data.files.common import class_folders, existing_folder, fail, split_class_files
from core.params import BaseParams, param

_PCM = {1: np.uint8, 2: np.int16, 4: np.int32}


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Mono float samples in [-1, 1] and the sample rate (channels are averaged)."""
    try:
        with wave.open(str(path), "rb") as w:
            rate, width, channels, frames = w.getframerate(), w.getsampwidth(), w.getnchannels(), w.getnframes()
            raw = w.readframes(frames)
    except (wave.Error, EOFError) as err:
        raise fail(path, f"is not a PCM WAV file Python can read ({err})", "Convert it to 8/16/24/32-bit PCM WAV") from None
    if width == 3:  # 24-bit: widen to int32
        b = np.frombuffer(raw[: len(raw) // 3 * 3], dtype=np.uint8).reshape(-1, 3)
        wide = (b[:, 0].astype(np.int32) | (b[:, 1].astype(np.int32) << 8) | (b[:, 2].astype(np.int32) << 16))
        data = np.where(wide >= 1 << 23, wide - (1 << 24), wide).astype(np.float64) / (1 << 23)
    elif width in _PCM:
        data = np.frombuffer(raw[: len(raw) // width * width], dtype=_PCM[width]).astype(np.float64)
        data = (data - 128) / 128 if width == 1 else data / float(1 << (8 * width - 1))
    else:
        raise fail(path, f"uses {8 * width}-bit samples, which are not supported")
    if len(data) < frames * channels:
        raise fail(path, f"is truncated: {len(data) // max(channels, 1)} of {frames} frames present")
    return data.reshape(-1, channels).mean(axis=1), rate


@DATASETS.register("wav_folder", kind="audio", file=True, folder=True, folder_files=("*.wav",))
class WavFolder(DatasetSource):
    """A folder with one sub-folder per class of WAV files (PCM, mono or stereo mixed to mono, one sample rate),
    cropped or zero-padded to one length."""

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        path: str = param("", label="Folder", help="The folder whose sub-folders are the classes.")
        samples: int = param(0, label="Samples per clip", min=0, max=100_000_000,
                             help="Crop or pad every clip to this length; 0 = the longest clip.")

    def load(self) -> Dataset:
        root = existing_folder(self.params.path)
        if not class_folders(root):
            raise fail(root, "has no class folders", "Put the WAV files in one sub-folder per class")
        class_names, found, has_split = split_class_files(root, lambda f: f.suffix.lower() == ".wav", ".wav files")
        clips: list[np.ndarray] = []
        labels: list[int] = []
        names: list[str] = []
        rates: dict[int, Path] = {}
        for k, f, _ in found:
            data, rate = read_wav(f)
            rates.setdefault(rate, f)
            clips.append(data)
            labels.append(k)
            names.append(str(f.relative_to(root)))
        if len(rates) > 1:
            (r1, f1), (r2, f2) = list(rates.items())[:2]
            raise fail(root, f"mixes sample rates ({r1} Hz in {f1.name}, {r2} Hz in {f2.name})",
                       "Resample the files to one rate")
        length = self.params.samples or max(len(c) for c in clips)
        X = np.zeros((len(clips), 1, length), dtype=np.float32)
        for i, c in enumerate(clips):
            X[i, 0, : min(length, len(c))] = c[:length]
        rate = next(iter(rates))
        split = np.array([code for _, _, code in found], dtype=np.int8) if has_split else None
        return Dataset(name=root.name, kind="audio", X=X, y=np.array(labels), label_names=tuple(class_names), split=split,
                       metadata={"file": np.array(names), "duration_s": np.array([len(c) / rate for c in clips])},
                       value_range=(-1.0, 1.0), recommended_normalization="none", source=str(root),
                       description=f"{len(clips)} clips at {rate} Hz in {len(class_names)} classes from {root.name}/"
                       + (" (its own train / test split)" if has_split else ""))

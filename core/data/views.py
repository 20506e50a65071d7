"""Augmentations ("views"): random transformations that keep what a sample *is* while changing how it looks.

Each augmentation is registered with the data kinds it applies to and a ``Params`` dataclass. It transforms a
batch on the training device, independently per sample, drawing from torch's global RNG (seeded, and saved in
checkpoints, so resumed runs see the same views). It can also be called on a single sample, which is how the
wizard shows examples. A :class:`ViewPipeline` chains them; :data:`DEFAULT_VIEWS` is what a multi-view
objective uses when the experiment names none.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from core.data.base import MASK_ID, PAD_ID, DataSpec
from core.errors import ConfigError
from core.params import BaseParams, Params, param
from core.registry import Registry


class Augmentation:
    """Base of registered augmentations. Subclasses implement :meth:`apply` on a batch."""

    Params: type[Params]
    params: Any  # an instance of the subclass's own nested Params (typed Any: each reads its own fields)

    def __init__(self, params: Any, data: DataSpec):
        self.params = params
        self.data = data

    def apply(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """A batch ``(B, *sample_shape)`` or one sample ``sample_shape``."""
        if x.dim() == len(self.data.sample_shape):
            return self.apply(x.unsqueeze(0)).squeeze(0)
        return self.apply(x)

    def _clamp(self, x: torch.Tensor) -> torch.Tensor:
        """Keep values inside the data's known range (e.g. pixels in [0, 1])."""
        if self.data.value_range is not None:
            lo, hi = self.data.value_range
            return x.clamp(lo, hi)
        return x


AUGMENTATIONS: Registry[Augmentation] = Registry("augmentation", base=Augmentation)

_REAL = ("image", "sequence", "audio", "tabular", "embeddings")


def _uniform(n: int, lo: float, hi: float, device) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, device=device)


def _as_image(x: torch.Tensor) -> tuple[torch.Tensor, bool]:
    return (x.unsqueeze(1), True) if x.dim() == 3 else (x, False)


def _affine(x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Resample images ``x`` (B, C, H, W) through per-sample 2×3 affine maps (output → input coordinates)."""
    img, squeezed = _as_image(x)
    grid = F.affine_grid(theta, list(img.shape), align_corners=False)
    out = F.grid_sample(img, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out.squeeze(1) if squeezed else out


@AUGMENTATIONS.register("random_resized_crop", data_kinds=("image",))
class RandomResizedCrop(Augmentation):
    """Crop a random region (a share of the area and an aspect ratio) and resize it to the full image."""

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        scale_min: float = param(0.6, label="Smallest area share", min=0.05, max=1.0)
        ratio_max: float = param(4 / 3, label="Largest aspect ratio", min=1.0, max=4.0)
        p: float = param(1.0, label="Probability", min=0.0, max=1.0)

    def apply(self, x):
        n, p = x.shape[0], self.params
        area = _uniform(n, p.scale_min, 1.0, x.device)
        log_r = _uniform(n, -math.log(p.ratio_max), math.log(p.ratio_max), x.device)
        ratio = torch.exp(log_r)
        sx = torch.sqrt(area * ratio).clamp(max=1.0)
        sy = torch.sqrt(area / ratio).clamp(max=1.0)
        tx = (2 * torch.rand(n, device=x.device) - 1) * (1 - sx)
        ty = (2 * torch.rand(n, device=x.device) - 1) * (1 - sy)
        keep = torch.rand(n, device=x.device) >= p.p
        sx, sy = torch.where(keep, 1.0, sx), torch.where(keep, 1.0, sy)
        tx, ty = torch.where(keep, 0.0, tx), torch.where(keep, 0.0, ty)
        zeros = torch.zeros_like(sx)
        theta = torch.stack([torch.stack([sx, zeros, tx], 1), torch.stack([zeros, sy, ty], 1)], 1)
        return _affine(x, theta)


@AUGMENTATIONS.register("random_shift", data_kinds=("image",))
class RandomShift(Augmentation):
    """Translate the image by up to ``max_shift`` of its size in each direction (empty borders are zero)."""

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        max_shift: float = param(0.125, label="Largest shift (share of size)", min=0.0, max=0.5)

    def apply(self, x):
        n, s = x.shape[0], self.params.max_shift
        t = (2 * torch.rand(n, 2, device=x.device) - 1) * 2 * s  # normalised coordinates span 2
        ones, zeros = torch.ones(n, device=x.device), torch.zeros(n, device=x.device)
        theta = torch.stack([torch.stack([ones, zeros, t[:, 0]], 1), torch.stack([zeros, ones, t[:, 1]], 1)], 1)
        return _affine(x, theta)


@AUGMENTATIONS.register("rotation", data_kinds=("image",))
class Rotation(Augmentation):
    """Rotate by a random angle in [−degrees, +degrees] about the centre."""

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        degrees: float = param(10.0, label="Largest angle (degrees)", min=0.0, max=180.0)

    def apply(self, x):
        n = x.shape[0]
        a = torch.deg2rad(_uniform(n, -self.params.degrees, self.params.degrees, x.device))
        c, s, zeros = torch.cos(a), torch.sin(a), torch.zeros(n, device=x.device)
        theta = torch.stack([torch.stack([c, -s, zeros], 1), torch.stack([s, c, zeros], 1)], 1)
        return _affine(x, theta)


@AUGMENTATIONS.register("flip", data_kinds=("image",))
class Flip(Augmentation):
    """Mirror left–right with probability ``p``. Off by default for digits: a mirrored 2 is no 2."""

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        p: float = param(0.5, label="Probability", min=0.0, max=1.0)

    def apply(self, x):
        flip = (torch.rand(x.shape[0], device=x.device) < self.params.p).view(-1, *([1] * (x.dim() - 1)))
        return torch.where(flip, x.flip(-1), x)


@AUGMENTATIONS.register("gaussian_noise", data_kinds=_REAL)
class GaussianNoise(Augmentation):
    """Add independent N(0, σ²) noise to every value (clamped to the data's range when it has one)."""

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        sigma: float = param(0.1, label="Noise σ", min=0.0, max=10.0)

    def apply(self, x):
        return self._clamp(x + self.params.sigma * torch.randn_like(x))


@AUGMENTATIONS.register("brightness_contrast", data_kinds=("image",))
class BrightnessContrast(Augmentation):
    """Scale the contrast about each image's mean by 1 ± c and shift the brightness by ± b."""

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        brightness: float = param(0.2, label="Brightness change", min=0.0, max=1.0)
        contrast: float = param(0.3, label="Contrast change", min=0.0, max=1.0)

    def apply(self, x):
        n, p = x.shape[0], self.params
        shape = (n, *([1] * (x.dim() - 1)))
        c = _uniform(n, 1 - p.contrast, 1 + p.contrast, x.device).view(shape)
        b = _uniform(n, -p.brightness, p.brightness, x.device).view(shape)
        mean = x.flatten(1).mean(1).view(shape)
        return self._clamp((x - mean) * c + mean + b)


@AUGMENTATIONS.register("cutout", data_kinds=("image",))
class Cutout(Augmentation):
    """Blank a random square whose side is ``size`` of the image's (DeVries & Taylor, 2017)."""

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        size: float = param(0.25, label="Square side (share of size)", min=0.0, max=1.0)
        p: float = param(0.5, label="Probability", min=0.0, max=1.0)

    def apply(self, x):
        img, squeezed = _as_image(x)
        n, _, h, w = img.shape
        side_h, side_w = max(1, round(self.params.size * h)), max(1, round(self.params.size * w))
        cy = torch.randint(0, h, (n,), device=x.device).view(n, 1, 1)
        cx = torch.randint(0, w, (n,), device=x.device).view(n, 1, 1)
        ys = torch.arange(h, device=x.device).view(1, h, 1)
        xs = torch.arange(w, device=x.device).view(1, 1, w)
        box = ((ys - cy).abs() * 2 < side_h) & ((xs - cx).abs() * 2 < side_w)
        box &= (torch.rand(n, device=x.device) < self.params.p).view(n, 1, 1)
        out = img.masked_fill(box.unsqueeze(1), 0.0)
        return out.squeeze(1) if squeezed else out


def _time_last(x: torch.Tensor) -> torch.Tensor:
    return x.unsqueeze(1) if x.dim() == 2 else x


@AUGMENTATIONS.register("time_shift", data_kinds=("sequence", "audio"))
class TimeShift(Augmentation):
    """Roll the signal in time by up to ``max_shift`` of its length (circularly)."""

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        max_shift: float = param(0.1, label="Largest shift (share of length)", min=0.0, max=0.5)

    def apply(self, x):
        s = _time_last(x)
        n, t = s.shape[0], s.shape[-1]
        k = int(self.params.max_shift * t)
        shifts = torch.randint(-k, k + 1, (n,), device=x.device)
        idx = (torch.arange(t, device=x.device).view(1, t) - shifts.view(n, 1)) % t
        out = torch.gather(s, -1, idx.view(n, 1, t).expand_as(s))
        return out.view_as(x)


@AUGMENTATIONS.register("time_crop", data_kinds=("sequence", "audio"))
class TimeCrop(Augmentation):
    """Crop a random window of ``scale_min``..1 of the length and stretch it back to the full length (linear
    interpolation): the 1-D counterpart of ``random_resized_crop`` — views differ in tempo, pitch and which part
    of the signal they see (as BYOL-A's random resize crop and TS2Vec's cropping)."""

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        scale_min: float = param(0.5, label="Smallest window (share of length)", min=0.05, max=1.0)

    def apply(self, x):
        s = _time_last(x)
        n, t = s.shape[0], s.shape[-1]
        width = _uniform(n, self.params.scale_min, 1.0, x.device) * (t - 1)
        start = torch.rand(n, device=x.device) * (t - 1 - width)
        pos = start.view(n, 1) + width.view(n, 1) * torch.linspace(0, 1, t, device=x.device).view(1, t)
        lo = pos.floor().long().clamp(0, t - 1)
        hi = (lo + 1).clamp(max=t - 1)
        frac = (pos - lo).unsqueeze(1).to(s.dtype)

        def at(idx):
            return torch.gather(s, -1, idx.unsqueeze(1).expand(-1, s.shape[1], -1))

        return (at(lo) * (1 - frac) + at(hi) * frac).view_as(x)


@AUGMENTATIONS.register("amplitude_scale", data_kinds=("sequence", "audio"))
class AmplitudeScale(Augmentation):
    """Multiply the whole signal by a random gain in [1 − s, 1 + s]."""

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        scale: float = param(0.2, label="Gain change", min=0.0, max=0.99)

    def apply(self, x):
        g = _uniform(x.shape[0], 1 - self.params.scale, 1 + self.params.scale, x.device)
        return x * g.view(-1, *([1] * (x.dim() - 1)))


@AUGMENTATIONS.register("time_mask", data_kinds=("sequence", "audio"))
class TimeMask(Augmentation):
    """Zero one random span of up to ``max_width`` of the length (SpecAugment's time masking)."""

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        max_width: float = param(0.1, label="Longest span (share of length)", min=0.0, max=1.0)

    def apply(self, x):
        s = _time_last(x)
        n, t = s.shape[0], s.shape[-1]
        width = (torch.rand(n, device=x.device) * self.params.max_width * t).long().view(n, 1)
        start = (torch.rand(n, device=x.device).view(n, 1) * (t - width + 1)).long()
        pos = torch.arange(t, device=x.device).view(1, t)
        mask = (pos >= start) & (pos < start + width)
        return s.masked_fill(mask.unsqueeze(1), 0.0).view_as(x)


@AUGMENTATIONS.register("feature_resample", data_kinds=("tabular", "embeddings"))
class FeatureResample(Augmentation):
    """Replace each feature, with probability p, by the same feature of another random sample of the batch:
    a draw from the feature's marginal distribution (SCARF, Bahri et al., ICLR 2022)."""

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        p: float = param(0.3, label="Share of features replaced", min=0.0, max=1.0)

    def apply(self, x):
        n = x.shape[0]
        flat = x.reshape(n, -1)
        donors = torch.randint(0, n, flat.shape, device=x.device)
        drawn = torch.gather(flat, 0, donors)
        mask = torch.rand_like(flat) < self.params.p
        return torch.where(mask, drawn, flat).view_as(x)


@AUGMENTATIONS.register("token_mask", data_kinds=("tokens",))
class TokenMask(Augmentation):
    """Hide each real token with probability p (it becomes the reserved MASK id)."""

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        p: float = param(0.15, label="Share of tokens masked", min=0.0, max=1.0)

    def apply(self, x):
        hit = (torch.rand_like(x) < self.params.p) & (x != PAD_ID)
        return torch.where(hit, torch.full_like(x, MASK_ID), x)


@AUGMENTATIONS.register("token_dropout", data_kinds=("tokens",))
class TokenDropout(Augmentation):
    """Remove each real token with probability p (it becomes padding), keeping at least the first."""

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        p: float = param(0.1, label="Share of tokens dropped", min=0.0, max=1.0)

    def apply(self, x):
        flat = x.reshape(x.shape[0], -1)
        hit = (torch.rand_like(flat) < self.params.p) & (flat != PAD_ID)
        hit[:, 0] = False
        return torch.where(hit, torch.full_like(flat, PAD_ID), flat).view_as(x)


_SIGNAL_VIEWS = (("time_crop", {"scale_min": 0.5}), ("time_shift", {"max_shift": 0.5}), ("amplitude_scale", {"scale": 0.3}),
                 ("time_mask", {"max_width": 0.1}), ("gaussian_noise", {"sigma": 0.1}))
DEFAULT_VIEWS: dict[str, tuple[tuple[str, dict[str, Any]], ...]] = {
    "image": (("random_resized_crop", {"scale_min": 0.5}), ("rotation", {"degrees": 15.0}),
              ("brightness_contrast", {}), ("gaussian_noise", {"sigma": 0.05})),
    "sequence": _SIGNAL_VIEWS,
    "audio": _SIGNAL_VIEWS,
    "tabular": (("feature_resample", {"p": 0.3}), ("gaussian_noise", {"sigma": 0.1})),
    "embeddings": (("feature_resample", {"p": 0.2}), ("gaussian_noise", {"sigma": 0.05})),
    "tokens": (("token_mask", {"p": 0.15}), ("token_dropout", {"p": 0.1})),
}


class ViewPipeline:
    """Augmentations applied in order; each call draws a fresh random view."""

    def __init__(self, augmentations: Sequence[Augmentation]):
        self.augmentations = list(augmentations)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        for aug in self.augmentations:
            x = aug(x)
        return x

    def __len__(self) -> int:
        return len(self.augmentations)

    @property
    def names(self) -> list[str]:
        return [a.registry_name for a in self.augmentations]  # type: ignore[attr-defined]


def make_views(specs: Sequence[tuple[str, Any]], data: DataSpec) -> ViewPipeline:
    """Build a pipeline from ``(name, params)`` pairs, or the default for the data kind when ``specs`` is empty."""
    if not specs:
        if data.kind not in DEFAULT_VIEWS:
            raise ConfigError("views", f"there are no augmentations for {data.kind} data, so multi-view "
                              "objectives cannot be used on it")
        specs = DEFAULT_VIEWS[data.kind]
    augs = []
    for i, (name, params) in enumerate(specs):
        entry = AUGMENTATIONS.get(name, field=f"views[{i}].name")
        kinds = entry.info.get("data_kinds", ())
        if data.kind not in kinds:
            raise ConfigError(f"views[{i}].name", f"{name!r} does not apply to {data.kind} data", value=name,
                              allowed=", ".join(e.name for e in AUGMENTATIONS if data.kind in e.info.get("data_kinds", ())))
        augs.append(entry.cls(entry.make_params(params, path=f"views[{i}].params"), data))
    return ViewPipeline(augs)

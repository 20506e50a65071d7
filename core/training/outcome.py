"""What a run's end and its health mean for the person who trained it: divergence, and collapse advice that names
the mechanism the chosen objective actually has (its registry metadata: ``collapse_guard``, ``collapse_advice``).
"""
from __future__ import annotations

import math

from core.objectives.base import OBJECTIVES

NAMES = {"vicreg": "VICReg", "simclr": "SimCLR", "byol": "BYOL", "simsiam": "SimSiam", "barlow_twins": "Barlow Twins",
         "siamese_naive": "The naive Siamese objective"}
DIVERGENCE_FACTOR = 10.0  # a final loss this many times the first step's loss (and 1 above it) is a diverged run


EXPLOSION_FACTOR = 100.0  # a loss that once rose this far above its start exploded, even if it came back down


def diverged(first_loss: float | None, final_loss: float | None, peak_loss: float | None = None) -> bool:
    """True when the optimiser blew up: the loss ended far above where it started (or non-finite), or it
    exploded on the way and ended no better than it began.

    Healthy training lowers the loss; a learning rate far too high sends it up by orders of magnitude (digits
    with lr 10: VICReg 25 → 9e8) while staying finite, so no NaN check catches it; or it spikes (cross-entropy
    2.3 → 8e8) and the network dies at chance level (2.3 again).
    """
    if first_loss is None or final_loss is None:
        return False
    if not math.isfinite(final_loss):
        return True
    if final_loss > DIVERGENCE_FACTOR * abs(first_loss) and final_loss > first_loss + 1.0:
        return True
    exploded = peak_loss is not None and peak_loss > EXPLOSION_FACTOR * abs(first_loss) + 1.0
    return exploded and final_loss >= 0.9 * first_loss


def divergence_advice(first_loss: float, final_loss: float, lr: float, peak_loss: float | None = None) -> str:
    if peak_loss is not None and peak_loss > max(final_loss, first_loss) * EXPLOSION_FACTOR:
        what = (f"the loss exploded from {first_loss:.3g} to {peak_loss:.3g} and ended at {final_loss:.3g}, no "
                "better than at the start")
    else:
        what = f"the loss rose from {first_loss:.3g} at the first step to {final_loss:.3g} at the end"
    return (f"The run diverged: {what}. The learning rate ({lr:g}) is most likely too high: try a tenth of it, a "
            "warm-up, or gradient clipping (training.grad_clip).")


def collapse_advice(objective: str, status: str) -> str:
    """One sentence for a collapsed representation: what the objective has against collapse, and what to try."""
    if status not in ("complete collapse", "dimensional collapse"):
        return ""
    entry = OBJECTIVES.get(objective) if objective in OBJECTIVES else None
    guard = entry.info.get("collapse_guard") if entry is not None else None
    advice = entry.info.get("collapse_advice") if entry is not None else None
    label = NAMES.get(objective, objective)
    if guard is None and advice:  # an objective without a mechanism, on purpose (a teaching demo)
        return f"{label} has nothing against collapse: {advice}."
    if guard is None:  # reconstruction, supervised, ...: the loss itself needs distinct outputs
        return ("This objective has no dedicated anti-collapse term; a lower learning rate, a wider encoder or more "
                "epochs usually help.")
    return f"{label} guards against collapse with {guard}; here it was not enough: {advice}."

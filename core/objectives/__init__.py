"""Objectives: the learning pressures. Importing this package registers the built-in ones (one file each)."""
from core.objectives import (  # noqa: F401
                             autoencoder,
                             barlow_twins,
                             byol,
                             denoising_autoencoder,
                             edge_prediction,
                             future_frame,
                             masked_prediction,
                             next_token,
                             siamese_naive,
                             simclr,
                             simsiam,
                             sparse_autoencoder,
                             supervised,
                             vae,
                             vicreg,
)

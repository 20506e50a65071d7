"""Projections (PCA, t-SNE, UMAP), their alignment across snapshots, nearest neighbours, caching and export."""

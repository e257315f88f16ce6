"""Datasets read from their original files: MNIST from the four IDX gzip files."""

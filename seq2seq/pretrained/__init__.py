"""Pretrained networks shipped in PyPI packages, read without torch and rebuilt in Keras."""

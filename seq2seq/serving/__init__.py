"""The HTTP service of `seq2seq serve` (`app.py`), its request batching and its limits."""

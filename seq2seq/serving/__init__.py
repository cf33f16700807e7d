"""The HTTP service of `seq2seq serve` (`app.py`): the routes tasks give (`routes.py`), request batching
(`batcher.py`) and the limits (`limits.py`)."""

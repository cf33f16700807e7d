"""Keras layers: attention, encoders, decoders (all registered for `.keras` saving)."""

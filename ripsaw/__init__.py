"""Ripsaw: measure coding models on speed and accuracy together."""

__version__ = "0.1.0"

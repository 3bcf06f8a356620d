"""Errors of the producer service, under one root class."""

from __future__ import annotations


class ProducerError(Exception):
    """Root of the producer service's errors."""

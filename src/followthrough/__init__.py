"""Followthrough: internal service with one owner, accepted handoffs and kept promises."""

__version__ = "0.1.0"

"""The immutable event history, and its import and export."""

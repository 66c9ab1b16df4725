"""Moved: the calibrated timescale's tables live in `followthrough.timescale.models`.

Kept as a re-export so code not yet updated keeps working; import from the timescale.
"""

from followthrough.timescale.models import EtaModelRow, EtaPrediction

__all__ = ["EtaModelRow", "EtaPrediction"]

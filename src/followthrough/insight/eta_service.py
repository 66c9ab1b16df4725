"""Moved: the calibrated timescale lives in `followthrough.timescale` (the model in
`calibration`, the database side in `calibrated`, the scheduled work the sweeper runs in
`scheduled`). Insight only reports on it: `insight.eta` evaluates it and `insight eta-eval`
prints that. This module is kept empty only while the import contract still names it.
"""

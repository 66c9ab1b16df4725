"""Insight: the scorecard, the ripple to customers, the silo map, relationship health, routing."""

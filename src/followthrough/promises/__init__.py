"""Promises made to requesters, kept or broken."""

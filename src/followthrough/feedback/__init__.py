"""Requester ratings on the four blocks, and praise or constructive feedback between colleagues."""

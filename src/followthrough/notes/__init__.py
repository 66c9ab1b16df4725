"""Internal notes: words about a request for the teams working it, never for the requester."""

"""Files attached to a request: kept outside the database through one storage interface."""

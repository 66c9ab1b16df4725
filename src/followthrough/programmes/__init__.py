"""People programmes that break silos, steered by the silo map: buddy pairing."""

"""Expected resolution times with an honest range from history."""

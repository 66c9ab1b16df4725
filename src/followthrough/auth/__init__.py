"""Sign-in, sessions, API tokens and who may see what."""

"""Practice: the business simulation engine (`sim`) and the facilitated team game (`game`)."""

"""The facilitated team game: sessions, per-round decisions, results and a leaderboard."""

"""Background work: escalations, reminders, broken promises and auto-closes, each fired once."""

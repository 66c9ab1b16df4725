"""Search: one box finding requests, cases and people; and saved views of the list pages."""

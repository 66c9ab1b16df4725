"""Chat: notifications posted to a team's or a person's Slack or Microsoft Teams channel."""

"""Organisation: departments, teams, people, working calendars and the service catalog."""

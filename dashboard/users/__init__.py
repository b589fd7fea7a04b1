"""Staff accounts and their administration."""

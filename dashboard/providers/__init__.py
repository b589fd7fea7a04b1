"""Provider clients: typed dataclasses in and out, never the database."""

"""The timeline and live-update feed: one ``Event`` row per change."""

"""Inside the encrypted payload: members, the index (manifest), compression, extraction."""

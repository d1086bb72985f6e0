"""api layer of Fairgate."""

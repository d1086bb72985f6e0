"""chain layer of Fairgate."""

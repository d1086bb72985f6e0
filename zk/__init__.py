"""zk layer of Fairgate."""

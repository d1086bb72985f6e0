"""Domain services: everything the routes and the worker do, below the HTTP layer."""

"""The ``fairgate`` command line: organizer, fan, gate and local development commands.

Data flows one way: this package imports ``chain``, ``zk``, ``metadata``, ``gate`` and the bridge's
HTTP API (through :mod:`cli.bridge_client`); nothing imports ``cli``.
"""

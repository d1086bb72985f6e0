"""``python -m chain.abi``: compile ``contracts/`` (cached) and write the package data."""

from chain.abi import main

raise SystemExit(main())

"""The ``fairgate`` command line: organizer, fan, gate and local development commands.

Quick start on a local stack::

    fairgate dev up                              # Ganache, platform, bridge + worker
    eval "$(fairgate dev env)"                   # FAIRGATE_RPC_URL, FAIRGATE_PUBLIC_URL, ...
    fairgate organizer create night.toml -w dev:1
    fairgate fan wallet create -w alice          # password asked twice, never echoed
    fairgate dev fund 0x<alice> --eth 5
    fairgate fan buy NIGHT1 0 -n 2 -w alice
    fairgate fan list NIGHT1:0 0.055 -w alice    # refused above the tier's resale cap
    fairgate fan buy-resale NIGHT1:0 -w bob
    fairgate organizer publish-root NIGHT1 -w dev:1
    fairgate gate challenge NIGHT1               # FGC1:... card shown at the door
    fairgate fan prove NIGHT1:0 --challenge FGC1:... -w bob --png ticket.png
    fairgate gate verify NIGHT1 ticket.png       # ADMITTED / REFUSED <reason>

Layout: :mod:`cli.main` (the app and its one error boundary), :mod:`cli.organizer`,
:mod:`cli.fan` (+ :mod:`cli.fan_card`, its card-order commands), :mod:`cli.gate`, :mod:`cli.dev`;
helpers :mod:`cli.output` (rich), :mod:`cli.wallets` (keystores, passwords),
:mod:`cli.ticket_keys` (wallet-derived ticket secrets), :mod:`cli.session` (chain connection,
event names), :mod:`cli.ledger` (history from chain events), :mod:`cli.event_file` (the TOML
event file), :mod:`cli.bridge_client` (the bridge's HTTP API), :mod:`cli.qr` (QR images).

Decisions:

* Events are named by contract address or symbol; tickets as ``EVENT:ID`` (``NIGHT1:7``).
  Tier numbers are the contract's (0, 1, ...).
* Wallets are scrypt keystores under ``FAIRGATE_HOME/wallets``; ``-w dev:N`` uses development
  account N of the local mnemonic (refused with ``FAIRGATE_ENV=prod``).
* Ticket secrets are derived from the wallet (``zk.identity``), so the per-event counters in
  ``FAIRGATE_HOME/tickets`` are the only local state and a new device can recover them.
* Buying and resale ask for confirmation unless ``--yes``; every error is one plain line on
  stderr with exit status 1 (usage errors 2), never a traceback or a secret.

Data flows one way: this package imports ``chain``, ``zk``, ``metadata``, ``gate`` and the bridge's
HTTP API (through :mod:`cli.bridge_client`); nothing imports ``cli``.
"""

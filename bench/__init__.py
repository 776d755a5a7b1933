"""druid-sim's benchmarks (``make bench``, never part of ``make test``).

Each ``bench/<name>.py`` with a ``main()`` is one benchmark; ``python -m bench`` runs them all in turn,
``python -m bench <name> ...`` only those. Shared machinery is in :mod:`bench.common`.
"""

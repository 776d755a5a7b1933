"""Durable state: what clients did, kept in SQLite or PostgreSQL, and the model rebuilt from it.

The model is a deterministic function of the scenario, the seed, the clock and what clients did, so
the store keeps only what clients did (`druid_sim.state.actions`), in order, beside the settings that
fix the rest. Every change goes through one write path, `druid_sim.actions.record`, and is durable before its answer is
sent; a server starting on a store replays the actions into a fresh model (`druid_sim.state.ledger`).
Reads never touch the store. See docs/state.md.
"""

from druid_sim.actions import EXTENSION, Action, StoreUnavailable, record
from druid_sim.state.ledger import Ledger, ledger_of
from druid_sim.state.store import Settings, Store, StoreError, open_store

__all__ = [
    "EXTENSION",
    "Action",
    "Ledger",
    "Settings",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "ledger_of",
    "open_store",
    "record",
]

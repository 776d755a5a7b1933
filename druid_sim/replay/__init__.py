"""Replay: serve a recorded cassette at the Druid endpoints, indistinguishable from the recorded cluster.

The pieces, one concern each:

* `options`: sequence policy, miss mode, latency, what matching ignores;
* `normalize`: the one normalisation of a request used at record and replay time;
* `matchers`: one function per part of a request, so a miss is explained part by part;
* `index`: sequences of recorded answers by normalised request;
* `cursors`: where each sequence is, behind a small interface that several processes can share;
* `answers`: recorded responses prepared for sending;
* `misses`: the nearest recorded requests and the 599 problem+json;
* `seed`: the Overlord model seeded with every task the cassette saw;
* `engine`: `Replay`, tying those together (``simulation.extensions["replay"]``);
* `app`: `ReplayApp`, the ASGI middleware.

* `wiring`: `replay_middlewares(simulation)`, what ``druid_sim/server/assembly.py`` adds innermost, and
  `install_replay`;
* `command`: the ``druid-sim serve`` options.

This file imports nothing, so ``druid-sim --help`` stays fast.
"""

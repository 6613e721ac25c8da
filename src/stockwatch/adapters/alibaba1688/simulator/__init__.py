"""A local 1688 gateway: same URLs, signatures, tokens, envelopes, throttling and pushes.

Start it with ``stockwatch simulate-gateway`` or, in tests and the demo, with
:func:`stockwatch.adapters.alibaba1688.simulator.server.running_simulator`.
It verifies signatures with its own code (never the client's), so a shared bug cannot hide.
"""

"""The 1688 Open Platform adapter: signing, OAuth, the async client, stock mapping, a simulator."""
